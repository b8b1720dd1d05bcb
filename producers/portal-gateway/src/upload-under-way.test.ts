import { describe, expect, it } from 'vitest';
import type { RequestQuery, RequestRecord, RequestStatus } from './ports.js';
import { uploadUnderWay } from './upload-under-way.js';

function upload(requestId: string, imageVersion: string, status: RequestStatus, second: number): RequestRecord {
  return { requestId, kind: 'upload', imageUID: 'U', imageVersion, owner: 'dev1', status, error: null, createdAt: new Date(Date.UTC(2026, 11, 4, 12, 0, second)) };
}

/** The store's listing: the owner's requests matching the query, newest first, `limit` at a time after `after`. */
function listing(records: readonly RequestRecord[]) {
  const at = (record: RequestRecord): number => record.createdAt!.getTime();
  return {
    list: async (query: RequestQuery) => {
      const matching = records
        .filter((record) => record.owner === query.owner && (query.kind === undefined || record.kind === query.kind) && (query.status === undefined || record.status === query.status)
          && (query.imageUID === undefined || record.imageUID === query.imageUID) && (query.imageVersion === undefined || record.imageVersion === query.imageVersion))
        .toSorted((a, b) => at(b) - at(a))
        .filter((record) => query.after === undefined || at(record) < query.after.createdAt.getTime());
      const requests = matching.slice(0, query.limit);
      const last = requests.at(-1);
      return matching.length > query.limit && last ? { requests, next: { createdAt: last.createdAt!, requestId: last.requestId } } : { requests };
    },
  };
}

describe('uploadUnderWay', () => {
  it('names the older of two uploads of one version racing each other, the one that will be stored (found by a probe: it named the newer, which failed ALREADY_STORED)', async () => {
    const requests = listing([upload('older', 'v1-0-02', 'running', 1), upload('newer', 'v1-0-02', 'accepted', 2)]);
    expect(await uploadUnderWay(requests, 'dev1', 'U', 'v1-0-02')).toEqual({ requestId: 'older', imageVersion: 'v1-0-02' });
    expect(await uploadUnderWay(requests, 'dev1', 'U')).toEqual({ requestId: 'older', imageVersion: 'v1-0-02' });
  });

  it('finds an upload still under way behind many newer ones that finished, and none when all finished', async () => {
    const finished = Array.from({ length: 30 }, (_, index) => upload(`done-${index}`, `v1-0-${String(10 + index)}`, index % 2 === 0 ? 'succeeded' : 'failed', 10 + index));
    expect(await uploadUnderWay(listing([upload('slow', 'v1-0-02', 'running', 1), ...finished]), 'dev1', 'U', 'v1-0-02')).toEqual({ requestId: 'slow', imageVersion: 'v1-0-02' });
    // The newest upload of the version failed while an older one still runs: the older is followed.
    expect(await uploadUnderWay(listing([upload('slow', 'v1-0-02', 'running', 1), upload('lost', 'v1-0-02', 'failed', 2)]), 'dev1', 'U', 'v1-0-02')).toEqual({ requestId: 'slow', imageVersion: 'v1-0-02' });
    expect(await uploadUnderWay(listing(finished), 'dev1', 'U', 'v1-0-12')).toBeUndefined();
    expect(await uploadUnderWay(listing([upload('other', 'v1-0-03', 'running', 1)]), 'dev1', 'U', 'v1-0-02')).toBeUndefined();
  });

  it('finds a version\'s upload under way behind more than 20 newer ones of other versions still under way (found by a quality reread: only the newest 20 were looked through)', async () => {
    const others = Array.from({ length: 130 }, (_, index) => upload(`other-${String(index)}`, `v2-0-${String(index)}`, index % 2 === 0 ? 'running' : 'accepted', 10 + index));
    expect(await uploadUnderWay(listing([upload('slow', 'v1-0-02', 'running', 1), ...others]), 'dev1', 'U', 'v1-0-02')).toEqual({ requestId: 'slow', imageVersion: 'v1-0-02' });
    // More of one version than a page holds (uploads accepted before the one-at-a-time rule): the oldest is still found.
    const racing = Array.from({ length: 60 }, (_, index) => upload(`race-${String(index)}`, 'v1-0-02', 'accepted', 200 + index));
    expect(await uploadUnderWay(listing([...racing, upload('first', 'v1-0-02', 'accepted', 2)]), 'dev1', 'U', 'v1-0-02')).toEqual({ requestId: 'first', imageVersion: 'v1-0-02' });
  });

  it('without a version, names the oldest upload of the version the newest one under way is of', async () => {
    const requests = listing([upload('old-v1', 'v1-0-01', 'running', 1), upload('first-v2', 'v1-0-02', 'running', 2), upload('again-v2', 'v1-0-02', 'accepted', 3)]);
    expect(await uploadUnderWay(requests, 'dev1', 'U')).toEqual({ requestId: 'first-v2', imageVersion: 'v1-0-02' });
    expect(await uploadUnderWay(listing([]), 'dev1', 'U')).toBeUndefined();
  });
});
