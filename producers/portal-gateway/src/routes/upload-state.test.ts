import { describe, expect, it } from 'vitest';
import type { HeldRequest, PresignedWith } from '../ports.js';
import type { ClaimedBy } from './upload-route-types.js';
import { uploadStateOf } from './upload-state.js';

const ID = '00000000-0000-4000-8000-0000000000aa';
const HELD: HeldRequest = { requestId: '00000000-0000-4000-8000-0000000000bb', status: 'accepted', imageUID: 'U'.repeat(60) };

/** The two reads uploadStateOf makes: the presign record, and the completion claim (`settled`: once a claim being written is committed or undone). */
function reads(presigned: PresignedWith | undefined, claim: { now?: HeldRequest; settled?: HeldRequest }) {
  const asked: string[] = [];
  const uploads = { presignedWith: async () => presigned };
  const deps = { uploads, statusUrl: (id: string) => `/v1/requests/${id}`, completeUrl: (id: string) => `/v1/uploads/${id}/complete`, uploadUrl: (id: string) => `/v1/uploads/${id}` };
  const claiming = {
    completionOf: (key: string): ClaimedBy => ({ claims: { claim: async () => HELD, find: async () => undefined }, key, field: 'uploadId' }),
    earlierOf: async (_claimed: ClaimedBy | undefined, _owner: string, settled = false) => {
      asked.push(settled ? 'settled' : 'now');
      return settled ? claim.settled : claim.now;
    },
  };
  return { state: () => uploadStateOf(deps, claiming, 'dev1', ID), asked };
}

describe('uploadStateOf', () => {
  it('answers a give-up mark as given up only once no completion\'s claim is there after it settles: a DELETE takes its mark back on finding one', async () => {
    const at = new Date('2026-12-07T00:15:00.000Z');
    const racing = reads({ sizeBytes: 10, givenUp: { at } }, { settled: HELD });
    expect(await racing.state()).toEqual({ uploadId: ID, state: 'completed', sizeBytes: 10, requestId: HELD.requestId, statusUrl: `/v1/requests/${HELD.requestId}` });
    expect(racing.asked).toEqual(['now', 'settled']);
    const standing = reads({ sizeBytes: null, givenUp: { at } }, {});
    expect(await standing.state()).toEqual({ uploadId: ID, state: 'given-up', givenUpAt: '2026-12-07T00:15:00.000Z' });
    // A store that cannot say when leaves the time out rather than inventing one.
    expect(await reads({ sizeBytes: null, givenUp: { at: undefined } }, {}).state()).toEqual({ uploadId: ID, state: 'given-up' });
  });

  it('answers an open upload with when its URLs stop working, as its record keeps it, and leaves it out where the record has none (written before it was kept)', async () => {
    const expiresAt = new Date('2026-12-07T04:00:00.000Z');
    expect(await reads({ sizeBytes: 10, expiresAt }, {}).state()).toEqual({
      uploadId: ID, state: 'open', sizeBytes: 10, expiresAt: '2026-12-07T04:00:00.000Z', partsUrl: `/v1/uploads/${ID}/parts`, completeUrl: `/v1/uploads/${ID}/complete`,
    });
    expect(await reads({ sizeBytes: null }, {}).state()).toEqual({ uploadId: ID, state: 'open', completeUrl: `/v1/uploads/${ID}/complete` });
    // Completed or given up, its URLs are nothing to go on with: no expiry is answered.
    expect(await reads({ sizeBytes: null, expiresAt }, { now: HELD }).state()).not.toHaveProperty('expiresAt');
    expect(await reads({ sizeBytes: null, expiresAt, givenUp: { at: undefined } }, {}).state()).not.toHaveProperty('expiresAt');
  });

  it('answers a completion\'s claim after staging\'s expiry took the record, and nothing for an id with neither', async () => {
    expect(await reads(undefined, { now: HELD }).state()).toMatchObject({ state: 'completed', requestId: HELD.requestId });
    const none = reads(undefined, {});
    expect(await none.state()).toBeUndefined();
    // No settled read (it waits on a lock) where no give-up mark asks for it.
    expect(none.asked).toEqual(['now']);
  });
});
