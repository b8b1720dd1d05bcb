import { STATUS_CODES } from 'node:http';
import { headOf } from './code-point.js';
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

/** The HTTP status of an AWS SDK error's answer, if it has one. */
export function httpStatusOf(error: Error): number | undefined {
  const status = (error as AwsErrorFacts).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The SDK names an error answer without a body (every HEAD's, a proxy's HTML page) Unknown / UnknownError. */
export function hasNoWords(error: Error): boolean {
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

/** What an error wraps: its cause, or the first of an AggregateError's (Node's connect to every address of a name). */
function innerOf(error: unknown): unknown {
  if (!(error instanceof Error)) return undefined;
  if (error.cause !== undefined) return error.cause;
  return error instanceof AggregateError ? (error.errors as unknown[])[0] : undefined;
}

/** An error and what it wraps, outermost first, up to four. */
export function causeChainOf(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current: unknown = error; current !== undefined && chain.length < 4; current = innerOf(current)) chain.push(current);
  return chain;
}

/** "registry x is unavailable: fetch failed: connect ECONNREFUSED …": the messages down an error's cause chain, up to five; '' for no Error. */
export function causeMessagesOf(error: unknown): string {
  const messages: string[] = [];
  for (let cause = error; cause instanceof Error && messages.length < 5; cause = cause.cause) messages.push(cause.message);
  return messages.join(': ');
}

/** Credentials a driver may quote back (a connection URL's password, a `password=` pair): never in a description. */
const SECRETS: readonly (readonly [RegExp, string])[] = [
  [/(\/\/[^\s:/@]+:)[^\s@]+@/g, '$1[redacted]@'],
  [/\b(password|passwd|pwd|secret|secretAccessKey|sessionToken|token)=[^\s&;,]+/gi, '$1=[redacted]'],
];

/** `text` with any password or secret it quotes replaced by [redacted]. */
export function withoutSecrets(text: string): string {
  return SECRETS.reduce((result, [pattern, replacement]) => result.replace(pattern, replacement), text);
}

/** An error and its causes (up to four), for an operator: DLQ headers, a failed request's message; no secret it quotes. */
export function describeError(error: unknown, maxLength = 2000): string {
  return headOf(withoutSecrets(causeChainOf(error).map(describeOne).join(' <- ')), maxLength);
}
