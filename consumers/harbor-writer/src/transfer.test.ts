import { CopyObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sampleEvents } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/helpers/index.js';
import { overwrittenAfterItsHead } from '../../../test/helpers/overwritten-after-head.js';
import { transferImage } from './transfer.js';

const validated = 'a'.repeat(64);
const buckets = { Development: 'dev', Testing: 'test', Staging: 'stage', Production: 'prod' } as const;

/** The metadata row the store wrote: the validated SHA-256, no S3 version (the bucket keeps none). */
const dynamo = { send: async () => ({ Item: { sha256: validated, versionId: null } }) } as unknown as DynamoDBDocumentClient;

describe('transferImage', () => {
  it('fails SOURCE_CHANGED, copying nothing, when an unversioned source is replaced between the HEAD that checked it and the copy', async () => {
    // The Development copy is replaced by other bytes of the same size, out of band, right after the transfer's HEAD checked it.
    const { s3, objects } = overwrittenAfterItsHead({ dev: { etag: '"validated"', size: 10, metadata: { 'orbit-sha256': validated } } }, 'dev', { etag: '"other"', size: 10, metadata: {} });
    const event = sampleEvents()['orbit.transfer.requested'];
    const outcome = await transferImage(event, { s3, dynamo, metadataTable: 'meta', bucketOf: (environment) => buckets[environment] }, quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'SOURCE_CHANGED' } });
    // Not the replacement labelled with the validated SHA-256, which only a size check would have stood between.
    expect(objects.get('test')).toBeUndefined();
  });
});

interface FakeVersion {
  readonly versionId: string;
  readonly size: number;
  readonly etag: string;
  /** S3's own full-object SHA-256 (hex), or none (a multipart copy, a PUT with a CRC32 only). */
  readonly sha256?: string;
  readonly metadata: Record<string, string>;
}

/**
 * Versioned buckets of one key each: HEAD answers the latest version or the one asked for; CopyObject adds a version with
 * the SHA-256 S3 computes for it (the source version's bytes: `sha256` of the version copied, a forged one has other bytes).
 */
