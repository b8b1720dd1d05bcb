import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

export interface AwsSettings {
  readonly AWS_REGION: string;
  readonly AWS_ENDPOINT_URL_S3: string;
  readonly AWS_ENDPOINT_URL_DYNAMODB: string;
  readonly S3_FORCE_PATH_STYLE: boolean;
}

/**
 * Credentials come from the SDK's default chain (env, profile, role). The
 * consume loop owns backoff, so the SDK retries little and fails fast when a
 * store is down instead of blocking a partition for minutes.
 */
export function createS3(settings: AwsSettings): S3Client {
  return new S3Client({
    region: settings.AWS_REGION,
    endpoint: settings.AWS_ENDPOINT_URL_S3,
    forcePathStyle: settings.S3_FORCE_PATH_STYLE,
    maxAttempts: 2,
  });
}

export function createDynamo(settings: AwsSettings): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ region: settings.AWS_REGION, endpoint: settings.AWS_ENDPOINT_URL_DYNAMODB, maxAttempts: 2 });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
}
