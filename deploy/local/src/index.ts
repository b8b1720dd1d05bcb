export * from './stack/index.js';
export * from './provision/index.js';
