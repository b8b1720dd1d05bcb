import type { RegistryFetch } from './client-options.js';
import { connectionRefusal } from './connection-refusal.js';
import { PullRefusedError, refusalIn } from './registry-errors.js';

/** Redirects a read follows (as docker and containerd do), at most MAX_REDIRECTS in a row. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/** What following a read's redirects needs of its client. */
export interface RedirectFollowing {
  readonly registry: string;
  readonly fetch: RegistryFetch;
  /** What `origin`'s own challenge earned, if it asked. */
  authorizationFor(origin: string): string | undefined;
  /** See RegistryClientOptions.checkTarget. */
  readonly checkTarget?: ((url: URL) => Promise<void>) | undefined;
  /** Told of every answer, a redirect too. */
  answered(): void;
}

/**
 * A read, following redirects one at a time: each place is checked before
 * it is asked (checkTarget, no downgrade to plain HTTP), the registry's
 * credentials go to the registry only, and a loop ends as the registry's
 * error, not as an outage to wait out. `hop.at`: where the read is, for the
 * refusal of a connection that fails on the way.
 */
export async function following(
  url: URL, init: { method: string; headers: Record<string, string>; signal: AbortSignal }, hop: { at: URL }, client: RedirectFollowing,
): Promise<{ response: Response; answeredBy: URL }> {
  let target = url;
  for (let hops = 0; ; hops += 1) {
    hop.at = target;
    const headers = { ...init.headers };
    delete headers['authorization'];
    // Presigned storage refuses a second auth mechanism, so a hop gets only what its own origin earned.
    const authorization = client.authorizationFor(target.origin);
    if (authorization) headers['authorization'] = authorization;
    const response = await client.fetch(target, { method: init.method, headers, signal: init.signal, redirect: 'manual' })
      .catch((error: unknown) => { throw target.host === url.host ? error : unreachedElsewhere(error, target, client.registry, init.signal); });
    // The registry answered (a redirect): storage that then fails to connect is no sign that no registry is there.
    client.answered();
    const location = response.headers.get('location');
    if (!REDIRECT_STATUSES.has(response.status) || location === null) return { response, answeredBy: target };
    await response.body?.cancel();
    if (hops === MAX_REDIRECTS) throw new PullRefusedError('REGISTRY_ERROR', `${client.registry} redirected ${url.pathname} more than ${MAX_REDIRECTS} times (a loop?)`);
    target = await redirectTarget(target, location, client);
  }
}

/**
 * A connection to where the registry sent Orbit that failed, in Orbit's
 * words: how it failed (refused, closed, no HTTP spoken) would tell the
 * registry's owner what listens at the host and port it chose. What Orbit
 * itself refused, a deadline, and what no retry mends (connectionRefusal)
 * pass as they are.
 */
function unreachedElsewhere(error: unknown, target: URL, registry: string, signal: AbortSignal): unknown {
  if (signal.aborted || refusalIn(error) !== undefined) return error;
  return connectionRefusal(registry, error, target) ?? new Error(`could not reach the storage the registry named (${target.host})`);
}

async function redirectTarget(from: URL, location: string, client: RedirectFollowing): Promise<URL> {
  const to = placeOf(client.registry, from, location, { unreadable: 'redirected to', downgrade: (host) => `redirected from HTTPS to plain HTTP (${host}); Orbit does not follow a downgrade` });
  await client.checkTarget?.(to);
  return to;
}

/**
 * Where `location` points from `from` (RFC 3986), refused when it is no
 * http(s) URL or goes from HTTPS down to plain HTTP: a redirect followed or
 * an upload sent there would cross in clear.
 */
export function placeOf(registry: string, from: URL, location: string, words: { readonly unreadable: string; readonly downgrade: (host: string) => string }): URL {
  const to = URL.canParse(location, from.href) ? new URL(location, from) : null;
  if (to === null || (to.protocol !== 'http:' && to.protocol !== 'https:')) {
    throw new PullRefusedError('REGISTRY_ERROR', `${registry} ${words.unreadable} "${location.slice(0, 200)}", which is not an http(s) URL`);
  }
  if (from.protocol === 'https:' && to.protocol === 'http:') throw new PullRefusedError('REGISTRY_ERROR', `${registry} ${words.downgrade(to.host)}`);
  // fetch cannot ask a URL holding credentials, and its TypeError read as the registry not answering (a bug reread).
  if (to.username !== '' || to.password !== '') {
    throw new PullRefusedError('REGISTRY_ERROR', `${registry} ${words.unreadable} a URL on ${to.host} with credentials in it; Orbit does not go there`);
  }
  return to;
}
