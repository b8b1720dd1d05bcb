import type { RequestStore } from './ports.js';
import type { UploadUnderWay } from './transfer-rules.js';

/** How many of the caller's newest uploads of an image are looked through for one still under way. */
const UPLOADS_LOOKED_AT = 20;

/**
 * The caller's newest upload of the image (of `imageVersion`, when given)
 * when it has not finished yet: what turns a 404 for an image or version
 * ViewPort does not hold yet into "not yet, follow this request".
 */
export async function uploadUnderWay(requests: Pick<RequestStore, 'list'>, owner: string, imageUID: string, imageVersion?: string): Promise<UploadUnderWay | undefined> {
  const { requests: uploads } = await requests.list({ owner, kind: 'upload', imageUID, limit: UPLOADS_LOOKED_AT });
  const newest = imageVersion === undefined ? uploads[0] : uploads.find((upload) => upload.imageVersion === imageVersion);
  return newest && (newest.status === 'accepted' || newest.status === 'running') ? { requestId: newest.requestId, imageVersion: newest.imageVersion } : undefined;
}
