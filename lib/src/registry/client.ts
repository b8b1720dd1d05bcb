import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OrbitError } from '../errors.js';
import { basicAuthorization, parseChallenge, type Challenge, type Credentials, type CredentialSource } from './auth.js';
import { registrySays, wordsOf } from './registry-words.js';

/**
 * The registry refused or could not serve the image; `reasonCode` ends the
 * upload (not retried). `answered`: false when no HTTP answer came (no such
 * host, a TLS failure), so nothing says a registry is there.
 */
export class PullRefusedError extends OrbitError {
  constructor(readonly reasonCode: 'REFERENCE_NOT_FOUND' | 'REGISTRY_UNAUTHORIZED' | 'BAD_MANIFEST' | 'TOO_LARGE' | 'REGISTRY_ERROR' | 'REGISTRY_NOT_ALLOWED' | 'UNSUPPORTED_LAYER', message: string, readonly answered = true) {
    super('ORBIT_ERR_PULL_REFUSED', message);
  }
}

/**
 * The registry did not answer or answered 5xx/429: try again later.
 * `answered`: it did answer (5xx/429), so something is there and struggling;
 * false when no HTTP answer came at all (refused, unreachable, silent).
 */
export class RegistryUnavailableError extends OrbitError {
  constructor(registry: string, cause: unknown, readonly answered = false, readonly rateLimit?: RateLimit) {
    super('ORBIT_ERR_STORE_UNAVAILABLE', `registry ${registry} is unavailable`, { cause, retriable: true });
  }
}

/** A 429: the registry limits this client (Docker Hub per address, for every repository); how long it asked to wait, if it said. */
export interface RateLimit {
  readonly retryAfterMs: number | undefined;
}

/** Retry-After (RFC 9110 §10.2.3): seconds, or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * A 5xx or 429 answer as the outage it is, saying what the registry wrote
 * (Docker Hub's "TOOMANYREQUESTS: You have reached your pull rate limit")
 * and, for a 429, how long it asked to wait.
 */
export async function unavailableAnswer(registry: string, response: Response, what: string): Promise<RegistryUnavailableError> {
  const says = await registrySays(response);
  const limited = response.status === 429 ? { retryAfterMs: retryAfterMs(response.headers.get('retry-after')) } : undefined;
  return new RegistryUnavailableError(registry, new Error(`${what}: HTTP ${response.status}${says}`), true, limited);
}

/** Redirects a read follows (as docker and containerd do), at most MAX_REDIRECTS in a row. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/** TLS failures that waiting will not mend: the certificate is not one this host trusts. */
const UNTRUSTED_CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A connection that failed for a reason no retry mends, as a refusal that
 * says what to do: a host that does not exist (a typo), a certificate this
 * host does not trust, HTTPS spoken to a plain-HTTP registry. Retried, each
 * held its partition of uploads for the whole patience (30 s) behind it.
 * `sentTo`: the place asked when the registry sent Orbit to another host
 * (a blob redirect to storage, an upload Location): that host is the one
 * named, and what Orbit's settings mend for the registry does not apply to it.
 */
