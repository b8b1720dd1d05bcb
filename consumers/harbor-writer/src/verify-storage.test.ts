import { describe, expect, it } from 'vitest';
import type { StoredObject } from './copy.js';
import { classifyArchive, daysUntilExpiry, describeProblem, noncurrentDaysOf, recordedArchivesOf, verdictJson, VerifyTally, type RecordedArchive } from './verify-storage.js';

const sha = 'a'.repeat(64);
const archive: RecordedArchive = {
  kind: 'image', imageUID: 'U', imageVersion: 'v1-0-00', environment: 'Development', location: { bucket: 'dev', key: 'U-v1-0-00.tar', versionId: 'v1' }, sha256: sha, sizeBytes: 10,
};
const object = (fields: Partial<StoredObject> = {}): StoredObject => ({ sha256: sha, size: 10, versionId: 'v1', etag: '"e"', metadata: {}, ...fields });
const now = new Date('2026-12-07T12:00:00Z');

describe('recordedArchivesOf', () => {
  it('gives the Development archive and every copy a transfer recorded, with the validated checksum and size', () => {
    const row = {
      imageUID: 'U', imageVersion: 'v1-0-00', bucket: 'dev', key: 'U-v1-0-00.tar', versionId: 'v1', sha256: sha, sizeBytes: 10,
      locationTesting: { bucket: 'tst', key: 'U-v1-0-00.tar', versionId: 't1' }, locationProduction: { bucket: 'prd', key: 'U-v1-0-00.tar', versionId: '' },
    };
    expect(recordedArchivesOf(row)).toEqual([
      archive,
      { ...archive, environment: 'Testing', location: { bucket: 'tst', key: 'U-v1-0-00.tar', versionId: 't1' } },
      { ...archive, environment: 'Production', location: { bucket: 'prd', key: 'U-v1-0-00.tar', versionId: null } },
    ]);
  });

  it('gives nothing for a row that records no stored version, and null for what it does not record', () => {
    expect(recordedArchivesOf({ imageUID: 'U', imageVersion: 'v1-0-00', sha256: sha })).toEqual([]);
    expect(recordedArchivesOf({ imageUID: 'U', imageVersion: 'v1-0-00', bucket: 'dev', key: 'k' })).toEqual([
      { kind: 'image', imageUID: 'U', imageVersion: 'v1-0-00', environment: 'Development', location: { bucket: 'dev', key: 'k', versionId: null }, sha256: null, sizeBytes: null },
    ]);
  });
});

describe('classifyArchive', () => {
  it('finds a recorded version that is current, with its size and checksum, ok', () => {
    expect(classifyArchive(archive, { object: object(), current: { kind: 'recorded' } }, now)).toEqual({ archive, problems: [], checkedBy: 'sha256' });
  });

  it('reports a recorded version that is gone as lost', () => {
    expect(classifyArchive(archive, { object: undefined, current: { kind: 'recorded' } }, now).problems).toEqual([{ kind: 'lost' }]);
    const refused = classifyArchive(archive, { object: undefined, versionRefused: true, current: { kind: 'recorded' } }, now).problems;
    expect(refused).toEqual([{ kind: 'lost', versionRefused: true }]);
    expect(describeProblem(refused[0]!)).toBe('lost: the recorded object is gone (S3 refuses its version id as none it issues) (its download fails, though the version still shows ready)');
  });

  it('reports a recorded version another one replaced as noncurrent, with the days the rule leaves it', () => {
    const verdict = classifyArchive(archive, { object: object(), current: { kind: 'other', versionId: 'v2' }, clock: { since: new Date('2026-12-01T08:00:00Z'), keptDays: 30 } }, now);
    expect(verdict.problems).toEqual([{ kind: 'noncurrent', current: { kind: 'other', versionId: 'v2' }, expiresInDays: 25, keptForever: false }]);
    expect(describeProblem(verdict.problems[0]!)).toBe("noncurrent: another version (v2) is current at the key; the bucket's noncurrent-version rule deletes it in about 25 day(s)");
  });

  it('says a noncurrent version of a deleted key, or one whose rule is unknown or absent, as well as it can', () => {
    const deleted = classifyArchive(archive, { object: object(), current: { kind: 'deleted' }, clock: { since: null, keptDays: null } }, now).problems[0]!;
    expect(describeProblem(deleted)).toBe("noncurrent: the key was deleted (a delete marker is current); it will be deleted under the bucket's noncurrent-version rule");
    const kept = classifyArchive(archive, { object: object(), current: { kind: 'other', versionId: 'v2' }, clock: { since: now, keptDays: 'forever' } }, now).problems[0]!;
    expect(describeProblem(kept)).toContain('no noncurrent-version rule');
  });

  it('never calls an archive recorded without a version noncurrent: there is no version to lose', () => {
    const unversioned = { ...archive, location: { ...archive.location, versionId: null } };
    expect(classifyArchive(unversioned, { object: object({ versionId: 'v9' }), current: { kind: 'recorded' } }, now).problems).toEqual([]);
  });

  it('compares the size and the checksum S3 gives (or the one written with the object) with those recorded', () => {
    const verdict = classifyArchive(archive, { object: object({ size: 11, sha256: 'b'.repeat(64) }), current: { kind: 'recorded' } }, now);
    expect(verdict.problems).toEqual([
      { kind: 'size differs', sizeBytes: 11, expected: 10, by: 'head' },
      { kind: 'checksum differs', sha256: 'b'.repeat(64), expected: sha, by: 'head' },
    ]);
    const byMetadata = classifyArchive(archive, { object: object({ sha256: null, metadata: { 'orbit-sha256': 'c'.repeat(64) } }), current: { kind: 'recorded' } }, now);
    expect(byMetadata.problems).toEqual([{ kind: 'checksum differs', sha256: 'c'.repeat(64), expected: sha, by: 'head' }]);
    // A claim that agrees proves nothing (anyone who may write the bucket can set it): checked by size, not SHA-256.
    const claimed = classifyArchive(archive, { object: object({ sha256: null, metadata: { 'orbit-sha256': sha } }), current: { kind: 'recorded' } }, now);
    expect(claimed).toEqual({ archive, problems: [], checkedBy: 'size' });
  });

  it('checks by size alone where S3 gives no checksum (a multipart copy), and says so', () => {
    expect(classifyArchive(archive, { object: object({ sha256: null }), current: { kind: 'recorded' } }, now)).toEqual({ archive, problems: [], checkedBy: 'size' });
  });

  it('holds the bytes a deep read hashed over what the HEAD says', () => {
    const verdict = classifyArchive(archive, { object: object(), current: { kind: 'recorded' }, read: { sha256: 'd'.repeat(64), sizeBytes: 9 } }, now);
    expect(verdict.problems.map(describeProblem)).toEqual([`size differs: 9 bytes read, 10 recorded`, `checksum differs: sha256 ${'d'.repeat(64)} of the bytes read, ${sha} recorded`]);
  });
});

