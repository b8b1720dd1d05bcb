import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { withCreatedTimestamps } from '@orbit/lib';
import type { ObjectRef } from '@orbit/schemas';

/** Where charts, rendered manifests and Kustomize files are kept (C24 bucket, C20 tables). */
export interface ChartStore {
  /** Puts bytes into the chart bucket, SHA-256 checked by the store; same key and bytes on a redelivery. */
  putObject(key: string, bytes: Buffer, contentType: string): Promise<ObjectRef & { sha256: string }>;
  putRow(table: string, row: Record<string, unknown>): Promise<void>;
  getRow(table: string, helmChartName: string): Promise<Record<string, unknown> | undefined>;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function awsChartStore(s3: S3Client, dynamo: DynamoDBDocumentClient, chartBucket: string): ChartStore {
  return {
    async putObject(key, bytes, contentType) {
      const sha256 = sha256Hex(bytes);
      const result = await s3.send(new PutObjectCommand({
        Bucket: chartBucket, Key: key, Body: bytes, ContentType: contentType, ServerSideEncryption: 'AES256',
        ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
      }));
      return { bucket: chartBucket, key, versionId: result.VersionId ?? null, sha256 };
    },
    async putRow(table, row) {
      await dynamo.send(new PutCommand({ TableName: table, Item: withCreatedTimestamps(row) }));
    },
    async getRow(table, helmChartName) {
      const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: { helmChartName }, ConsistentRead: true }));
      return Item;
    },
  };
}
