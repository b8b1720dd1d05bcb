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
 * store is down instead of blocking a partition for minutes. The SDK waits
 * forever by default: a store that accepts the connection and never answers
 * (a process shutting down, a black-holed network) would hold the partition
 * with it, so connections get a few seconds and DynamoDB answers (milliseconds
 * when healthy) ten. S3 gets ten minutes of silence: a server-side copy of
 * 5 GiB rightly takes minutes before its answer.
 */
const CONNECTION_TIMEOUT_MS = 5_000;
const DYNAMO_ANSWER_TIMEOUT_MS = 10_000;
const S3_SILENCE_TIMEOUT_MS = 10 * 60_000;

export function createS3(settings: AwsSettings): S3Client {
  return new S3Client({
    region: settings.AWS_REGION,
    endpoint: settings.AWS_ENDPOINT_URL_S3,
    forcePathStyle: settings.S3_FORCE_PATH_STYLE,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: S3_SILENCE_TIMEOUT_MS, throwOnRequestTimeout: true },
  });
}

export function createDynamo(settings: AwsSettings, answerTimeoutMs = DYNAMO_ANSWER_TIMEOUT_MS): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: settings.AWS_REGION, endpoint: settings.AWS_ENDPOINT_URL_DYNAMODB, maxAttempts: 2,
    // Without throwOnRequestTimeout the handler only warns when the time is up, and goes on waiting.
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: answerTimeoutMs, throwOnRequestTimeout: true },
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
}
