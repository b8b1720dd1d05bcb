import { OrbitError } from '@orbit/lib';

/** A local service did not install or start; names it, its log and the log's last lines. */
export class StackStartError extends OrbitError {
  constructor(readonly service: string, reason: string, readonly log: string, readonly tail: string) {
    super('ORBIT_ERR_STACK_START', `${service}: ${reason}\n  log: ${log}\n  last lines:\n${tail.split('\n').map((line) => `    ${line}`).join('\n')}`);
  }
}
