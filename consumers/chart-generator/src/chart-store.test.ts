import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { awsChartStore, sha256Hex } from './chart-store.js';

/**
 * A versioned chart bucket that honours IfNoneMatch. With `serverChecksums`
 * off it answers a HEAD as a store behind S3_CHECKSUMS=off does: no checksum,
 * only the object's user metadata.
 */
function chartBucket(serverChecksums: boolean, existing?: { body: Buffer; metadata: Record<string, string> }) {
  const versions: { body: Buffer; metadata: Record<string, string> }[] = existing ? [existing] : [];
  const s3 = {
    send: async (command: { input: Record<string, unknown> }) => {
      if (command instanceof PutObjectCommand) {
        if (command.input.IfNoneMatch === '*' && versions.length > 0) throw Object.assign(new Error('PreconditionFailed'), { $metadata: { httpStatusCode: 412 } });
        versions.push({ body: command.input.Body as Buffer, metadata: command.input.Metadata ?? {} });
        return { VersionId: `v${versions.length}` };
      }
      if (command instanceof HeadObjectCommand) {
        const latest = versions.at(-1);
        if (!latest) throw Object.assign(new Error('NotFound'), { name: 'NotFound' });
        const checksum = serverChecksums ? { ChecksumSHA256: Buffer.from(sha256Hex(latest.body), 'hex').toString('base64'), ChecksumType: 'FULL_OBJECT' } : {};
        return { VersionId: `v${versions.length}`, ContentLength: latest.body.length, Metadata: latest.metadata, ...checksum };
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  } as unknown as S3Client;
  return { store: awsChartStore(s3, {} as DynamoDBDocumentClient, 'charts'), versions };
}

const chart = Buffer.from('packaged chart');
const key = 'uid-v1-0-00/billing-1.0.0.tgz';

describe('awsChartStore.putObject', () => {
  it('keeps the version in place for the same bytes again (a redelivery) when the store answers no checksum (S3_CHECKSUMS=off)', async () => {
    const { store, versions } = chartBucket(false);
    const first = await store.putObject(key, chart, 'application/gzip');
    const again = await store.putObject(key, chart, 'application/gzip');
    // Rows promoted from the first version must go on serving the version's chart: no v2 for the same bytes.
    expect(again).toEqual(first);
    expect(versions).toHaveLength(1);
    const changed = await store.putObject(key, Buffer.from('another chart'), 'application/gzip');
    expect(changed.versionId).toBe('v2');
  });

  it('goes by the server\'s checksum where there is one, also for an object written before its SHA-256 was kept beside it', async () => {
    const { store, versions } = chartBucket(true, { body: chart, metadata: {} });
    expect((await store.putObject(key, chart, 'application/gzip')).versionId).toBe('v1');
    expect((await store.putObject(key, Buffer.from('another chart'), 'application/gzip')).versionId).toBe('v2');
    expect(versions).toHaveLength(2);
  });
});