function connectionRefusal(registry: string, error: unknown, sentTo?: URL): PullRefusedError | undefined {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  const elsewhere = sentTo !== undefined;
  const host = elsewhere ? `${sentTo.host}, where ${registry} sent Orbit,` : registry;
  if (code === 'ENOTFOUND') {
    return new PullRefusedError('REGISTRY_ERROR', elsewhere ? `host ${host} does not exist (DNS: ENOTFOUND); the registry points at a host that is not there` : `registry host ${registry} does not exist (DNS: ENOTFOUND); check the reference`, false);
  }
  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code)) {
    return new PullRefusedError('REGISTRY_ERROR', `${host}'s TLS certificate is not trusted here (${code}): give the validator its CA with NODE_EXTRA_CA_CERTS`, false);
  }
  // Node's fetch refuses the Fetch standard's blocked ports before connecting; the gateway refuses such references at the door.
  if ((error as { cause?: { message?: unknown } } | undefined)?.cause?.message === 'bad port') {
    return new PullRefusedError('REGISTRY_ERROR', `${host} is on a port the Fetch standard blocks (as browsers do): no request of Orbit's can reach it; serve ${elsewhere ? 'it' : 'the registry'} on another port`, false);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    // ORBIT_INSECURE_REGISTRIES makes Orbit ask the registry over plain HTTP; where the registry points, it says itself (https://).
    return new PullRefusedError('REGISTRY_ERROR', elsewhere
      ? `${host} does not speak HTTPS (${code}), though ${registry} named it with https://: the registry's redirect or storage address is misconfigured (ORBIT_INSECURE_REGISTRIES does not change where it points)`
      : `${registry} does not speak HTTPS (${code}); if it serves plain HTTP, list it in ORBIT_INSECURE_REGISTRIES`, false);
  }
  return undefined;
}

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

/**
 * Aborts `request` when `stop` is (or is already) aborted, until the returned unlink is called. Not AbortSignal.any:
 * on Node 20 every signal made from a long-lived one stays in its set of dependants for the life of the process
 * (nodejs/node#55351), a few dozen bytes per request of a consumer that runs for weeks (found by a review).
 */
function abortedWith(stop: AbortSignal | undefined, request: AbortController): () => void {
  if (stop === undefined) return () => undefined;
  if (stop.aborted) {
    request.abort(stop.reason);
    return () => undefined;
  }
  const abort = (): void => request.abort(stop.reason);
  stop.addEventListener('abort', abort, { once: true });
  return () => stop.removeEventListener('abort', abort);
}

/** Registries and containerd refuse manifests over 4 MiB; the OCI distribution spec asks clients to take at least that. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** How long a blob upload may move nothing before the registry counts as gone: undici's own body timeout. */
const UPLOAD_IDLE_MS = 300_000;
/** A token answer is a few kilobytes of JSON; a megabyte leaves room for any JWT a registry hands out. */
const MAX_TOKEN_ANSWER_BYTES = 1024 * 1024;

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

/** What the client hands its fetch: a URL and these, never a Request (a fetch of another undici than Node's fits). */
export interface RegistryFetchInit {
  readonly method?: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer | string | undefined;
  readonly signal: AbortSignal;
  readonly redirect: 'manual';
}

/** A small answer read whole: its bytes (null past the limit asked) and its Docker-Content-Digest header (null when absent). */
export interface BoundedAnswer {
  readonly bytes: Buffer | null;
  readonly contentDigest: string | null;
}

export type RegistryFetch = (url: URL, init: RegistryFetchInit) => Promise<Response>;

/** A request body: bytes, which can be sent again after a challenge, or a stream of them (piped through node:http(s), see sendStreamed), which cannot. */
export type RegistryRequestBody = Buffer | AsyncIterable<Uint8Array>;

export interface RegistryRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: RegistryRequestBody;
}

/**
 * A minimal OCI distribution API client: GET manifests and blobs for pulls,
 * any request for pushes, answering Bearer and Basic challenges once per scope.
 */
export class RegistryClient {
  /** What each origin's own challenge earned (the registry's, or a host it redirects to that asked too): sent there only. */
  private readonly authorizations = new Map<string, string>();
  /** The credential helper's answer: one run per client, as one docker pull or push asks once. */
  private asked: Promise<Credentials | undefined> | undefined;
  private readonly fetchImpl: RegistryFetch;
  readonly base: string;
  /** The registry's own origin: the only one its token and its challenges are for. */
  private readonly origin: string;
  /** The registry's `host:port` as a URL writes it: an answer from any other came by a redirect. */
  private readonly host: string;
  /** Some request of this client got an HTTP answer: a connection that breaks later is a registry struggling, not one that is not there. */
  private answeredOnce = false;

