import type { RequestRecord, RequestStore } from './ports.js';
import type { UploadUnderWay } from './transfer-rules.js';

/** How many of the caller's newest unfinished uploads of an image are looked through, per status. */
const UPLOADS_LOOKED_AT = 20;

/**
 * The caller's upload of the image (of `imageVersion`, when given) that has
 * not finished and will finish first: what turns a 404 for an image or
 * version ViewPort does not hold yet (or a transfer's 409) into "not yet,
 * follow this request". An image's uploads are handled in the order they
 * were accepted (one partition per image), so of two racing uploads of one
 * version the older is stored and the newer fails ALREADY_STORED: the older
 * is the one to follow.
 */
export async function uploadUnderWay(requests: Pick<RequestStore, 'list'>, owner: string, imageUID: string, imageVersion?: string): Promise<UploadUnderWay | undefined> {
  // Asked by status, so the newer uploads that finished do not hide one still under way behind them.
  const pages = await Promise.all((['accepted', 'running'] as const).map((status) => requests.list({ owner, kind: 'upload', imageUID, status, limit: UPLOADS_LOOKED_AT })));
  const unfinished = pages.flatMap((page) => page.requests).filter((upload) => imageVersion === undefined || upload.imageVersion === imageVersion);
  const first = unfinished.reduce<RequestRecord | undefined>((oldest, upload) => (oldest === undefined || acceptedBefore(upload, oldest) ? upload : oldest), undefined);
  return first && { requestId: first.requestId, imageVersion: first.imageVersion };
}

function acceptedBefore(a: RequestRecord, b: RequestRecord): boolean {
  const at = (record: RequestRecord): number => record.createdAt?.getTime() ?? Number.POSITIVE_INFINITY;
  return at(a) < at(b) || (at(a) === at(b) && a.requestId < b.requestId);
}
