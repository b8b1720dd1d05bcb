import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { MiddlewareStack } from '@smithy/types';
import { AWS_CALL } from './error-description.js';

export interface AwsSettings {
  readonly AWS_REGION: string;
  readonly AWS_ENDPOINT_URL_S3: string;
  readonly AWS_ENDPOINT_URL_DYNAMODB: string;
  readonly S3_FORCE_PATH_STYLE: boolean;
  /** `off` for an S3 that refuses flexible-checksum headers (Backblaze B2, OVH): copies are then checked by size only. @default sha256 */
  readonly S3_CHECKSUMS?: 'sha256' | 'off';
  /** Where callers outside reach S3, for the URLs createPresigningS3 signs (s3PublicEndpointEnv). @default AWS_ENDPOINT_URL_S3 */
  readonly ORBIT_S3_PUBLIC_ENDPOINT?: string | undefined;
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
/**
 * The silence an S3 client of a command that only looks (HEADs, small chart
 * reads, streamed reads that never wait on a copy) allows per attempt: with the
 * ten minutes of a copy, a dry run against an S3 that took the connection and
 * never answered sat silent for twenty, and said nothing.
 */
export const S3_CHECK_SILENCE_TIMEOUT_MS = 10_000;

/** What a call was about, in the words an operator looks for: `s3://bucket/key`, or the table(s). */
function resourceOf(input: Record<string, unknown>): string {
  const { Bucket, Key, CopySource, TableName, RequestItems, TransactItems } = input;
  if (typeof Bucket === 'string') {
    const target = `s3://${Bucket}${typeof Key === 'string' ? `/${Key}` : ''}`;
    return typeof CopySource === 'string' ? `${target} from ${decodeURIComponent(CopySource)}` : target;
  }
  if (typeof TableName === 'string') return TableName;
  if (typeof RequestItems === 'object' && RequestItems !== null) return Object.keys(RequestItems).join(', ');
  if (Array.isArray(TransactItems)) {
    const tables = TransactItems.flatMap((item: unknown) => Object.values(item as Record<string, { TableName?: unknown }>).map((action) => action.TableName));
    return [...new Set(tables.filter((table): table is string => typeof table === 'string'))].join(', ');
  }
  return '';
}

/**
 * Records on every error of a client's calls which call it was
 * (`HeadObject s3://bucket/key`, see describeError): S3 answers a refused HEAD
 * with a bare status, and an operator reading a dead letter must know what
 * to fix.
 */
function recordFailedCalls<Input extends object, Output extends object>(stack: MiddlewareStack<Input, Output>): void {
  stack.add((next, context) => async (args) => {
    try {
      return await next(args);
    } catch (error) {
      // A frozen error (none of the SDK's are) is passed on as it is rather than replaced by a TypeError.
      if (typeof error === 'object' && error !== null && Object.isExtensible(error) && !(AWS_CALL in error)) {
        const operation = String(context.commandName ?? 'call').replace(/Command$/, '');
        const resource = resourceOf(args.input as Record<string, unknown>);
        Object.assign(error, { [AWS_CALL]: resource ? `${operation} ${resource}` : operation });
      }
      throw error;
    }
  }, { step: 'initialize', name: 'orbitRecordFailedCalls', override: true });
}

/** Where S3 is, for the client that calls it; the one that presigns may name another address of it (createPresigningS3). */
const s3Location = (settings: AwsSettings, endpoint = settings.AWS_ENDPOINT_URL_S3) => ({ region: settings.AWS_REGION, endpoint, forcePathStyle: settings.S3_FORCE_PATH_STYLE });

/**
 * `silenceTimeoutMs`: how long a call may hear nothing before it fails (each of its two attempts). Ten minutes by
 * default, for server-side copies; a caller that makes none (the gateway, the image-validator) waits less for a hung S3.
 */
export function createS3(settings: AwsSettings, silenceTimeoutMs = S3_SILENCE_TIMEOUT_MS): S3Client {
  const checksums = settings.S3_CHECKSUMS !== 'off';
  const client = new S3Client({
    ...s3Location(settings),
    maxAttempts: 2,
    // A bucket in another region answers 301 PermanentRedirect; the SDK then asks it where it is instead of failing.
    followRegionRedirects: true,
    // Silence, not a deadline: the socket's idle time (reading or writing), so a part uploaded steadily on a slow link
    // or a long body read goes on, and a body that stops half way fails. `requestTimeout` is, in this SDK, a deadline
    // from the send to the answer's headers, the whole body's upload included; as the silence it cut a 16 MiB part that
    // was flowing at 270 KiB/s and left a GetObject that went quiet after its headers waiting for ever (found by a reread).
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: silenceTimeoutMs },
    ...(checksums ? {} : { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }),
  });
  recordFailedCalls(client.middlewareStack);
  if (!checksums) withoutChecksums(client.middlewareStack);
  return client;
}

