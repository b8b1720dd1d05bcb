import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type CryptoKey, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { isWellFormedText, OrbitError, StoreUnavailableError, type Actor } from '@orbit/lib';

/** The request carries no valid bearer token (401). */
export class UnauthorizedError extends OrbitError {
  /** `tokenSent`: a token came and was refused (RFC 6750's invalid_token), rather than none at all. */
  constructor(reason: string, readonly tokenSent = false, readonly basicOffered = false) {
    super('ORBIT_ERR_UNAUTHORIZED', reason);
  }

  /** The same refusal where the token is taken as a Basic password too (the Helm repositories). */
  offeringBasic(): UnauthorizedError {
    return new UnauthorizedError(this.message, this.tokenSent, true);
  }

  /** The WWW-Authenticate challenge every 401 carries (RFC 9110 §11.6.1), saying what was wrong with a token that came. */
  get challenge(): string {
    if (!this.tokenSent) return 'Bearer realm="orbit"';
    // RFC 6750 §3: the description is printable ASCII without `"` or `\`. Node refuses a header holding anything past
    // Latin-1, and the 401 then went out as a bare `{}`; the body keeps the message whole.
    return `Bearer realm="orbit", error="invalid_token", error_description="${this.message.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/gu, '?')}"`;
  }

  /**
   * The WWW-Authenticate header: every challenge, one header line each. Where Basic is taken it comes first: clients that send a user name and
   * password only once challenged for them (curl --anyauth, Java's HTTP clients in Nexus and Artifactory
   * proxies) never send them to a Bearer challenge alone.
   */
  get wwwAuthenticate(): string | string[] {
    return this.basicOffered ? ['Basic realm="orbit", charset="UTF-8"', this.challenge] : this.challenge;
  }
}

export interface Caller {
  readonly actor: Actor;
  readonly roles: readonly string[];
}

/**
 * Where identity providers put roles: a plain `roles` array (Orbit's own
 * tokens, Entra ID app roles), Keycloak's realm roles, and Keycloak's roles
 * of the client the token is for.
 */
export const DEFAULT_ROLES_CLAIMS = ['roles', 'realm_access.roles', 'resource_access.{audience}.roles'] as const;

/**
 * Which claims name the user, the first one present winning: what people log
 * in with, else the provider's subject. A provider whose `preferred_username`
 * may change or be reused (Entra ID says not to authorize by it) is better
 * named by `sub` or `oid`, as Harbor's OIDC "username claim" setting allows.
 */
export const DEFAULT_USERNAME_CLAIMS = ['preferred_username', 'sub'] as const;

