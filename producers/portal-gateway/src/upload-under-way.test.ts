import { describe, expect, it } from 'vitest';
import type { RequestQuery, RequestRecord, RequestStatus } from './ports.js';
import { uploadUnderWay } from './upload-under-way.js';

function upload(requestId: string, imageVersion: string, status: RequestStatus, second: number): RequestRecord {
  return { requestId, kind: 'upload', imageUID: 'U', imageVersion, owner: 'dev1', status, error: null, createdAt: new Date(Date.UTC(2026, 11, 4, 12, 0, second)) };
}

/** The store's listing: the owner's requests matching the query, newest first, at most `limit`. */
function listing(records: readonly RequestRecord[]) {
  return {
    list: async (query: RequestQuery) => ({
      requests: records
        .filter((record) => record.owner === query.owner && (query.kind === undefined || record.kind === query.kind) && (query.status === undefined || record.status === query.status) && (query.imageUID === undefined || record.imageUID === query.imageUID))
        .sort((a, b) => b.createdAt!.getTime() - a.createdAt!.getTime())
        .slice(0, query.limit),
    }),
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
});
