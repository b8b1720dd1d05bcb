export { startService, stopService, stateOf, type ServiceState, type StartOutcome } from './lifecycle.js';
export { stackUp, stackDown, stackStatus, stackWipe, stackEnv, startPipeline, stopPipeline, type ServiceStatus, type StackLog, type StackUpOptions } from './stack.js';
export { provisionStack } from './provision.js';
export { localStackEnv, renderExports, shellQuote } from './endpoints.js';
export { StackError, StackErrors, type StackErrorCode } from './errors.js';
export { readPorts, type StackPorts } from './ports.js';
export { stackDir, cacheDir, logFile, pidFile, REPO_ROOT } from './paths.js';
export { formatStatus } from './status-table.js';
export { readTail, formatTail } from './log-tail.js';
