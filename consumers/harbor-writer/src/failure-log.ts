import type { Logger } from '@orbit/lib';
import type { PipelineFailed } from '@orbit/schemas';

/**
 * Reason codes of a step failing on what the operator set up, not on the request: a registry refusing Orbit's own
 * push (credentials, a repository that must exist, a registry path naming none) and S3 refusing its role or lacking
 * the bucket. An upload's store step and a transfer's copy and push fail with them alike. Error, not warn: no user
 * can mend them.
 */
export const OPERATOR_FAULTS: ReadonlySet<string> = new Set(['REGISTRY_PUSH_REFUSED', 'STORE_ACCESS_DENIED', 'BUCKET_MISSING']);

/**
 * The line a failed step leaves before its PipelineFailed goes out: its reason code and reason, at error for an
 * operator's fault (OPERATOR_FAULTS), at warn for the user's or the data's. The request's ids are the logger's: the
 * consume loop's message logger carries them (messageLogger), so the line names each once.
 */
export function logFailure(log: Logger, failure: Pick<PipelineFailed, 'reasonCode' | 'message'>, message: string): void {
  const line = { reasonCode: failure.reasonCode, reason: failure.message };
  if (OPERATOR_FAULTS.has(failure.reasonCode)) log.error(line, message);
  else log.warn(line, message);
}
