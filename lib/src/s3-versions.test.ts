import { DeleteObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { deleteEveryVersion, deleteVersionAndOlder } from './s3-versions.js';

/** S3 answering ListObjectVersions with `pages` (or refusing it), and recording each DeleteObject. */
function versionedS3(pages: readonly { versions: string[]; markers?: string[]; longer?: string[] }[] | 'AccessDenied' | 'NotImplemented') {
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const deleted: (string | undefined)[] = [];
  const listedFrom: (string | undefined)[] = [];
  s3.send = (async (command: unknown) => {
    if (command instanceof ListObjectVersionsCommand) {
      if (typeof pages === 'string') throw Object.assign(new Error(pages), { name: pages });
      listedFrom.push(command.input.VersionIdMarker);
      const index = command.input.VersionIdMarker === undefined ? 0 : Number(command.input.VersionIdMarker);
      const page = pages[index]!;
      const truncated = index + 1 < pages.length;
      return {
        Versions: [...page.versions.map((id) => ({ Key: 'k.tar', VersionId: id })), ...(page.longer ?? []).map((id) => ({ Key: 'k.tar.json', VersionId: id }))],
        DeleteMarkers: (page.markers ?? []).map((id) => ({ Key: 'k.tar', VersionId: id })),
        IsTruncated: truncated, ...(truncated ? { NextKeyMarker: 'k.tar', NextVersionIdMarker: String(index + 1) } : {}),
      };
    }
    if (command instanceof DeleteObjectCommand) {
      expect(command.input.Key).toBe('k.tar');
      deleted.push(command.input.VersionId);
      return {};
    }
    throw new Error(`not expected: ${String((command as object).constructor.name)}`);
  }) as S3Client['send'];
  return { s3, deleted, listedFrom };
}

describe('deleteEveryVersion', () => {
  it('deletes the versions and delete markers of the key on every page of the listing, and nothing of a longer key', async () => {
    const { s3, deleted, listedFrom } = versionedS3([{ versions: ['v3', 'v2'], markers: ['m1'], longer: ['x1'] }, { versions: ['v1'], longer: ['x2'] }]);
    await deleteEveryVersion(s3, 'staging', 'k.tar', 'v3');
    expect(listedFrom).toEqual([undefined, '1']);
    expect(deleted).toEqual(['v3', 'v2', 'm1', 'v1']);
  });

  it.each(['AccessDenied', 'NotImplemented'] as const)('still deletes the version it knows where listing versions is refused (%s: a role without s3:ListBucketVersions, Cloudflare R2)', async (refusal) => {
    const { s3, deleted } = versionedS3(refusal);
    await deleteEveryVersion(s3, 'staging', 'k.tar', 'v3');
    expect(deleted).toEqual(['v3']);
  });
});

describe('deleteVersionAndOlder', () => {
  it('deletes the version it stored and the ones before it, across pages, and leaves a newer one (a later completion of the same upload)', async () => {
    const { s3, deleted } = versionedS3([{ versions: ['v4', 'v3'], markers: ['m1'] }, { versions: ['v2', 'v1'] }]);
    await deleteVersionAndOlder(s3, 'staging', 'k.tar', 'v3');
    expect(deleted).toEqual(['v3', 'v2', 'v1']);
  });

  it('deletes nothing more once the version is gone (a redelivery after the delete)', async () => {
    const { s3, deleted } = versionedS3([{ versions: ['v4'] }]);
    await deleteVersionAndOlder(s3, 'staging', 'k.tar', 'v3');
    expect(deleted).toEqual([]);
  });
});
