import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { objectBytes, readStoredJson, StoredJsonError, type EnvironmentName } from '@orbit/lib';
import { z } from 'zod';
import type { DeployableStore } from '../ports.js';
import { presignExpiryFromNow } from './presign-expiry.js';

/** The base row's `files`: per environment, its tree (the base and its overlay), path -> text. */
const kustomizeFilesShape = z.record(z.string(), z.record(z.string(), z.string()));

/**
 * Manifests from the environments' kustomize tables (inline, or in the chart
 * bucket when too big for a row), Kustomize trees from the base table, and
 * presigned GETs, reads and sizes of stored objects. A
 * link lives `presignSeconds`: long enough to start a multi-GiB download,
 * short enough that a leaked one soon stops working. Links are signed by
 * `presigner` (lib's createPresigningS3): they name ORBIT_S3_PUBLIC_ENDPOINT,
 * the address the caller reaches S3 at, not the gateway's own.
 */
export function awsDeployables(
  s3: S3Client, dynamo: DynamoDBDocumentClient, tableOf: (environment: EnvironmentName) => string, baseTable: string, presignSeconds = 900, presigner: S3Client = s3,
): DeployableStore {
  const rowOf = async (table: string, helmChartName: string) => (await dynamo.send(new GetCommand({ TableName: table, Key: { helmChartName }, ConsistentRead: true }))).Item;
  return {
    async manifests(environment, helmChartName) {
      const Item = await rowOf(tableOf(environment), helmChartName);
      if (!Item) return undefined;
      const manifests = await readStoredJson(Item['manifests'], objectBytes(s3));
      if (!Array.isArray(manifests)) throw new StoredJsonError(`the manifests of ${helmChartName} in ${tableOf(environment)} are not a JSON array`);
      return manifests;
    },
    async downloadUrl(object, fileName, contentType) {
      const command = new GetObjectCommand({
        Bucket: object.bucket, Key: object.key, ...(object.versionId ? { VersionId: object.versionId } : {}),
        ResponseContentDisposition: `attachment; filename="${fileName}"`, ...(contentType ? { ResponseContentType: contentType } : {}),
      });
      // Before signing, and to the second as the signature is (found by a review: it said up to 1 s too late).
      const expiresAt = presignExpiryFromNow(presignSeconds);
      return { url: await getSignedUrl(presigner, command, { expiresIn: presignSeconds }), expiresAt };
    },
    async read(object) {
      const answer = await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key, ...(object.versionId ? { VersionId: object.versionId } : {}) }));
      if (!(answer.Body instanceof Readable)) throw new StoredJsonError(`S3 answered ${object.bucket}/${object.key} without a readable body`);
      return { body: answer.Body, sizeBytes: answer.ContentLength ?? null };
    },
    async sizeOf(object) {
      const answer = await s3.send(new HeadObjectCommand({ Bucket: object.bucket, Key: object.key, ...(object.versionId ? { VersionId: object.versionId } : {}) }));
      return answer.ContentLength ?? null;
    },
    async kustomization(environment, helmChartName) {
      const [base, row] = await Promise.all([rowOf(baseTable, helmChartName), rowOf(tableOf(environment), helmChartName)]);
      if (!base || !row) return undefined;
      const parsed = kustomizeFilesShape.safeParse(await readStoredJson(base['files'], objectBytes(s3)));
      const files = parsed.success ? parsed.data[environment] : undefined;
      if (!files) throw new StoredJsonError(`the Kustomize files of ${helmChartName} in ${baseTable} hold no ${environment} tree`);
      const imageReference = row['imageReference'];
      return { files: new Map(Object.entries(files)), imageReference: typeof imageReference === 'string' ? imageReference : null };
    },
  };
}
