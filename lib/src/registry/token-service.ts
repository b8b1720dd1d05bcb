import { answerDeadline } from './answer-deadline.js';
import { isDockerHub } from './docker-hub.js';
import { basicAuthorization, type Challenge, type Credentials } from './auth.js';
import { MAX_TOKEN_ANSWER_BYTES, readCapped } from './bounded-body.js';
import type { RegistryClientOptions, RegistryFetch, RegistryFetchInit } from './client-options.js';
import { errorCodesOf, unavailableElsewhere } from './error-codes.js';
import { PullRefusedError, refusalIn, RegistryUnavailableError, unavailableAnswer } from './registry-errors.js';
import { registrySays } from './registry-words.js';

/** What asking a token service needs of its client. */
export interface TokenAsking {
  readonly options: Pick<RegistryClientOptions, 'registry' | 'repository' | 'insecure' | 'actions' | 'checkTarget' | 'signal'>;
  readonly fetch: RegistryFetch;
  readonly answerTimeoutMs: number;
  /** Whether the challenge came from the registry's own host, not one it redirected to (asked anonymously on purpose). */
  readonly forRegistry: boolean;
  /** The end of a refusal when Orbit holds no credentials for the registry. */
  withoutCredentials(): Promise<string>;
}

/**
 * The token a Bearer challenge's realm hands out for its scope, asked with
 * `credentials` (none: an anonymous token). Refused with
 * REGISTRY_UNAUTHORIZED when the challenge or the token service is not one
 * Orbit can use; unavailable when the token service is down or silent.
 */
export async function bearerToken(challenge: Challenge, credentials: Credentials | undefined, asking: TokenAsking): Promise<string> {
  const { registry, repository } = asking.options;
  const url = realmOf(challenge, asking.options);
  const service = challenge.params['service'];
  const actions = asking.options.actions ?? ['pull'];
  // A push asks for push up front, as docker and containerd do: a registry challenging a HEAD names only pull, and
  // some (icr.io, Keppel) then answer the upload's POST 403 insufficient_scope instead of challenging again.
  const scopes = (challenge.params['scope'] ?? `repository:${repository}:${actions.join(',')}`).split(' ')
    .filter((scope) => scope !== '').map((scope) => withActions(scope, repository, actions));
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
  await asking.options.checkTarget?.(url);
  const own = onRegistryOrigin(url, asking.options);
  const named = own ? `token service ${url.host}` : `the token service the registry named (${url.host})`;
  const timeoutMs = asking.answerTimeoutMs;
  // The token service is asked under the same patience as the registry: one that never answers must not hold the pull.
  const deadline = answerDeadline(timeoutMs, () => new Error(`${named} gave no answer within ${timeoutMs / 1000} s`), asking.options.signal);
  let body: Buffer | null;
  try {
    // Not followed: a token service that redirects would lead the credentials, and Orbit, anywhere.
    const response = await asking.fetch(url, { ...tokenRequest, signal: deadline.signal, redirect: 'manual' });
    // A token service restarting (Harbor's core behind its nginx) or rate limiting is an outage to wait out, not a refusal.
    if (response.status === 429 || response.status >= 500) throw await (own ? unavailableAnswer(registry, response, named) : unavailableElsewhere(registry, response, named));
    if (!response.ok) throw await tokenRefusal(url, response, credentials, asking, own);
    body = await readCapped(response, MAX_TOKEN_ANSWER_BYTES);
  } catch (error) {
    if (error instanceof RegistryUnavailableError) throw error;
    const refused = refusalIn(error);
    if (refused) throw refused;
    if (deadline.signal.aborted) throw new RegistryUnavailableError(registry, deadline.signal.reason);
    // How a connection elsewhere failed (refused, closed, no HTTP) would map the registry's choice of host and port for it.
    throw new RegistryUnavailableError(registry, own ? error : new Error(`could not reach ${named}`));
  } finally {
    deadline.end();
  }
  const token = body === null ? undefined : tokenOf(body);
  if (!token) throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${named} returned no token${body === null ? ` (its answer is over ${MAX_TOKEN_ANSWER_BYTES} bytes)` : ''}`);
  return token;
}

/** Docker Hub's token service: the one whose words are its registry's though it is on another origin. */
const DOCKER_HUB_TOKEN_SERVICE = 'https://auth.docker.io';

/**
 * Whether the token service is the registry's own (Harbor's /service/token and ghcr.io/token on the registry's origin;
 * Docker Hub's auth.docker.io, named outright): only then are its words the registry's to quote. A realm elsewhere is
 * a place the registry chose, and it may be one inside Orbit's network (see errorCodesOf). Not "under one domain": the
 * last labels of a name are no registrable domain (two tenants of *.azurecr.io or *.github.io share them).
 */
export function onRegistryOrigin(url: URL, { registry, insecure }: Pick<RegistryClientOptions, 'registry' | 'insecure'>): boolean {
  if (url.origin === new URL(`${insecure ? 'http' : 'https'}://${registry}`).origin) return true;
  return isDockerHub(registry) && url.origin === DOCKER_HUB_TOKEN_SERVICE;
}