  constructor(private readonly options: RegistryClientOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.base = `${options.insecure ? 'http' : 'https'}://${options.registry}/v2/${options.repository}`;
    this.origin = new URL(this.base).origin;
    this.host = new URL(this.base).host;
  }

  /** How long an answer may keep the client waiting: for its headers, for a small answer whole, or between two chunks of a blob. */
  get answerTimeoutMs(): number {
    return this.options.answerTimeoutMs ?? 30_000;
  }

  /** Bytes a blob download must bring in each answerTimeoutMs. */
  get minBlobBytesPerWindow(): number {
    return Math.ceil(((this.options.minBlobBytesPerSecond ?? 8192) * this.answerTimeoutMs) / 1000);
  }

  /** `registry/repository`, as a person would write it. */
  get repositoryName(): string {
    return `${this.options.registry}/${this.options.repository}`;
  }

  /**
   * A GET answered 2xx, else the refusal or outage the answer is, naming the
   * host that gave it (the registry, or the storage a blob redirect points
   * to) and quoting what it said.
   */
  async get(path: string, accept?: string): Promise<Response> {
    const asked: RegistryRequest = { method: 'GET', headers: accept ? { accept } : {} };
    let { response, answeredBy } = await this.exchange(path, asked);
    if ((response.status === 401 || response.status === 403) && this.isElsewhere(answeredBy)) {
      // A presigned URL may have expired before it was used (a registry or cache that keeps its redirects, a clock off): a fresh one is asked for once.
      await response.body?.cancel();
      ({ response, answeredBy } = await this.exchange(path, asked));
    }
    if (response.ok) return response;
    throw await this.refusalOf(path, response, answeredBy);
  }

  /** `at` when it is on another host than the registry's (where a redirect or an upload Location sent Orbit); else undefined. */
  private sentElsewhere(at: URL): URL | undefined {
    return this.isElsewhere(at) ? at : undefined;
  }

  /** Whether an answer came from another host than the registry: one a redirect led to. */
  private isElsewhere(answeredBy: URL): boolean {
    return answeredBy.host !== this.host;
  }

  /** Why a GET was not served: the host that answered, what it said, and what would mend it. */
  private async refusalOf(path: string, response: Response, answeredBy: URL): Promise<PullRefusedError | RegistryUnavailableError> {
    const { registry, repository } = this.options;
    const what = this.nameOf(path);
    const storage = this.isElsewhere(answeredBy) ? answeredBy.host : undefined;
    if (response.status === 429 || response.status >= 500) return unavailableAnswer(registry, response, storage === undefined ? what : `${what} at ${storage}, where ${registry} redirected it`);
    const { text, structured } = await wordsOf(response);
    const says = text === '' ? '' : `: ${text}`;
    // A 404's own text ("not found", a web page) adds nothing; the spec's code tells NAME_UNKNOWN from MANIFEST_UNKNOWN.
    if (response.status === 404) return new PullRefusedError('REFERENCE_NOT_FOUND', `${what} was not found${storage === undefined ? '' : ` at ${storage}, where ${registry} redirected it`}${structured ? says : ''}`);
    if (storage !== undefined) return this.storageRefusal(storage, what, response.status, says);
    if (response.status === 401 || response.status === 403) {
      return new PullRefusedError('REGISTRY_UNAUTHORIZED', `${registry} refused access to ${repository} (${response.status})${says}${await this.withoutCredentials()}`);
    }
    return new PullRefusedError('REGISTRY_ERROR', `${registry} answered ${response.status} for ${path}${says}`);
  }

  /**
   * A 4xx from the storage a blob redirect led to: the registry's storage
   * misbehaving, not the registry refusing Orbit. A 401/403 there (asked
   * twice, see get) is no matter of Orbit's credentials, which never go there.
   */
  private storageRefusal(storage: string, what: string, status: number, says: string): PullRefusedError {
    const { registry } = this.options;
    if (status === 401 || status === 403) {
      return new PullRefusedError('REGISTRY_ERROR', `${storage}, the storage ${registry} redirected ${what} to, refused it (${status}${says}), with a fresh redirect too: that host does not take the address the registry hands out (an expired presigned URL, storage the registry cannot read, a host wanting credentials of its own); a fault of the registry's storage, not of Orbit's credentials, which go to ${registry} only`);
    }
    return new PullRefusedError('REGISTRY_ERROR', `${storage}, the storage ${registry} redirected ${what} to, answered ${status}${says}`);
  }