/** The checksum parameters Orbit asks for itself: a copy's SHA-256, a HEAD's checksum, a PUT's declared SHA-256. */
const CHECKSUM_INPUTS = ['ChecksumMode', 'ChecksumAlgorithm', 'ChecksumSHA256', 'ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1'];

/**
 * S3_CHECKSUMS=off: Backblaze B2 answers 400 "Unsupported header
 * x-amz-checksum-mode" (and OVH refuses x-amz-sdk-checksum-algorithm), so
 * every HEAD, copy and chart write failed there. The parameters Orbit's
 * calls ask for are dropped in one place, before the SDK turns them into
 * headers; the SDK's own default checksums are off too (WHEN_REQUIRED).
 */
function withoutChecksums<Input extends object, Output extends object>(stack: MiddlewareStack<Input, Output>): void {
  stack.add((next) => async (args) => {
    const input = Object.fromEntries(Object.entries(args.input).filter(([name]) => !CHECKSUM_INPUTS.includes(name))) as Input;
    return next({ ...args, input });
  }, { step: 'initialize', name: 'orbitWithoutChecksums', override: true });
}

/**
 * A client for presigning uploads only. By default the SDK (3.729 on) signs a
 * CRC32 of the request body into a presigned PutObject or UploadPart URL; at
 * signing time there is no body, so every URL says `x-amz-checksum-crc32=AAAAAA==`
 * (the CRC32 of nothing), and AWS S3 refuses any real upload to it with
 * BadDigest. MinIO ignores the parameter, so the local stack never showed it.
 * Checksums only where an operation requires them keeps them out of the URL.
 *
 * Its URLs go to browsers and other callers, who may not reach S3 where the
 * gateway does (127.0.0.1, an internal name): with ORBIT_S3_PUBLIC_ENDPOINT
 * they name that address instead. Signed for it, not rewritten after: the
 * signature covers the host. Presigning calls nothing, so the gateway need
 * not reach that address itself.
 */
export function createPresigningS3(settings: AwsSettings): S3Client {
  const checksums = settings.S3_CHECKSUMS !== 'off';
  const client = new S3Client({
    ...s3Location(settings, settings.ORBIT_S3_PUBLIC_ENDPOINT ?? settings.AWS_ENDPOINT_URL_S3), requestChecksumCalculation: 'WHEN_REQUIRED',
    // S3_CHECKSUMS=off as the gateway's own client has it: a download link (signed here since links name the public
    // endpoint) carried x-amz-checksum-mode=ENABLED, which Backblaze B2 refuses (found by a reread).
    ...(checksums ? {} : { responseChecksumValidation: 'WHEN_REQUIRED' as const }),
  });
  if (!checksums) withoutChecksums(client.middlewareStack);
  return client;
}

export function createDynamo(settings: AwsSettings, answerTimeoutMs = DYNAMO_ANSWER_TIMEOUT_MS): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: settings.AWS_REGION, endpoint: settings.AWS_ENDPOINT_URL_DYNAMODB, maxAttempts: 2,
    // Without throwOnRequestTimeout the handler only warns when the time is up, and goes on waiting.
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: answerTimeoutMs, throwOnRequestTimeout: true },
  });
  recordFailedCalls(client.middlewareStack);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
}

/** Resolves when DynamoDB answers that `table` exists (a readiness check: one cheap control-plane call). */
export async function tableAnswers(dynamo: DynamoDBDocumentClient, table: string): Promise<void> {
  await dynamo.send(new DescribeTableCommand({ TableName: table }));
}