describe('daysUntilExpiry', () => {
  it('counts to the midnight UTC after the kept days, never below 0', () => {
    expect(daysUntilExpiry(new Date('2026-12-07T11:00:00Z'), 30, now)).toBe(31);
    expect(daysUntilExpiry(new Date('2026-11-07T11:00:00Z'), 30, now)).toBe(1);
    expect(daysUntilExpiry(new Date('2026-10-01T00:00:00Z'), 30, now)).toBe(0);
  });
});

describe('noncurrentDaysOf', () => {
  it('takes the shortest enabled rule whose prefix holds the key', () => {
    expect(noncurrentDaysOf([
      { ID: 'a', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 30 } },
      { ID: 'b', Status: 'Enabled', Filter: { Prefix: 'other/' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
      { ID: 'c', Status: 'Disabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 2 } },
      { ID: 'd', Status: 'Enabled', Filter: { Prefix: 'U-' }, NoncurrentVersionExpiration: { NoncurrentDays: 14 } },
      { ID: 'e', Status: 'Enabled', Filter: { Prefix: '' }, ExpiredObjectDeleteMarker: true } as never,
    ], 'U-v1-0-00.tar')).toBe(14);
  });

  it("is 'forever' without a rule, and unknown (null) where only a tag-narrowed rule might apply", () => {
    expect(noncurrentDaysOf([], 'k')).toBe('forever');
    expect(noncurrentDaysOf([{ ID: 't', Status: 'Enabled', Filter: { Tag: { Key: 'x', Value: 'y' } }, NoncurrentVersionExpiration: { NoncurrentDays: 3 } }], 'k')).toBeNull();
  });
});

describe('VerifyTally and verdictJson', () => {
  it('counts ok archives and each kind of problem, and says those checked by size alone', () => {
    const tally = new VerifyTally();
    tally.count(classifyArchive(archive, { object: object(), current: { kind: 'recorded' } }, now));
    tally.count(classifyArchive(archive, { object: object({ sha256: null }), current: { kind: 'recorded' } }, now));
    tally.count(classifyArchive(archive, { object: undefined, current: { kind: 'recorded' } }, now));
    expect(tally.wrong).toBe(1);
    expect(tally.summary()).toBe('checked 3 recorded image archives and 0 charts; 2 ok (1 by size or presence only: no SHA-256 recorded or given by S3), 1 lost, 0 noncurrent, 0 size differs, 0 checksum differs\n');
  });

  it('gives one JSON object per verdict with its state and described problems', () => {
    const line = JSON.parse(verdictJson(classifyArchive(archive, { object: undefined, current: { kind: 'recorded' } }, now))) as Record<string, unknown>;
    expect(line).toMatchObject({ imageUID: 'U', environment: 'Development', bucket: 'dev', key: 'U-v1-0-00.tar', versionId: 'v1', state: 'lost', problems: [{ kind: 'lost' }] });
  });
});
