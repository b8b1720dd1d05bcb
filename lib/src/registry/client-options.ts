import type { CredentialSource } from './auth.js';

export interface RegistryClientOptions {
  readonly registry: string;
  readonly repository: string;
  /** Plain HTTP for registries listed as insecure (a local registry); HTTPS otherwise. */
  readonly insecure: boolean;
  /** Asked for when the registry first wants them (a credential helper runs then), once per client. */
  readonly credentials?: CredentialSource | undefined;
  /** Every request (token requests too) goes through it but a blob upload's streamed PATCH, which is piped through node:http(s). @default fetch */
  readonly fetch?: RegistryFetch;
  /** How long to wait for a response's headers (the body may take as long as it needs). @default 30000 */
  readonly answerTimeoutMs?: number;
  /**
   * Ends the client's requests in flight and refuses new ones (RegistryUnavailableError): a consumer's shutdown, so a
   * registry that stalls does not hold the stop for answerTimeoutMs per request. A streamed blob upload ends through its
   * body instead (the harbor-writer's is the S3 read, aborted with the same signal).
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * The slowest a blob may arrive, averaged over each answerTimeoutMs: a
   * registry that drips a byte now and then is never silent for long, yet
   * would hold the upload for days. @default 8192 (8 KiB/s)
   */
  readonly minBlobBytesPerSecond?: number;
  /**
   * Asked before the client goes where the registry sends it (a redirect, a
   * token service); throws a PullRefusedError to refuse the place. The
   * registry itself was checked by whoever named it; where it points was not
   * (a redirect to a cloud metadata address, or to Orbit's own registry).
   */
  readonly checkTarget?: (url: URL) => Promise<void>;
  /** What the token is asked for when a challenge names no scope. @default ['pull'] */
  readonly actions?: readonly ('pull' | 'push')[];
}

/** The answer timeout `options` set, or its default. */
export function answerTimeoutMsOf(options: Pick<RegistryClientOptions, 'answerTimeoutMs'>): number {
  return options.answerTimeoutMs ?? 30_000;
}

/** What the client hands its fetch: a URL and these, never a Request (a fetch of another undici than Node's fits). */
export interface RegistryFetchInit {
  readonly method?: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer | string | undefined;
  readonly signal: AbortSignal;
  readonly redirect: 'manual';
}

export type RegistryFetch = (url: URL, init: RegistryFetchInit) => Promise<Response>;

/** A request body: bytes, which can be sent again after a challenge, or a stream of them (piped through node:http(s), see sendStreamed), which cannot. */
export type RegistryRequestBody = Buffer | AsyncIterable<Uint8Array>;

export interface RegistryRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: RegistryRequestBody;
}
