import type { RequestRecord, RequestStore } from './ports.js';
import type { UploadUnderWay } from './transfer-rules.js';

/** How many of the caller's newest unfinished uploads of an image are looked through, per status. */
const UPLOADS_LOOKED_AT = 20;

/**
 * The caller's upload of the image (of `imageVersion`, when given) that has
 * not finished: what turns a 404 for an image or version ViewPort does not
 * hold yet (or a transfer's 409) into "not yet, follow this request". The
 * gateway records one upload of a version at a time (VersionUploadUnderWay),
 * so for a version there is one to name. The oldest is taken only among
 * uploads accepted before that rule: the order their rows were written in is
 * not the order their commands reached the pipeline, which decides which one
 * is stored (found by a probe: the 409 named the one that failed ALREADY_STORED).
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
