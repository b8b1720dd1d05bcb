import { OrbitError } from '@orbit/lib';

/** Stable codes of everything the local stack reports; scripts and tests match on these. */
export type StackErrorCode =
  | 'ORBIT_ERR_STACK_CONFIG'
  | 'ORBIT_ERR_STACK_INSTALL'
  | 'ORBIT_ERR_STACK_START'
  | 'ORBIT_ERR_STACK_PORT_IN_USE'
  | 'ORBIT_ERR_STACK_NO_JDK'
  | 'ORBIT_ERR_STACK_UNKNOWN_SERVICE'
  | 'ORBIT_ERR_STACK_NOT_BUILT'
  | 'ORBIT_ERR_STACK_PROVISION'
  | 'ORBIT_ERR_STACK_WIPE'
  | 'ORBIT_ERR_STACK_IN_USE';

/**
 * A service could not be installed, started or reached. Carries the log file
 * and its last lines because the first thing anyone does next is read them.
 */
export class StackError extends OrbitError {
  readonly service: string;
  readonly log: string | undefined;
  readonly tail: string | undefined;

  constructor(code: StackErrorCode, service: string, reason: string, details: { log?: string; tail?: string; cause?: unknown } = {}) {
    super(code, `${service}: ${reason}`, { cause: details.cause });
    this.service = service;
    this.log = details.log;
    this.tail = details.tail;
  }
}

/** Several services failed in one `up`; each keeps its own log and tail. */
export class StackErrors extends OrbitError {
  readonly errors: readonly StackError[];

  constructor(errors: readonly StackError[]) {
    super('ORBIT_ERR_STACK_START', `${errors.length} service(s) failed: ${errors.map((error) => error.service).join(', ')}`);
    this.errors = errors;
  }
}
