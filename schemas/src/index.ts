export * from './events.js';
export * from './label-budget.js';
export * from './catalogue.js';
export * from './compatibility.js';
export * from './registry-admin.js';
export * from './sync.js';
export * from './samples.js';
export * from './dead-letter-failure.js';