  /** The end of a refusal when Orbit holds no credentials for the registry (none given, or its helper had none): where to give them. */
  private async withoutCredentials(): Promise<string> {
    const configured = this.options.credentials;
    let held: Credentials | null | undefined = typeof configured === 'function' ? null : configured;
    // A helper not yet run is not run for this (it may well have some); one that failed was named by its own refusal.
    if (typeof configured === 'function' && this.asked !== undefined) held = await this.asked.catch(() => null);
    if (held !== undefined) return '';
    return `; Orbit has no credentials for ${this.options.registry}: give them in ORBIT_REGISTRY_CREDENTIALS or ORBIT_REGISTRY_AUTH_FILE`;
  }

  /** What a path is for, as a person writes it: `registry/repo:tag`, `registry/repo@sha256:…`, or a blob of the repository. */
  private nameOf(path: string): string {
    const [, kind, reference = ''] = /^\/(manifests|blobs)\/(.*)$/.exec(path) ?? [];
    if (kind === 'blobs') return `blob ${reference} of ${this.repositoryName}`;
    if (kind === 'manifests') return `${this.repositoryName}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
    return `${this.repositoryName}${path}`;
  }

  /**
   * A small answer (a manifest) read whole, up to `maxBytes` (null past
   * them), within the answer timeout: a registry that sends the headers and
   * then stalls, or drops the connection half way, is unavailable, so the
   * pull is tried again.
   */
  async getBounded(path: string, accept: string, maxBytes: number): Promise<Buffer | null> {
    return (await this.getBoundedAnswer(path, accept, maxBytes)).bytes;
  }

  /** getBounded, with the digest the registry says the body has (a manifest's, to check against the bytes: see requireContentDigest). */
  async getBoundedAnswer(path: string, accept: string, maxBytes: number): Promise<BoundedAnswer> {
    const response = await this.get(path, accept);
    const contentDigest = response.headers.get('docker-content-digest');
    const timeoutMs = this.answerTimeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      return { bytes: await readCapped(response, maxBytes, deadline), contentDigest };
    } catch (error) {
      throw new RegistryUnavailableError(this.options.registry, deadline.aborted ? new Error(`${path} did not arrive whole within ${timeoutMs / 1000} s`) : error, true);
    }
  }

  /**
   * Any request, its answer as it came (the caller reads the status), after
   * one challenge answered. `target`: a path below the repository
   * (`/blobs/uploads/`), or a Location the registry gave (an absolute path
   * or URL). A streamed body cannot be sent twice, so it goes only where a
   * token was already fetched; a 401 then means the token expired mid-push,
   * and the push is tried again later.
   */
  async request(target: string, request: RegistryRequest): Promise<Response> {
    return (await this.exchange(target, request)).response;
  }

  /** A request (see request), its answer and the place that gave it. */
  private async exchange(target: string, request: RegistryRequest): Promise<{ response: Response; answeredBy: URL }> {
    const url = this.resolve(target);
    const streamed = request.body !== undefined && !Buffer.isBuffer(request.body);
    // Each origin's challenge is answered once per request: the registry's token may have expired, a push may need a
    // wider one, and a host it redirects to (a renamed registry, a gateway) may want a token of its own.
    const challenged = new Set<string>();
    for (;;) {
      const { response, answeredBy } = await this.send(url, request);
      const challenge = challengeIn(response);
      // A 401 and then a 403 insufficient_scope from one origin are two questions (a token, then a wider one).
      const question = `${response.status} ${answeredBy.origin}`;
      if (challenge === undefined || challenged.has(question)) return { response, answeredBy };
      const own = answeredBy.origin === this.origin;
      // Another host's Basic challenge is the caller's to read: the registry's password goes to the registry only.
      if (!own && challenge?.scheme !== 'bearer') return { response, answeredBy };
      if (challenge === null) {
        await response.body?.cancel();
        throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${this.options.registry} wants authentication it does not describe`);
      }
      challenged.add(question);
      await response.body?.cancel();
      if (streamed) throw new RegistryUnavailableError(this.options.registry, new Error(`${this.options.registry} refused a token it had issued during the upload (expired?)`), true);
      await this.authenticate(challenge, answeredBy);
    }
  }

  /**
   * Where an answer's Location points, as an absolute URL: resolved against
   * the URL `asked` as RFC 3986 says (a registry may answer `/upload/x` or a
   * bare `x`); null without one. An upload sent from HTTPS down to plain
   * HTTP would put the image's bytes on the wire in clear: refused.
   */
  locationFrom(answer: Response, asked: string): string | null {
    const location = answer.headers.get('location');
    if (location === null || location === '') return null;
    return this.placeOf(this.resolve(asked), location, {
      unreadable: 'answered with Location', downgrade: (host) => `sent an upload from HTTPS to plain HTTP (${host}); Orbit does not send image bytes in clear`,
    }).href;
  }

  /**
   * Where `location` points from `from` (RFC 3986), refused when it is no
   * http(s) URL or goes from HTTPS down to plain HTTP: a redirect followed or
   * an upload sent there would cross in clear.
   */
  private placeOf(from: URL, location: string, words: { readonly unreadable: string; readonly downgrade: (host: string) => string }): URL {
    const to = URL.canParse(location, from.href) ? new URL(location, from) : null;
    if (to === null || (to.protocol !== 'http:' && to.protocol !== 'https:')) {
      throw new PullRefusedError('REGISTRY_ERROR', `${this.options.registry} ${words.unreadable} "${location.slice(0, 200)}", which is not an http(s) URL`);
    }
    if (from.protocol === 'https:' && to.protocol === 'http:') throw new PullRefusedError('REGISTRY_ERROR', `${this.options.registry} ${words.downgrade(to.host)}`);
    return to;
  }

  private resolve(target: string): URL {
    if (/^https?:\/\//i.test(target)) return new URL(target);
    if (target.startsWith('/v2/')) return new URL(target, this.base);
    return new URL(`${this.base}${target}`);
  }

  /** The answer, and the place that gave it (a read may have been redirected to another host). */
  private async send(url: URL, request: RegistryRequest): Promise<{ response: Response; answeredBy: URL }> {
    const headers: Record<string, string> = { ...request.headers };
    // Credentials go only where they were earned: an upload Location on another host (storage, a CDN) never gets the registry's.
    const authorization = this.authorizations.get(url.origin);
    if (authorization) headers['authorization'] = authorization;
    if (request.body !== undefined && !Buffer.isBuffer(request.body)) return { response: await this.sendStreamed(url, request.method, headers, request.body), answeredBy: url };
    // A registry that takes the connection and never answers would otherwise hold the pull for undici's 300 s.
    const unanswered = new AbortController();
    const timeoutMs = this.answerTimeoutMs;
    const timer = setTimeout(() => unanswered.abort(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const unlink = abortedWith(this.options.signal, unanswered);
    const { signal } = unanswered;
    const reads = request.method === 'GET' || request.method === 'HEAD';
    // Where the request is when it fails: a redirect may have led it to another host, the one a refusal must name.
    const hop = { at: url };
    try {
      // Blob GETs may redirect to storage (S3, a CDN), followed here hop by hop; an upload's answers are read, never followed.
      const answer = reads
        ? await this.following(url, { method: request.method, headers, signal }, hop)
        : { response: await this.fetchImpl(url, { method: request.method, headers, body: request.body, signal, redirect: 'manual' }), answeredBy: url };
      this.answeredOnce = true;
      return answer;
    } catch (error) {
      const refused = refusalIn(error);
      if (refused) throw refused;
      if (signal.aborted) throw new RegistryUnavailableError(this.options.registry, signal.reason, this.answeredOnce);
      throw connectionRefusal(this.options.registry, error, this.sentElsewhere(hop.at)) ?? new RegistryUnavailableError(this.options.registry, error, this.answeredOnce);
    } finally {
      clearTimeout(timer);
      unlink();
    }
  }

  /**
   * A read, following redirects one at a time: each place is checked before
   * it is asked (checkTarget, no downgrade to plain HTTP), the registry's
   * credentials go to the registry only, and a loop ends as the registry's
   * error, not as an outage to wait out.
   */
  private async following(url: URL, init: { method: string; headers: Record<string, string>; signal: AbortSignal }, hop: { at: URL }): Promise<{ response: Response; answeredBy: URL }> {
    let target = url;
    for (let hops = 0; ; hops += 1) {
      hop.at = target;
      const headers = { ...init.headers };
      delete headers['authorization'];
      // Presigned storage refuses a second auth mechanism, so a hop gets only what its own origin earned.
      const authorization = this.authorizations.get(target.origin);
      if (authorization) headers['authorization'] = authorization;
      const response = await this.fetchImpl(target, { method: init.method, headers, signal: init.signal, redirect: 'manual' });
      // The registry answered (a redirect): storage that then fails to connect is no sign that no registry is there.
      this.answeredOnce = true;
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || location === null) return { response, answeredBy: target };
      await response.body?.cancel();
      if (hops === MAX_REDIRECTS) throw new PullRefusedError('REGISTRY_ERROR', `${this.options.registry} redirected ${url.pathname} more than ${MAX_REDIRECTS} times (a loop?)`);
      target = await this.redirectTarget(target, location);
    }
  }

  private async redirectTarget(from: URL, location: string): Promise<URL> {
    const to = this.placeOf(from, location, { unreadable: 'redirected to', downgrade: (host) => `redirected from HTTPS to plain HTTP (${host}); Orbit does not follow a downgrade` });
    await this.options.checkTarget?.(to);
    return to;
  }

  /**
   * A streamed body (a blob upload) goes through node:http(s), not fetch:
   * Node's fetch (and undici's) reads a streamed body as fast as it can,
   * whatever the socket takes, so a 1 GiB blob to a registry slower than the
   * disk held about 1 GiB of memory; a piped request waits for the socket.
   * Its answer (a few headers, a small body) is handed back as a Response.
   * No answer timeout (the answer comes only once all of the body is sent),
   * but a connection that moves nothing for UPLOAD_IDLE_MS is given up.
   */
  private sendStreamed(url: URL, method: RegistryRequest['method'], headers: Record<string, string>, body: AsyncIterable<Uint8Array>): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      const failed = (error: unknown): void => reject(connectionRefusal(this.options.registry, { cause: error }, this.sentElsewhere(url)) ?? new RegistryUnavailableError(this.options.registry, error));
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const outgoing = send(url, { method, headers }, (answer) => {
        const chunks: Buffer[] = [];
        let length = 0;
        answer.on('data', (chunk: Buffer) => {
          length += chunk.length;
          // An upload's answer is an error document at most; what goes past that is not kept.
          if (length <= MAX_TOKEN_ANSWER_BYTES) chunks.push(chunk);
        });
        answer.on('error', failed);
        answer.on('end', () => {
          const answerHeaders = new Headers();
          for (const [name, value] of Object.entries(answer.headers)) {
            for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) answerHeaders.append(name, one);
          }
          const status = answer.statusCode ?? 502;
          const empty = status === 204 || status === 205 || status === 304;
          resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: answerHeaders }));
        });
      });
      outgoing.setTimeout(UPLOAD_IDLE_MS, () => outgoing.destroy(new Error(`nothing moved for ${UPLOAD_IDLE_MS / 1000} s`)));
      outgoing.on('error', failed);
      pipeline(Readable.from(body), outgoing).catch(failed);
    });
  }

  private credentials(): Promise<Credentials | undefined> {
    const configured = this.options.credentials;
    if (typeof configured !== 'function') return Promise.resolve(configured);
    this.asked ??= configured();
    return this.asked;
  }

  /**
   * Earns what `answeredBy`'s origin asked for. The registry's credentials go
   * to its own host (any port or scheme of it: a registry that moved to HTTPS)
   * and to the token services it names; a host it redirects to under another
   * name gets an anonymous token (a gateway in front of public images).
   */
  private async authenticate(challenge: Challenge, answeredBy: URL): Promise<void> {
    const credentials = answeredBy.hostname === new URL(this.origin).hostname ? await this.credentials() : undefined;
    if (challenge.scheme === 'basic') {
      if (!credentials) throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${this.options.registry} needs credentials (Basic)${await this.withoutCredentials()}`);
      if (credentials.identityToken !== undefined && credentials.password === '') {
        throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${this.options.registry} asks for a password (Basic), and its credentials hold only an identity token, which only a token service takes`);
      }
      this.authorizations.set(answeredBy.origin, basicAuthorization(credentials));
      return;
    }
    const realm = challenge.params['realm'];
    if (!realm) throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${this.options.registry} sent a bearer challenge without a realm`);
    const url = URL.canParse(realm) ? new URL(realm) : null;
    if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${this.options.registry} sent a bearer challenge whose realm "${realm.slice(0, 200)}" is not an http(s) URL`);
    }
    // A registry reached over HTTPS that names a plain-HTTP token service would have its credentials, and the token, cross the network in clear.
    if (!this.options.insecure && url.protocol === 'http:') {
      throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${this.options.registry} sent a bearer challenge whose token service ${url.origin} is plain HTTP; Orbit asks for tokens over HTTPS only (list the registry in ORBIT_INSECURE_REGISTRIES if it is a local one)`);
    }
    const service = challenge.params['service'];
    const actions = this.options.actions ?? ['pull'];
    // A push asks for push up front, as docker and containerd do: a registry challenging a HEAD names only pull, and
    // some (icr.io, Keppel) then answer the upload's POST 403 insufficient_scope instead of challenging again.
    const scopes = (challenge.params['scope'] ?? `repository:${this.options.repository}:${actions.join(',')}`).split(' ')
      .filter((scope) => scope !== '').map((scope) => withActions(scope, this.options.repository, actions));
    const identityToken = credentials?.identityToken;
    const tokenRequest: Pick<RegistryFetchInit, 'method' | 'headers' | 'body'> = identityToken === undefined ? { headers: credentials ? { authorization: basicAuthorization(credentials) } : {} } : {
      // An identity token is an OAuth2 refresh token: traded in a form POST (the distribution spec's oauth flow), never sent as a password.
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: identityToken, client_id: 'orbit', ...(service ? { service } : {}), scope: scopes.join(' ') }).toString(),
    };
    if (identityToken === undefined) {
      if (service) url.searchParams.set('service', service);
      // A challenge may name several scopes at once, space-separated (a mount reads one repository and writes
      // another); token services take each as a `scope` parameter of its own, as docker sends them.
      for (const scope of scopes) url.searchParams.append('scope', scope);
    }
    await this.options.checkTarget?.(url);
    const timeoutMs = this.answerTimeoutMs;
    // The token service is asked under the same patience as the registry: one that never answers must not hold the pull.
    const unanswered = new AbortController();
    const timer = setTimeout(() => unanswered.abort(new Error(`token service ${url.host} gave no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const unlink = abortedWith(this.options.signal, unanswered);
    let body: Buffer | null;
    try {
      // Not followed: a token service that redirects would lead the credentials, and Orbit, anywhere.
      const response = await this.fetchImpl(url, { ...tokenRequest, signal: unanswered.signal, redirect: 'manual' });
      // A token service restarting (Harbor's core behind its nginx) or rate limiting is an outage to wait out, not a refusal.
      if (response.status === 429 || response.status >= 500) throw await unavailableAnswer(this.options.registry, response, `token service ${url.host}`);
      if (!response.ok) throw await this.tokenRefusal(url, response, credentials, answeredBy);
      body = await readCapped(response, MAX_TOKEN_ANSWER_BYTES);
    } catch (error) {
      if (error instanceof RegistryUnavailableError) throw error;
      const refused = refusalIn(error);
      if (refused) throw refused;
      throw new RegistryUnavailableError(this.options.registry, unanswered.signal.aborted ? unanswered.signal.reason : error);
    } finally {
      clearTimeout(timer);
      unlink();
    }
    const token = body === null ? undefined : tokenOf(body);
    if (!token) throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `token service ${url.host} returned no token${body === null ? ` (its answer is over ${MAX_TOKEN_ANSWER_BYTES} bytes)` : ''}`);
    this.authorizations.set(answeredBy.origin, `Bearer ${token}`);
  }

  /**
   * A token service's 4xx, quoting it: an identity token refused or not
   * taken, credentials refused, or, when Orbit sent none for the registry
   * (none given), where to give them: an anonymous request refused looks
   * the same as wrong credentials otherwise.
   */
  private async tokenRefusal(url: URL, response: Response, credentials: Credentials | undefined, answeredBy: URL): Promise<PullRefusedError> {
    const says = await registrySays(response);
    const identityToken = credentials?.identityToken !== undefined;
    const how = !identityToken ? '' : response.status === 404 || response.status === 405 ? ', it takes no identity tokens (OAuth2 refresh tokens): give a username and password' : ' for the identity token';
    // A host the registry redirects to is asked anonymously on purpose: Orbit's credentials go to the registry's host only.
    const forRegistry = answeredBy.hostname === new URL(this.origin).hostname;
    const anonymous = forRegistry && credentials === undefined ? await this.withoutCredentials() : '';
    return new PullRefusedError('REGISTRY_UNAUTHORIZED', `token request to ${url.host} failed (${response.status})${how}${says}${anonymous}`);
  }
}