/** The challenge's realm as the token service's URL, refused when it is none Orbit may ask. */
function realmOf(challenge: Challenge, { registry, insecure }: Pick<RegistryClientOptions, 'registry' | 'insecure'>): URL {
  const realm = challenge.params['realm'];
  if (!realm) throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${registry} sent a bearer challenge without a realm`);
  const url = URL.canParse(realm) ? new URL(realm) : null;
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${registry} sent a bearer challenge whose realm "${realm.slice(0, 200)}" is not an http(s) URL`);
  }
  // fetch cannot ask a URL holding credentials, and its TypeError read as the registry not answering (a re-probe): every
  // other repository of the registry was then told it was down.
  if (url.username !== '' || url.password !== '') {
    throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${registry} sent a bearer challenge whose realm ${url.host} has credentials in its URL; a token service is asked with Orbit's credentials for the registry, never ones a challenge names`);
  }
  // A registry reached over HTTPS that names a plain-HTTP token service would have its credentials, and the token, cross the network in clear.
  if (!insecure && url.protocol === 'http:') {
    throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${registry} sent a bearer challenge whose token service ${url.origin} is plain HTTP; Orbit asks for tokens over HTTPS only (list the registry in ORBIT_INSECURE_REGISTRIES if it is a local one)`);
  }
  return url;
}

/**
 * A token service's 4xx, quoting it when it is the registry's own origin
 * (else by its status and error code alone): an identity token refused or not
 * taken, credentials refused, or, when Orbit sent none for the registry
 * (none given), where to give them: an anonymous request refused looks
 * the same as wrong credentials otherwise.
 */
async function tokenRefusal(url: URL, response: Response, credentials: Credentials | undefined, asking: TokenAsking, own: boolean): Promise<PullRefusedError> {
  const identityToken = credentials?.identityToken !== undefined;
  const how = !identityToken ? '' : response.status === 404 || response.status === 405 ? ', it takes no identity tokens (OAuth2 refresh tokens): give a username and password' : ' for the identity token';
  // A host the registry redirects to is asked anonymously on purpose: Orbit's credentials go to the registry's host only.
  const anonymous = asking.forRegistry && credentials === undefined ? await asking.withoutCredentials() : '';
  if (!own) {
    return new PullRefusedError('REGISTRY_UNAUTHORIZED', `the token service the registry named (${url.host}) refused the token request (${response.status}${await errorCodesOf(response)})${how}${anonymous}`);
  }
  return new PullRefusedError('REGISTRY_UNAUTHORIZED', `token request to ${url.host} failed (${response.status})${how}${await registrySays(response)}${anonymous}`);
}

/** A challenge's scope, with `actions` added when it is this repository's (`repository:team/app:pull` → `…:pull,push`). */
function withActions(scope: string, repository: string, actions: readonly string[]): string {
  const match = /^(repository(?:\([^)]*\))?):(.+):([^:]*)$/.exec(scope);
  if (!match || match[2] !== repository) return scope;
  const granted = (match[3] ?? '').split(',').filter((action) => action !== '');
  if (granted.includes('*')) return scope;
  return `${match[1]}:${repository}:${[...new Set([...granted, ...actions])].join(',')}`;
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
