import { STATUS_CODES } from 'node:http';
import { OrbitError } from './errors.js';

/**
 * The AWS call an SDK error came from (`HeadObject s3://bucket/key`,
 * `BatchWriteItem events`), as the clients of aws.ts record it on the error:
 * an S3 error answer names neither, and a HEAD's has no words at all.
 */
export const AWS_CALL = 'awsCall';

interface AwsErrorFacts {
  readonly $metadata?: { readonly httpStatusCode?: unknown; readonly requestId?: unknown };
  readonly awsCall?: unknown;
}

function httpStatusOf(error: Error): number | undefined {
  const status = (error as AwsErrorFacts).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The SDK names an error answer without a body (every HEAD's, a proxy's HTML page) Unknown / UnknownError. */
function hasNoWords(error: Error): boolean {
  return error.name === 'Unknown' || error.message === 'UnknownError' || error.message === '';
}

/**
 * Error code for DLQ headers and failures: ours; else the foreign error's own
 * code where it has one (mysql2's ER_DATA_TOO_LONG says more than its name,
 * Error); else, for a store's answer without words, its HTTP status
 * (`HTTP_400`); else its name.
 */
export function errorCodeOf(error: unknown): string {
  if (error instanceof OrbitError) return error.code;
  if (error instanceof Error) {
    const { code } = error as { code?: unknown };
    if (typeof code === 'string' && code.length > 0) return code;
    const status = httpStatusOf(error);
    return status !== undefined && hasNoWords(error) ? `HTTP_${status}` : error.name;
  }
  return 'UnknownError';
}

/** One error in words; an AWS one with the call it came from, its HTTP status and the store's request id. */
function describeOne(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = httpStatusOf(error);
  const { awsCall, $metadata } = error as AwsErrorFacts;
  const words = status !== undefined && hasNoWords(error)
    ? `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd() + ', without an error body'
    : `${error.name}: ${error.message}${status !== undefined ? ` (HTTP ${status})` : ''}`;
  const requestId = typeof $metadata?.requestId === 'string' ? ` [request ${$metadata.requestId}]` : '';
  return `${typeof awsCall === 'string' ? `${awsCall}: ` : ''}${words}${requestId}`;
}

/** An error and its causes (up to four), for an operator: DLQ headers, a failed request's message. */
export function describeError(error: unknown, maxLength = 2000): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 4; depth++) {
    parts.push(describeOne(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' <- ').slice(0, maxLength);
}
