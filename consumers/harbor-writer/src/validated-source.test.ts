import type { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { StoredObject } from './copy.js';
import { validatedSource, type StoredRecord } from './validated-source.js';

const location = { bucket: 'app-image-1206-bkt-k8d-aws', key: 'U-v1-0-00.tar' };
const validated = 'a'.repeat(64);
const object = (sha256: string | null, versionId: string): StoredObject => ({ sha256, size: 10, versionId, etag: `"${versionId}"`, metadata: {} });
const record = (sha256: string | null, versionId: string | null): StoredRecord => ({ sha256, versionIn: (environment) => (environment === 'Development' ? versionId : null) });
/** No S3 round trip is expected where the latest version answers the question. */
const noS3 = { send: async () => { throw new Error('no S3 call expected'); } } as unknown as S3Client;

describe('validatedSource', () => {
  it('takes the latest version when it holds the validated bytes, or is the version Orbit wrote though S3 shows no checksum', async () => {
    expect(await validatedSource(noS3, location, object(validated, 'v2'), record(validated, 'v1'), 'Development')).toMatchObject({ kind: 'found', sha256: validated, replaced: false });
    expect(await validatedSource(noS3, location, object(null, 'v1'), record(validated, 'v1'), 'Development')).toMatchObject({ kind: 'found', sha256: validated, replaced: false });
  });

  it('goes by the object itself for a version stored before its record was kept', async () => {
    expect(await validatedSource(noS3, location, object('b'.repeat(64), 'v1'), undefined, 'Development')).toMatchObject({ kind: 'found', sha256: 'b'.repeat(64) });
    expect(await validatedSource(noS3, location, object(null, 'v1'), undefined, 'Development')).toMatchObject({ kind: 'unverifiable' });
    expect(await validatedSource(noS3, location, undefined, undefined, 'Development')).toMatchObject({ kind: 'missing' });
  });

  it('refuses a replaced latest version that is itself the recorded one, naming both checksums', async () => {
    const outcome = await validatedSource(noS3, location, object('c'.repeat(64), 'v1'), record(validated, 'v1'), 'Development');
    expect(outcome.kind).toBe('changed');
    if (outcome.kind === 'changed') expect(outcome.message).toBe(`${location.bucket}/${location.key} holds SHA-256 ${'c'.repeat(64)}, not the ${validated} that was validated, and no version of it that does`);
  });

  it('does not take a latest version for the validated bytes on its orbit-sha256 metadata: the recorded version is copied instead', async () => {
    // Overwritten out of band (same size, a CRC32 of its own, no SHA-256) and labelled with the validated SHA-256.
    const forged: StoredObject = { sha256: null, size: 10, versionId: 'v2', etag: '"forged"', metadata: { 'orbit-sha256': validated } };
    const heads: unknown[] = [];
    const s3 = {
      send: async (command: HeadObjectCommand) => {
        heads.push(command.input);
        if (command.input.VersionId !== 'v1') throw Object.assign(new Error('NotFound'), { name: 'NotFound' });
        return { ContentLength: 10, VersionId: 'v1', ETag: '"validated"', Metadata: {} };
      },
    } as unknown as S3Client;
    const outcome = await validatedSource(s3, location, forged, record(validated, 'v1'), 'Development');
    expect(outcome).toMatchObject({ kind: 'found', sha256: validated, replaced: true, object: { versionId: 'v1', etag: '"validated"' } });
    expect(heads).toEqual([expect.objectContaining({ VersionId: 'v1' })]);

    // With the recorded version gone, nothing holds the validated bytes: refused, saying why the latest one does not count.
    const lost = await validatedSource({ send: async () => { throw Object.assign(new Error('NotFound'), { name: 'NotFound' }); } } as unknown as S3Client, location, forged, record(validated, 'v1'), 'Development');
    expect(lost.kind).toBe('changed');
    if (lost.kind === 'changed') expect(lost.message).toContain('version v2 (not v1, the one Orbit recorded) with no SHA-256 of S3\'s own');
  });

  it('keeps the orbit-sha256 claim only where the store can show nothing else: no version id and no checksum', async () => {
    const unversioned: StoredObject = { sha256: null, size: 10, versionId: null, etag: '"e"', metadata: { 'orbit-sha256': validated } };
    expect(await validatedSource(noS3, location, unversioned, record(validated, null), 'Development')).toMatchObject({ kind: 'found', replaced: false });
  });
});
