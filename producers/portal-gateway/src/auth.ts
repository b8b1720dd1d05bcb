import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { OrbitError, type Actor } from '@orbit/lib';

/** The request carries no valid bearer token (401). */
export class UnauthorizedError extends OrbitError {
  constructor(reason: string) {
    super('ORBIT_ERR_UNAUTHORIZED', reason);
  }
}

export interface Caller {
  readonly actor: Actor;
  readonly roles: readonly string[];
}

export type AuthSettings =
  | { readonly kind: 'hs256'; readonly secret: string; readonly issuer: string; readonly audience: string }
  | { readonly kind: 'jwks'; readonly jwksUrl: string; readonly issuer: string; readonly audience: string };

export type TokenVerifier = (authorization: string | undefined) => Promise<Caller>;

/**
 * Verifies `Authorization: Bearer <JWT>` with jose: HS256 with a shared key
 * (the local default) or RS256/ES256 against a JWKS URL. The actor comes from
 * the token's claims only, never from a request body.
 */
export function tokenVerifier(settings: AuthSettings): TokenVerifier {
  const options = { issuer: settings.issuer, audience: settings.audience };
  const verify: (token: string) => Promise<JWTPayload> =
    settings.kind === 'hs256'
      ? async (token) => (await jwtVerify(token, new TextEncoder().encode(settings.secret), { ...options, algorithms: ['HS256'] })).payload
      : verifyWithJwks(createRemoteJWKSet(new URL(settings.jwksUrl)), options);
  return async (authorization) => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) throw new UnauthorizedError('missing bearer token (Authorization: Bearer <JWT>)');
    let claims: JWTPayload;
    try {
      claims = await verify(match[1]);
    } catch (error) {
      throw new UnauthorizedError(`invalid token: ${(error as { code?: string }).code ?? 'verification failed'}`);
    }
    return callerOf(claims);
  };
}

function verifyWithJwks(keys: JWTVerifyGetKey, options: { issuer: string; audience: string }) {
  return async (token: string): Promise<JWTPayload> => (await jwtVerify(token, keys, { ...options, algorithms: ['RS256', 'ES256'] })).payload;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** Longest user name kept: ViewPort's user columns hold 255 characters, as Harbor's and Artifactory's do. */
export const MAX_USERNAME_CHARACTERS = 255;

export function callerOf(claims: JWTPayload): Caller {
  const username = text(claims['preferred_username']) ?? text(claims.sub);
  if (!username) throw new UnauthorizedError('token names no user (preferred_username or sub)');
  // Refused here, at the door: past it the name would be cut short in one store and refused by another half way through a request.
  const characters = [...username].length;
  if (characters > MAX_USERNAME_CHARACTERS) throw new UnauthorizedError(`token names a user of ${characters} characters; at most ${MAX_USERNAME_CHARACTERS} are supported`);
  const roles = Array.isArray(claims['roles']) ? claims['roles'].filter((role): role is string => typeof role === 'string') : [];
  return {
    actor: { username, firstName: text(claims['given_name']), lastName: text(claims['family_name']), email: text(claims['email']) },
    roles,
  };
}

/** A token for the local stack (`npm run --silent token -- <user> [--role R]`). */
export async function issueLocalToken(settings: { secret: string; issuer: string; audience: string }, username: string, roles: readonly string[], ttlSeconds = 8 * 3600): Promise<string> {
  return new SignJWT({ preferred_username: username, roles: [...roles], email: `${username}@orbit.local` })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(username)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(settings.secret));
}
