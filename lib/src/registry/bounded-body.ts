/** Registries and containerd refuse manifests over 4 MiB; the OCI distribution spec asks clients to take at least that. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** A token answer is a few kilobytes of JSON; a megabyte leaves room for any JWT a registry hands out. */
export const MAX_TOKEN_ANSWER_BYTES = 1024 * 1024;

/**
 * The body of an answer, read up to `maxBytes`; null when it is longer
 * (stopped reading there). A manifest or a token is small; a registry that
 * streams gigabytes where one was asked for must not take the validator's
 * memory with it. `signal` ends a body that stalls: the read then throws.
 */
export async function readCapped(response: Response, maxBytes: number, signal?: AbortSignal): Promise<Buffer | null> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes || !response.body) {
    await response.body?.cancel();
    return declared > maxBytes ? null : Buffer.alloc(0);
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = response.body.getReader();
  const stop = (): void => { reader.cancel(signal?.reason).catch(() => undefined); };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      // A cancelled read ends as if the body were done: the signal tells the two apart.
      signal?.throwIfAborted();
      if (done) return Buffer.concat(chunks, length);
      length += value.length;
      if (length > maxBytes) {
        await reader.cancel();
        return null;
      }
      chunks.push(value);
    }
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}
