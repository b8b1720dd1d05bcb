import { refusalOf } from './answer-refusals.js';
import { answerDeadline } from './answer-deadline.js';
import { readCapped } from './bounded-body.js';
import { answerTimeoutMsOf, type RegistryClientOptions, type RegistryFetch, type RegistryRequest } from './client-options.js';
import { connectionRefusal } from './connection-refusal.js';
import { following, placeOf, type RedirectFollowing } from './redirects.js';
import { challengeIn, RegistryAuth } from './registry-auth.js';
import { PullRefusedError, refusalIn, RegistryUnavailableError } from './registry-errors.js';
import { sendStreamed } from './streamed-upload.js';

/** A small answer read whole: its bytes (null past the limit asked) and its Docker-Content-Digest header (null when absent). */
export interface BoundedAnswer {
  readonly bytes: Buffer | null;
  readonly contentDigest: string | null;
}

/**
 * A minimal OCI distribution API client: GET manifests and blobs for pulls,
 * any request for pushes, answering Bearer and Basic challenges once per scope.
 */
export class RegistryClient {
  private readonly auth: RegistryAuth;
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
    this.auth = new RegistryAuth(options, this.fetchImpl, this.origin);
  }

  /** How long an answer may keep the client waiting: for its headers, for a small answer whole, or between two chunks of a blob. */
  get answerTimeoutMs(): number {
    return answerTimeoutMsOf(this.options);
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
    throw await refusalOf(path, response, {
      registry: this.options.registry, repository: this.options.repository,
      storage: this.isElsewhere(answeredBy) ? answeredBy.host : undefined, withoutCredentials: () => this.auth.withoutCredentials(),
    });
  }

  /** `at` when it is on another host than the registry's (where a redirect or an upload Location sent Orbit); else undefined. */
  private sentElsewhere(at: URL): URL | undefined {
    return this.isElsewhere(at) ? at : undefined;
  }

  /** Whether an answer came from another host than the registry: one a redirect led to. */
  private isElsewhere(answeredBy: URL): boolean {
    return answeredBy.host !== this.host;
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
      await this.auth.authenticate(challenge, answeredBy);
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
    return placeOf(this.options.registry, this.resolve(asked), location, {
      unreadable: 'answered with Location', downgrade: (host) => `sent an upload from HTTPS to plain HTTP (${host}); Orbit does not send image bytes in clear`,
    }).href;
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
    const authorization = this.auth.authorizationFor(url.origin);
    if (authorization) headers['authorization'] = authorization;
    if (request.body !== undefined && !Buffer.isBuffer(request.body)) {
      return { response: await sendStreamed(url, request.method, headers, request.body, { registry: this.options.registry, sentTo: this.sentElsewhere(url) }), answeredBy: url };
    }
    // A registry that takes the connection and never answers would otherwise hold the pull for undici's 300 s.
    const timeoutMs = this.answerTimeoutMs;
    const deadline = answerDeadline(timeoutMs, () => new Error(`no answer within ${timeoutMs / 1000} s`), this.options.signal);
    const { signal } = deadline;
    const reads = request.method === 'GET' || request.method === 'HEAD';
    // Where the request is when it fails: a redirect may have led it to another host, the one a refusal must name.
    const hop = { at: url };
    try {
      // Blob GETs may redirect to storage (S3, a CDN), followed here hop by hop; an upload's answers are read, never followed.
      const answer = reads
        ? await following(url, { method: request.method, headers, signal }, hop, this.redirectFollowing())
        : { response: await this.fetchImpl(url, { method: request.method, headers, body: request.body, signal, redirect: 'manual' }), answeredBy: url };
      this.answeredOnce = true;
      return answer;
    } catch (error) {
      const refused = refusalIn(error);
      if (refused) throw refused;
      if (signal.aborted) throw new RegistryUnavailableError(this.options.registry, signal.reason, this.answeredOnce);
      throw connectionRefusal(this.options.registry, error, this.sentElsewhere(hop.at)) ?? new RegistryUnavailableError(this.options.registry, error, this.answeredOnce);
    } finally {
      deadline.end();
    }
  }

  /** What following a read's redirects needs of this client. */
  private redirectFollowing(): RedirectFollowing {
    return {
      registry: this.options.registry, fetch: this.fetchImpl, checkTarget: this.options.checkTarget,
      authorizationFor: (origin) => this.auth.authorizationFor(origin),
      answered: () => { this.answeredOnce = true; },
    };
  }
}