interface CommonSettings {
  /** `iss` taken: one, or any of several (Google signs as accounts.google.com and as https://accounts.google.com). */
  readonly issuer: string | readonly string[];
  /** `aud` taken: one, or any of several (Entra v1 tokens name the App ID URI or the app's GUID, by client). */
  readonly audience: string | readonly string[];
  /** Dotted claim paths that hold roles; `{audience}` is each audience in turn. @default DEFAULT_ROLES_CLAIMS */
  readonly rolesClaims?: readonly string[];
  /** Claim names tried in order for the user name. @default DEFAULT_USERNAME_CLAIMS */
  readonly usernameClaims?: readonly string[];
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat` (an identity provider's clock is not the gateway's). @default 60 */
  readonly clockToleranceSeconds?: number;
}

export type AuthSettings =
  | CommonSettings & { readonly kind: 'hs256'; readonly secret: string }
  | CommonSettings & { readonly kind: 'jwks'; readonly jwksUrl: string };

export type TokenVerifier = (authorization: string | undefined) => Promise<Caller>;

/**
 * Verifies `Authorization: Bearer <JWT>` with jose: HS256 with a shared key
 * (the local default) or an asymmetric algorithm against a JWKS URL. The actor comes from
 * the token's claims only, never from a request body.
 */
export function tokenVerifier(settings: AuthSettings): TokenVerifier {
  // A token without `exp` would be good for ever, once leaked; every identity provider sets one.
  const clockTolerance = settings.clockToleranceSeconds ?? 60;
  const audiences = listOf(settings.audience);
  const options: ClaimChecks = { issuer: listOf(settings.issuer), audience: audiences, clockTolerance, requiredClaims: ['exp'] };
  const rolePaths = rolePathsOf(settings.rolesClaims ?? DEFAULT_ROLES_CLAIMS, audiences);
  const verify: (token: string) => Promise<JWTPayload> =
    settings.kind === 'hs256'
      ? async (token) => (await jwtVerify(token, new TextEncoder().encode(settings.secret), { ...options, algorithms: ['HS256'] })).payload
      : verifyWithJwks(availableKeys(createRemoteJWKSet(new URL(settings.jwksUrl)), settings.jwksUrl), options);
  return async (authorization) => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) throw new UnauthorizedError('missing bearer token (Authorization: Bearer <JWT>)');
    let claims: JWTPayload;
    try {
      claims = await verify(match[1]);
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      throw new UnauthorizedError(`invalid token: ${(error as { code?: string }).code ?? 'verification failed'}`, true);
    }
    // jose checks `iat` only with maxTokenAge, which would also demand one of every provider. A token issued ahead of
    // our clock by more than the skew is forged or mis-set, and would stay good for longer than its issuer meant.
    if (typeof claims.iat === 'number' && claims.iat > Date.now() / 1000 + clockTolerance) {
      throw new UnauthorizedError(`invalid token: its iat (${new Date(claims.iat * 1000).toISOString()}) is in the future`, true);
    }
    return callerOf(claims, rolePaths, settings.usernameClaims);
  };
}

/** What jwtVerify checks of every token besides its signature. */
interface ClaimChecks {
  readonly issuer: string[];
  readonly audience: string[];
  readonly clockTolerance: number;
  readonly requiredClaims: string[];
}

function listOf(value: string | readonly string[]): string[] {
  return typeof value === 'string' ? [value] : [...value];
}

/**
 * Helm, Argo CD and Flux reach a chart repository with a user name and a
 * password only: `Basic base64(<anything>:<token>)` is read as
 * `Bearer <token>` (what GitLab and ECR do), the user name ignored.
 */
export function bearerOfBasic(authorization: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return authorization;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? authorization : `Bearer ${decoded.slice(colon + 1)}`;
}

/**
 * Every asymmetric JWS algorithm an identity provider may sign with (Keycloak
 * and Entra ID default to RS256, some realms use PS256, ES384 or EdDSA, which
 * RFC 9864 names Ed25519 for that curve alone); never
 * `none` or an HMAC one, which would let a public key act as a shared secret.
 */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/**
 * The provider's key set could not be had (no answer, not 200, not a key
 * set): the token may well be good, so the answer is 503 to try again, not a
 * 401 that sends a client to log in anew. A token whose key is not in the set
 * is the token's fault, and stays a 401.
 */
function availableKeys(keys: JWTVerifyGetKey, jwksUrl: string): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) throw error;
      throw new StoreUnavailableError(`the identity provider's key set ${jwksUrl}`, error);
    }
  };
}

/**
 * A token without `kid` while the provider publishes two keys of its type (a key being rolled over) matches
 * both, and jose will not guess: each is tried, as jose's documentation advises, rather than refusing every
 * such token until the old key is withdrawn.
 */
function verifyWithJwks(keys: JWTVerifyGetKey, checks: ClaimChecks) {
  const options = { ...checks, algorithms: [...JWKS_ALGORITHMS] };
  return async (token: string): Promise<JWTPayload> => {
    try {
      return (await jwtVerify(token, keys, options)).payload;
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSMultipleMatchingKeys)) throw error;
      return payloadSignedByAny(token, error, options);
    }
  };
}

/** The payload of `token` if one of `candidates` signed it; a claim refused (expired, another audience) is final. */
async function payloadSignedByAny(token: string, candidates: AsyncIterable<CryptoKey>, options: ClaimChecks & { algorithms: string[] }): Promise<JWTPayload> {
  for await (const key of candidates) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (error) {
      if (!(error instanceof joseErrors.JWSSignatureVerificationFailed)) throw error;
    }
  }
  throw new joseErrors.JWSSignatureVerificationFailed();
}

/** A claim's text, or null: none, empty, or not well-formed Unicode (no store keeps that as sent). */
function text(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 && isWellFormedText(value) ? value : null;
}

/** Longest user name kept: ViewPort's user columns hold 255 characters, as Harbor's and Artifactory's do. */
export const MAX_USERNAME_CHARACTERS = 255;
const CONTROL_CHARACTER = /\p{Cc}/u;

/** What makes a name one no user can have: the token refuses it, and a Helm repository's owner path named so is refused too. */
export type UserNameProblem = 'white space at an end' | 'a control character';

/**
 * Why no user can have `name`, or undefined. MySQL compares names ignoring trailing spaces: "ada " would be handed
 * ada's images. Identity providers trim names, so a padded one is a misconfigured or forged claim; a control
 * character is none a person's name holds.
 */
