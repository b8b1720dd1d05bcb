import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { objectBytes, readStoredJson, StoredJsonError, type EnvironmentName } from '@orbit/lib';
import type { DeployableStore } from '../ports.js';

/**
 * Manifests from the environments' kustomize tables (inline, or in the chart
 * bucket when too big for a row) and presigned GETs of stored objects. A
 * link lives `presignSeconds`: long enough to start a multi-GiB download,
 * short enough that a leaked one soon stops working.
 */
export function awsDeployables(s3: S3Client, dynamo: DynamoDBDocumentClient, tableOf: (environment: EnvironmentName) => string, presignSeconds = 900): DeployableStore {
  return {
    async manifests(environment, helmChartName) {
      const { Item } = await dynamo.send(new GetCommand({ TableName: tableOf(environment), Key: { helmChartName }, ConsistentRead: true }));
      if (!Item) return undefined;
      const manifests = await readStoredJson(Item['manifests'], objectBytes(s3));
      if (!Array.isArray(manifests)) throw new StoredJsonError(`the manifests of ${helmChartName} in ${tableOf(environment)} are not a JSON array`);
      return manifests;
    },
    async downloadUrl(object, fileName) {
      const command = new GetObjectCommand({
        Bucket: object.bucket, Key: object.key, ...(object.versionId ? { VersionId: object.versionId } : {}),
        ResponseContentDisposition: `attachment; filename="${fileName}"`,
      });
      return { url: await getSignedUrl(s3, command, { expiresIn: presignSeconds }), expiresAt: new Date(Date.now() + presignSeconds * 1000).toISOString() };
    },
  };
}
