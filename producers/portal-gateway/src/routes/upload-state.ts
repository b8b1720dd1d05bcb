import type { UploadStore } from '../ports.js';
import type { UploadClaiming } from './upload-idempotency.js';
import type { UploadRouteDeps } from './upload-route-types.js';

/** A presigned upload as GET /v1/uploads/{id} answers it: what its presign record and its completion claim say. */
export type UploadState =
  | { readonly uploadId: string; readonly state: 'open'; readonly sizeBytes?: number; readonly expiresAt?: string; readonly partsUrl?: string; readonly completeUrl: string }
  | { readonly uploadId: string; readonly state: 'completed'; readonly sizeBytes?: number; readonly requestId: string; readonly statusUrl: string }
  | { readonly uploadId: string; readonly state: 'given-up'; readonly sizeBytes?: number; readonly givenUpAt?: string };

/** What the state is read from: the presign record alone of the store, and where the answer's links lead. */
type StateDeps = Pick<UploadRouteDeps, 'statusUrl' | 'completeUrl' | 'uploadUrl'> & { readonly uploads: Pick<UploadStore, 'presignedWith'> };

/**
 * The owner's presigned upload `uploadId`, or undefined when the owner has none under it (another user's id reads the
 * same: records and claims are kept per owner). Two reads, the presign record and the completion claim, side by side;
 * no listing of parts (GET …/parts does that, signing URLs).
 */
export async function uploadStateOf(deps: StateDeps, claiming: Pick<UploadClaiming, 'earlierOf' | 'completionOf'>, owner: string, uploadId: string): Promise<UploadState | undefined> {
  const completion = claiming.completionOf(uploadId);
  const [held, presigned] = await Promise.all([claiming.earlierOf(completion, owner), deps.uploads.presignedWith(owner, uploadId)]);
  // Its declared size (an upload in parts), while staging keeps its record: a day.
  const size = typeof presigned?.sizeBytes === 'number' ? { sizeBytes: presigned.sizeBytes } : {};
  const completed = (requestId: string): UploadState => ({ uploadId, state: 'completed', ...size, requestId, statusUrl: deps.statusUrl(requestId) });
  // A failed request gives the upload back (it can be completed again), as completion and DELETE take it; the claim
  // outlives the record, so a completed upload is answered after staging's expiry took the record.
  if (held) return completed(held.requestId);
  if (presigned === undefined) return undefined;
  if (presigned.givenUp) {
    // A DELETE marks the upload first and takes the mark back when it then finds a completion's claim: the mark stands
    // only if no claim is there once one being written now is committed or undone.
    const claimedMeanwhile = await claiming.earlierOf(completion, owner, true);
    if (claimedMeanwhile) return completed(claimedMeanwhile.requestId);
    return { uploadId, state: 'given-up', ...size, ...(presigned.givenUp.at ? { givenUpAt: presigned.givenUp.at.toISOString() } : {}) };
  }
  // Until when its URLs take a PUT, as the store noted it at each signing; left out where it noted none (an older record).
  const expiry = presigned.expiresAt ? { expiresAt: presigned.expiresAt.toISOString() } : {};
  return { uploadId, state: 'open', ...size, ...expiry, ...('sizeBytes' in size ? { partsUrl: `${deps.uploadUrl(uploadId)}/parts` } : {}), completeUrl: deps.completeUrl(uploadId) };
}
