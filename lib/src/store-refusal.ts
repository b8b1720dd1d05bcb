/** Why S3 refuses for good: a permission the role lacks, or a bucket that is not there. */
export interface StoreRefusalReason {
  readonly reasonCode: 'STORE_ACCESS_DENIED' | 'BUCKET_MISSING';
  readonly message: string;
}

/**
 * An S3 answer that no retry will change by itself: the bucket refuses us or
 * does not exist. Transient errors (5xx, throttling, timeouts) are not matched
 * and stay retried. Causes are followed, as lib-storage and our own store
 * errors wrap what S3 said.
 */
export function refusedByStore(error: unknown): StoreRefusalReason | undefined {
  for (let cause: unknown = error, hops = 0; typeof cause === 'object' && cause !== null && hops < 5; cause = (cause as { cause?: unknown }).cause, hops += 1) {
    const refused = refusalOf(cause);
    if (refused) return refused;
  }
  return undefined;
}

function refusalOf(error: object): StoreRefusalReason | undefined {
  const name = (error as { name?: string }).name;
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'AccessDenied' || name === 'AllAccessDisabled') return { reasonCode: 'STORE_ACCESS_DENIED', message: `S3 refused it: ${message}` };
  // A HEAD has no body to name its error: AWS answers 403 for a key that is not there when the role lacks s3:ListBucket.
  if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403 && !name?.endsWith('Exception')) {
    return { reasonCode: 'STORE_ACCESS_DENIED', message: `S3 answered 403 (${name ?? 'no error name'}): the role lacks a permission; a HEAD of an object not there answers 403, not 404, without s3:ListBucket on the bucket (README: Pointing Orbit at real AWS lists what Orbit needs)` };
  }
  if (name === 'NoSuchBucket') return { reasonCode: 'BUCKET_MISSING', message: `S3 has no such bucket: ${message}` };
  return undefined;
}