function versionedBuckets(initial: Record<string, FakeVersion[]>) {
  const buckets = new Map(Object.entries(initial).map(([bucket, versions]) => [bucket, [...versions]]));
  const copies: Record<string, unknown>[] = [];
  let next = 0;
  const s3 = {
    send: async (command: { input: Record<string, unknown> }) => {
      if (command instanceof HeadObjectCommand) {
        const versions = buckets.get(String(command.input['Bucket'])) ?? [];
        const found = command.input['VersionId'] ? versions.find((version) => version.versionId === command.input['VersionId']) : versions.at(-1);
        if (!found) throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
        return {
          ContentLength: found.size, VersionId: found.versionId, ETag: found.etag, Metadata: found.metadata,
          ...(found.sha256 ? { ChecksumSHA256: Buffer.from(found.sha256, 'hex').toString('base64'), ChecksumType: 'FULL_OBJECT' } : { ChecksumCRC32: 'AAAAAA==', ChecksumType: 'FULL_OBJECT' }),
        };
      }
      if (command instanceof CopyObjectCommand) {
        copies.push(command.input);
        const [path = '', query = ''] = String(command.input.CopySource).split('?versionId=');
        const from = (buckets.get(path.split('/')[0] ?? '') ?? []).find((version) => version.versionId === decodeURIComponent(query));
        if (!from) throw Object.assign(new Error('NoSuchVersion'), { name: 'NoSuchVersion', $metadata: { httpStatusCode: 404 } });
        const copy: FakeVersion = { versionId: `c${++next}`, size: from.size, etag: from.etag, metadata: (command.input.Metadata ?? {}) as Record<string, string>, ...(from.sha256 ? { sha256: from.sha256 } : {}) };
        buckets.get(String(command.input.Bucket))?.push(copy);
        return { VersionId: copy.versionId, CopyObjectResult: { ETag: copy.etag, ...(copy.sha256 ? { ChecksumSHA256: Buffer.from(copy.sha256, 'hex').toString('base64') } : {}) } };
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  } as unknown as S3Client;
  return { s3, copies, buckets };
}

const recordedRow = (locationTesting?: string) => ({
  send: async () => ({ Item: { sha256: validated, versionId: 'd1', ...(locationTesting ? { locationTesting: { bucket: 'test', key: 'k', versionId: locationTesting } } : {}) } }),
}) as unknown as DynamoDBDocumentClient;
const intact: FakeVersion = { versionId: 'd1', size: 10, etag: '"md5-validated"', sha256: validated, metadata: { 'orbit-sha256': validated } };
/** Other bytes of the same size put over a copy out of band, labelled with the validated SHA-256: S3 computed a CRC32 of them, no SHA-256. */
const forgedOver = (versionId: string, metadata: Record<string, string> = {}): FakeVersion => ({ versionId, size: 10, etag: '"md5-evil"', metadata: { 'orbit-sha256': validated, ...metadata } });

describe('transferImage: what counts as holding the validated bytes (S3 shows it, not orbit-sha256)', () => {
  const event = sampleEvents()['orbit.transfer.requested'];
  const run = (s3: S3Client, dynamoRow: DynamoDBDocumentClient) => transferImage(event, { s3, dynamo: dynamoRow, metadataTable: 'meta', bucketOf: (environment) => buckets[environment] }, quietLogger);

  it('copies again over a target overwritten with other bytes of the same size labelled with the validated SHA-256, and records the new copy', async () => {
    const { s3, copies } = versionedBuckets({ dev: [intact], test: [{ versionId: 't1', size: 10, etag: '"md5-validated"', sha256: validated, metadata: {} }, forgedOver('t2')] });
    const outcome = await run(s3, recordedRow('t1'));
    expect(copies).toEqual([expect.objectContaining({ Bucket: 'test', CopySource: expect.stringMatching(/^dev\/.*\?versionId=d1$/) })]);
    expect(outcome).toMatchObject({ kind: 'copied', event: { target: { bucket: 'test', versionId: 'c1' }, sha256: validated, source: { versionId: 'd1' } } });
  });

  it('copies the recorded Development version when the latest one is an overwrite labelled with the validated SHA-256', async () => {
    const { s3, copies } = versionedBuckets({ dev: [intact, forgedOver('d2')], test: [] });
    const outcome = await run(s3, recordedRow());
    expect(copies).toEqual([expect.objectContaining({ CopySource: expect.stringMatching(/\?versionId=d1$/) })]);
    expect(outcome).toMatchObject({ kind: 'copied', event: { source: { versionId: 'd1' }, target: { versionId: 'c1' } } });
  });

  it('keeps a target S3 shows no checksum of when it is the version Orbit recorded, or this request\'s own unrecorded copy of the same ETag', async () => {
    // A multipart copy: no SHA-256 of S3's own. Recorded: kept.
    const multipart = (versionId: string, etag: string, metadata: Record<string, string>): FakeVersion => ({ versionId, size: 10, etag, metadata: { 'orbit-sha256': validated, ...metadata } });
    const recorded = versionedBuckets({ dev: [intact], test: [multipart('t1', '"md5-validated"', {})] });
    expect(await run(recorded.s3, recordedRow('t1'))).toMatchObject({ kind: 'copied', event: { target: { versionId: 't1' } } });
    expect(recorded.copies).toEqual([]);

    // Not recorded yet (the consumer died before recordTransferLocation): this request's copy of d1, with d1's ETag, is kept too.
    const own = { 'orbit-transfer-request-id': event.requestId, 'orbit-copied-from-version': 'd1' };
    const unrecorded = versionedBuckets({ dev: [intact], test: [multipart('t1', '"md5-validated"', own)] });
    expect(await run(unrecorded.s3, recordedRow())).toMatchObject({ kind: 'copied', event: { target: { versionId: 't1' } } });
    expect(unrecorded.copies).toEqual([]);

    // The same metadata on other bytes (another ETag) proves nothing: copied again.
    const forged = versionedBuckets({ dev: [intact], test: [forgedOver('t1', own)] });
    expect(await run(forged.s3, recordedRow())).toMatchObject({ kind: 'copied', event: { target: { versionId: 'c1' } } });
    expect(forged.copies).toHaveLength(1);
    // The copy names its own source version, for its own redelivery.
    expect(forged.copies[0]?.['Metadata']).toMatchObject({ 'orbit-copied-from-version': 'd1', 'orbit-transfer-request-id': event.requestId, 'orbit-sha256': validated });
  });
});