/**
 * What an answer asks to be authenticated with: a 401's challenge (null when
 * it names none Orbit speaks), or a 403 whose Bearer challenge says the token
 * lacks scope; undefined for any other answer.
 */
function challengeIn(response: Response): Challenge | null | undefined {
  if (response.status !== 401 && response.status !== 403) return undefined;
  const challenge = parseChallenge(response.headers.get('www-authenticate')) ?? null;
  if (response.status === 401) return challenge;
  return challenge?.scheme === 'bearer' && challenge.params['error'] === 'insufficient_scope' ? challenge : undefined;
}

/** A challenge's scope, with `actions` added when it is this repository's (`repository:team/app:pull` → `…:pull,push`). */
function withActions(scope: string, repository: string, actions: readonly string[]): string {
  const match = /^(repository(?:\([^)]*\))?):(.+):([^:]*)$/.exec(scope);
  if (!match || match[2] !== repository) return scope;
  const granted = (match[3] ?? '').split(',').filter((action) => action !== '');
  if (granted.includes('*')) return scope;
  return `${match[1]}:${repository}:${[...new Set([...granted, ...actions])].join(',')}`;
}

/** The refusal an error is, or carries as its cause: fetch wraps what a connection check (the fetch's own) threw. */
function refusalIn(error: unknown): PullRefusedError | undefined {
  if (error instanceof PullRefusedError) return error;
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof PullRefusedError ? cause : undefined;
}

/** `token`, or OAuth2's `access_token`, from a token service's JSON answer; undefined when there is none. */
function tokenOf(body: Buffer): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const { token, access_token: accessToken } = (parsed ?? {}) as { token?: unknown; access_token?: unknown };
  const found = typeof token === 'string' && token !== '' ? token : accessToken;
  return typeof found === 'string' && found !== '' ? found : undefined;
}
