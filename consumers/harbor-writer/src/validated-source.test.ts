import type { S3Client } from '@aws-sdk/client-s3';
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
});
