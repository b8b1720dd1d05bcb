import { OrbitError } from '../errors.js';
import { registrySays } from './registry-words.js';

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
 * and, for a 429, how long it asked to wait. `says` words the body as `: …`:
 * quoted from the registry itself, by error code alone from a place it
 * named (errorCodesOf, via unavailableElsewhere).
 */
export async function unavailableAnswer(
  registry: string, response: Response, what: string, says: (response: Response) => Promise<string> = registrySays,
): Promise<RegistryUnavailableError> {
  const words = await says(response);
  const limited = response.status === 429 ? { retryAfterMs: retryAfterMs(response.headers.get('retry-after')) } : undefined;
  return new RegistryUnavailableError(registry, new Error(`${what}: HTTP ${response.status}${words}`), true, limited);
}

/** The refusal an error is, or carries as its cause: fetch wraps what a connection check (the fetch's own) threw. */
export function refusalIn(error: unknown): PullRefusedError | undefined {
  if (error instanceof PullRefusedError) return error;
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof PullRefusedError ? cause : undefined;
}