export function userNameProblem(name: string): UserNameProblem | undefined {
  if (name.trim() !== name) return 'white space at an end';
  return CONTROL_CHARACTER.test(name) ? 'a control character' : undefined;
}

/** A configured roles claim: the whole name (Auth0's namespaced `https://example.com/roles`), else its dotted segments. */
interface RolePath {
  readonly whole: string;
  readonly segments: readonly string[];
}

/** Each configured path; one holding `{audience}` once per audience taken, as a token names whichever its client asked for. */
function rolePathsOf(paths: readonly string[], audiences: readonly string[]): RolePath[] {
  const all = paths.flatMap((path) => (path.includes('{audience}') ? audiences.map((audience) => rolePathOf(path, audience)) : [rolePathOf(path, '')]));
  return all.filter((path, index) => all.findIndex((other) => other.whole === path.whole) === index);
}

/** `{audience}` replaces a whole segment after the split: an audience may hold dots itself (api.example.com). */
function rolePathOf(path: string, audience: string): RolePath {
  return { whole: path.replaceAll('{audience}', audience), segments: path.split('.').map((segment) => (segment === '{audience}' ? audience : segment)) };
}

function own(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * Claims that hold a scope: one string of names separated by spaces (RFC 6749 §3.3), as `scope` (RFC 9068: Keycloak,
 * Auth0) and Entra's `scp` send it. Taken whole, "Orbit.Read release-manager" would be a single role nobody has.
 */
const SCOPE_CLAIMS: ReadonlySet<string> = new Set(['scope', 'scp']);

/** The strings at `path` in the claims: an array's strings, or a lone string (some providers send a single role that way; a scope's names). */
function stringsAt(claims: JWTPayload, path: RolePath): string[] {
  const value = own(claims, path.whole) ?? path.segments.reduce<unknown>((at, segment) => own(at, segment), claims);
  if (typeof value === 'string') return (SCOPE_CLAIMS.has(path.segments.at(-1) ?? '') ? value.split(' ') : [value]).filter((name) => name.length > 0);
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string' && item.length > 0) : [];
}

export function callerOf(claims: JWTPayload, rolePaths: readonly RolePath[], usernameClaims: readonly string[] = DEFAULT_USERNAME_CLAIMS): Caller {
  // A token came and was verified, but cannot be used: RFC 6750's invalid_token, as for a bad signature.
  const refuse = (reason: string) => new UnauthorizedError(reason, true);
  const username = usernameClaims.map((claim) => own(claims, claim)).find((value) => typeof value === 'string' && value.length > 0);
  if (typeof username !== 'string') throw refuse(`token names no user (${usernameClaims.join(' or ')})`);
  // Refused here, at the door: past it the name would be cut short in one store and refused by another half way through a request.
  const characters = [...username].length;
  if (characters > MAX_USERNAME_CHARACTERS) throw refuse(`token names a user of ${characters} characters; at most ${MAX_USERNAME_CHARACTERS} are supported`);
  const shape = userNameProblem(username);
  if (shape === 'white space at an end') throw refuse(`token names the user ${JSON.stringify(username)}, with white space at an end; user names are kept exactly and may not start or end with it`);
  if (shape === 'a control character') throw refuse(`token names the user ${JSON.stringify(username)}, holding a control character; user names may not`);
  // Half a surrogate pair: no store keeps it as sent, and the owner's S3 prefix cannot be spelt (a 500 before).
  if (!isWellFormedText(username)) throw refuse(`token names the user ${JSON.stringify(username)}, holding half of a surrogate pair; user names must be well-formed Unicode`);
  const roles = [...new Set(rolePaths.flatMap((path) => stringsAt(claims, path)))];
  return {
    actor: { username, firstName: text(claims['given_name']), lastName: text(claims['family_name']), email: text(claims['email']) },
    roles,
  };
}

/** A token for the local stack (`npm run --silent token -- <user> [--role R]`). */
export async function issueLocalToken(settings: { secret: string; issuer: string | readonly string[]; audience: string | readonly string[] }, username: string, roles: readonly string[], ttlSeconds = 8 * 3600): Promise<string> {
  // Of several taken, the first: a local token needs only be one the gateway takes.
  const [issuer = '', audience = ''] = [listOf(settings.issuer)[0], listOf(settings.audience)[0]];
  return new SignJWT({ preferred_username: username, roles: [...roles], email: `${username}@orbit.local` })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(username)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(settings.secret));
}
