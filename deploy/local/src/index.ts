export { startService, stopService, stackUp, stackDown, stackStatus, stackWipe, stackEnv, startPipeline, stopPipeline, provisionStack, type ServiceStatus } from './services/stack.js';
export { localStackEnv, renderExports } from './services/endpoints.js';
export { StackStartError } from './services/errors.js';
export * from './provision/index.js';
