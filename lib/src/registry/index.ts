export * from './access.js';
export * from './auth.js';
export * from './auth-file.js';
export * from './client.js';
export * from './docker-hub.js';
export * from './image-manifest.js';
export * from './push.js';
export * from './referrers.js';
