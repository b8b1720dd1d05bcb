import type { RequestRecord, RequestStore } from './ports.js';
import type { UploadUnderWay } from './transfer-rules.js';

type UploadLister = Pick<RequestStore, 'list'>;

/** Asked by status, so the newer uploads that finished do not hide one still under way behind them. */
const UNFINISHED = ['accepted', 'running'] as const;

/** Rows a page of one version's unfinished uploads holds: one page in practice, as the gateway records one at a time. */
const VERSION_PAGE = 50;

/**
 * The caller's upload of the image (of `imageVersion`, when given) that has
 * not finished: what turns a 404 for an image or version ViewPort does not
 * hold yet (or a transfer's 409) into "not yet, follow this request". The
 * gateway records one upload of a version at a time (VersionUploadUnderWay),
 * so for a version there is one to name. The oldest is taken only among
 * uploads accepted before that rule: the order their rows were written in is
 * not the order their commands reached the pipeline, which decides which one
 * is stored (found by a probe: the 409 named the one that failed ALREADY_STORED).
 * Without a version, the version of the newest upload under way is the one named.
 */
export async function uploadUnderWay(requests: UploadLister, owner: string, imageUID: string, imageVersion?: string): Promise<UploadUnderWay | undefined> {
  if (imageVersion !== undefined) return oldestOfVersion(requests, owner, imageUID, imageVersion);
  const newest = await newestUnfinished(requests, owner, imageUID);
  if (newest === undefined) return undefined;
  const named = { requestId: newest.requestId, imageVersion: newest.imageVersion };
  // An upload recorded without a version (none is, today) is named as it is: there is no race of a version to settle.
  // One that finished between the two reads leaves the newest named: it was under way when asked.
  return newest.imageVersion === null ? named : (await oldestOfVersion(requests, owner, imageUID, newest.imageVersion)) ?? named;
}

/** The oldest unfinished upload of one version: the one the pipeline stores when two race (see above). */
async function oldestOfVersion(requests: UploadLister, owner: string, imageUID: string, imageVersion: string): Promise<UploadUnderWay | undefined> {
  const first = (await unfinishedOfVersion(requests, owner, imageUID, imageVersion)).reduce<RequestRecord | undefined>(
    (oldest, upload) => (oldest === undefined || acceptedBefore(upload, oldest) ? upload : oldest), undefined);
  return first && { requestId: first.requestId, imageVersion: first.imageVersion };
}

/** The newest of the caller's unfinished uploads of the image, of any version. */
async function newestUnfinished(requests: UploadLister, owner: string, imageUID: string): Promise<RequestRecord | undefined> {
  const pages = await Promise.all(UNFINISHED.map((status) => requests.list({ owner, kind: 'upload', imageUID, status, limit: 1 })));
  return pages.flatMap((page) => page.requests).reduce<RequestRecord | undefined>((newest, upload) => (newest === undefined || acceptedBefore(newest, upload) ? upload : newest), undefined);
}

/** Every unfinished upload of one version, filtered by the store: however many newer uploads of other versions there are. */
async function unfinishedOfVersion(requests: UploadLister, owner: string, imageUID: string, imageVersion: string): Promise<RequestRecord[]> {
  const found: RequestRecord[] = [];
  for (const status of UNFINISHED) {
    let after: { readonly createdAt: Date; readonly requestId: string } | undefined;
    do {
      const page = await requests.list({ owner, kind: 'upload', imageUID, imageVersion, status, limit: VERSION_PAGE, after });
      found.push(...page.requests);
      after = page.next;
    } while (after !== undefined);
  }
  return found;
}

function acceptedBefore(a: RequestRecord, b: RequestRecord): boolean {
  const at = (record: RequestRecord): number => record.createdAt?.getTime() ?? Number.POSITIVE_INFINITY;
  return at(a) < at(b) || (at(a) === at(b) && a.requestId < b.requestId);
}
