import { OrbitError } from '@orbit/lib';
import { RequestRefusedError } from '../errors.js';

/** The refusal a call throws; anything else it throws is thrown on, and a call that throws nothing fails the test. */
function refusalThrownBy(call: () => unknown): RequestRefusedError {
  try {
    call();
  } catch (error) {
    if (error instanceof RequestRefusedError) return error;
    throw error;
  }
  throw new OrbitError('ORBIT_ERR_NOT_REFUSED', 'the call was not refused');
}

/** The refusal a call throws: its status, code and the field it names. */
export function refusalOf(call: () => unknown): [number, string, string | undefined] {
  const refusal = refusalThrownBy(call);
  return [refusal.statusCode, refusal.code, refusal.problems[0]?.field];
}

/** The message of the refusal a call throws. */
export const messageOf = (call: () => unknown): string => refusalThrownBy(call).message;
