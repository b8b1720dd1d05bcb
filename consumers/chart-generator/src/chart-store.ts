import { createHash } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { objectBytes, withCreatedTimestamps } from '@orbit/lib';
import type { ObjectRef } from '@orbit/schemas';

/** Where charts, rendered manifests and Kustomize files are kept (C24 bucket, C20 tables). */
export interface ChartStore {
  /** Puts bytes into the chart bucket, SHA-256 checked by the store; the same bytes again (a redelivery) keep the version in place. */
  putObject(key: string, bytes: Buffer, contentType: string): Promise<ObjectRef & { sha256: string }>;
  /** The bytes of an object in the chart bucket, at the version given. */
  getObject(location: ObjectRef): Promise<Buffer>;
  putRow(table: string, row: Record<string, unknown>): Promise<void>;
  getRow(table: string, helmChartName: string): Promise<Record<string, unknown> | undefined>;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The user metadata that carries an object's SHA-256, as the images' copies
 * carry theirs: with S3_CHECKSUMS=off (a store that refuses checksum headers)
 * a HEAD answers no checksum, and this is what tells a redelivery's same
 * bytes from new ones.
 */
const SHA256_METADATA = 'orbit-sha256';

/** The SHA-256 the object in place holds: the server's checksum, else the one written beside it. */
function heldSha256(head: HeadObjectCommandOutput): string | undefined {
  if (head.ChecksumSHA256 && head.ChecksumType !== 'COMPOSITE') return Buffer.from(head.ChecksumSHA256, 'base64').toString('hex');
  return head.Metadata?.[SHA256_METADATA];
}

export function awsChartStore(s3: S3Client, dynamo: DynamoDBDocumentClient, chartBucket: string): ChartStore {
  return {
    async putObject(key, bytes, contentType) {
      const sha256 = sha256Hex(bytes);
      const put = (onlyIfAbsent: boolean) => s3.send(new PutObjectCommand({
        Bucket: chartBucket, Key: key, Body: bytes, ContentType: contentType, ServerSideEncryption: 'AES256',
        ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'), Metadata: { [SHA256_METADATA]: sha256 }, ...(onlyIfAbsent ? { IfNoneMatch: '*' } : {}),
      }));
      // A redelivery renders the same bytes: the object in place is kept instead of gaining a second version.
      // Written only if absent, so the first delivery pays no extra round trip; a 412 says something is there.
      const written = await put(true).catch((error: unknown) => {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return undefined;
        throw error;
      });
      if (written) return { bucket: chartBucket, key, versionId: written.VersionId ?? null, sha256 };
      const current = await s3.send(new HeadObjectCommand({ Bucket: chartBucket, Key: key, ChecksumMode: 'ENABLED' }));
      if (heldSha256(current) === sha256) return { bucket: chartBucket, key, versionId: current.VersionId ?? null, sha256 };
      const replaced = await put(false);
      return { bucket: chartBucket, key, versionId: replaced.VersionId ?? null, sha256 };
    },
    getObject: objectBytes(s3),
    async putRow(table, row) {
      await dynamo.send(new PutCommand({ TableName: table, Item: withCreatedTimestamps(row) }));
    },
    async getRow(table, helmChartName) {
      const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: { helmChartName }, ConsistentRead: true }));
      return Item;
    },
  };
}
