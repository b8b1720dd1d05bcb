import { newImageUID, TOPICS } from '@orbit/lib';
import { sampleEvents, type ImageStored } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { imageTextAfter, imageTextOfRow, marksOfVersions, textGivenBy, type StoredVersion } from './image-text.js';

const uid = newImageUID();

/** An upload as its ImageStored carries it: stored at `storedAt`, written before requestedAt unless given one. */
function upload(imageVersion: string, storedAt: string, given: { description?: string | null; imageCategory?: string | null }, requestedAt: number | null = null): ImageStored {
  const event = sampleEvents(uid, `req-${imageVersion}`)[TOPICS.imageStored];
  return { ...event, occurredAt: Date.parse(storedAt), requestedAt, metadata: { ...event.metadata, imageVersion, description: null, imageCategory: null, ...given } };
}

/** That upload's version as ViewPort holds it (post_date_gmt, requestedAt and requestId meta, post_name, metadata meta). */
function versionOf(event: ImageStored): StoredVersion {
  return {
    storedAt: new Date(event.occurredAt), requestedAt: typeof event.requestedAt === 'number' ? new Date(event.requestedAt).toISOString() : null,
    requestId: event.requestId, imageVersion: event.metadata.imageVersion, metadata: JSON.stringify(event.metadata),
  };
}

describe('the text of an image projected before its marks (found by an upgrade review: a late older ImageStored overwrote it)', () => {
  const v1 = upload('v1-0-00', '2026-11-24T10:00:00Z', { description: 'first', imageCategory: 'cat-a' });
  const v2 = upload('v1-0-01', '2026-11-25T10:00:00Z', { description: 'newer text', imageCategory: 'cat-b' });
  const v3 = upload('v1-0-02', '2026-11-25T11:00:00Z', {});
  // What an older release left: the text, no marks.
  const row = { content: 'newer text', category: 'cat-b', descriptionFrom: null, categoryFrom: null };
  const late = upload('v0-9-00', '2026-11-20T09:00:00Z', { description: 'OLDER TEXT from 2026-11-20', imageCategory: 'old-cat' });

  it('is marked by the newest of its versions that gave it, as a projection with marks would have marked it', () => {
    const text = imageTextOfRow(row, [v1, v2, v3].map(versionOf));
    // The same marks a projection of the three uploads writes (what a rebuild leaves in the meta).
    const folded = [v1, v2, v3].reduce(imageTextAfter, { description: '', category: '', descriptionFrom: null, categoryFrom: null });
    expect(text).toEqual({ ...folded, description: 'newer text', category: 'cat-b' });
    expect(text.descriptionFrom).toEqual({ storedAt: '2026-11-25T10:00:00.000Z', requestId: v2.requestId, imageVersion: 'v1-0-01' });
  });

  it('is not overwritten by an older upload that arrives late; a newer one still replaces it', () => {
    const text = imageTextOfRow(row, [v1, v2, v3].map(versionOf));
    expect(imageTextAfter(text, late)).toMatchObject({ description: 'newer text', category: 'cat-b' });
    const newer = upload('v1-0-03', '2026-11-26T10:00:00Z', { description: 'newest', imageCategory: 'cat-c' });
    expect(imageTextAfter(text, newer)).toMatchObject({ description: 'newest', category: 'cat-c' });
  });

  it('places a version by its requestedAt where it kept one, and by a greater request id on a tie, as uploads are compared', () => {
    const accepted = Date.parse('2026-11-25T09:00:00Z');
    const a = upload('v2-0-00', '2026-11-25T12:00:00Z', { description: 'a' }, accepted);
    const b = { ...upload('v2-0-01', '2026-11-25T09:30:00Z', { description: 'b' }, accepted), requestId: 'req-zzz' };
    expect(marksOfVersions([b, a].map(versionOf)).descriptionFrom).toEqual({ requestedAt: '2026-11-25T09:00:00.000Z', requestId: b.requestId, imageVersion: 'v2-0-01' });
  });

  it('changes nothing where its versions gave no text: the next upload that gives some is taken, as before', () => {
    const bare = imageTextOfRow({ content: '', category: '', descriptionFrom: null, categoryFrom: null }, [versionOf(v3)]);
    expect(bare).toEqual({ description: '', category: '', descriptionFrom: null, categoryFrom: null });
    expect(imageTextAfter(bare, late)).toMatchObject({ description: 'OLDER TEXT from 2026-11-20', category: 'old-cat' });
  });

  it('keeps a mark the meta holds, and takes only the missing one from the versions', () => {
    const kept = { storedAt: '2026-11-24T10:00:00.000Z', requestId: v1.requestId, imageVersion: 'v1-0-00' };
    const text = imageTextOfRow({ ...row, descriptionFrom: JSON.stringify(kept) }, [v1, v2, v3].map(versionOf));
    expect(text.descriptionFrom).toEqual(kept);
    expect(text.categoryFrom).toEqual({ storedAt: '2026-11-25T10:00:00.000Z', requestId: v2.requestId, imageVersion: 'v1-0-01' });
  });
});

describe('a missing mark read only for the text an upload gives (found by a reread: every version read on every batch)', () => {
  it('says what an upload gives as imageTextAfter reads it: an empty category is none, an empty description is one', () => {
    expect(textGivenBy({ metadata: { ...sampleEvents()['orbit.image.stored'].metadata, description: '', imageCategory: '' } })).toEqual({ description: true, category: false });
    expect(textGivenBy({ metadata: { ...sampleEvents()['orbit.image.stored'].metadata, description: null, imageCategory: 'tools' } })).toEqual({ description: false, category: true });
  });

  it('derives only the marks of the text given, leaving the other missing', () => {
    const versions = [upload('v1-0-00', '2026-11-24T10:00:00Z', { description: 'a', imageCategory: 'c' }), upload('v1-0-01', '2026-11-25T10:00:00Z', { description: 'b' })].map(versionOf);
    const row = { content: 'x', category: 'c', descriptionFrom: null, categoryFrom: null };
    const all = imageTextOfRow(row, versions);
    expect(imageTextOfRow(row, versions, { description: true, category: false })).toEqual({ ...all, categoryFrom: null });
    expect(imageTextOfRow(row, versions, { description: false, category: true })).toEqual({ ...all, descriptionFrom: null });
  });
});
