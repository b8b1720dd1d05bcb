import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isRetriable, StoreUnavailableError } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { bearerOfBasic, issueLocalToken, tokenVerifier, UnauthorizedError, userNameProblem } from './auth.js';

const settings = { kind: 'hs256' as const, secret: 'a-test-secret-of-enough-length-123456', issuer: 'orbit-local', audience: 'orbit' };
const verify = tokenVerifier(settings);

describe('bearer token verification', () => {
  it('accepts a local token and takes the actor and roles from its claims', async () => {
    const token = await issueLocalToken(settings, 'dev1', ['release-manager']);
    const caller = await verify(`Bearer ${token}`);
    expect(caller.actor.username).toBe('dev1');
    expect(caller.roles).toEqual(['release-manager']);
  });

  it('refuses missing, malformed, expired, foreign and wrongly signed tokens', async () => {
    await expect(verify(undefined)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(verify('Basic abc')).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(verify('Bearer not.a.jwt')).rejects.toBeInstanceOf(UnauthorizedError);
    const expired = await issueLocalToken(settings, 'dev1', [], -120);
    await expect(verify(`Bearer ${expired}`)).rejects.toThrow(/ERR_JWT_EXPIRED/);
    const otherKey = await issueLocalToken({ ...settings, secret: 'another-secret-of-enough-length-9876' }, 'dev1', []);
    await expect(verify(`Bearer ${otherKey}`)).rejects.toBeInstanceOf(UnauthorizedError);
    const otherAudience = await issueLocalToken({ ...settings, audience: 'someone-else' }, 'dev1', []);
    await expect(verify(`Bearer ${otherAudience}`)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('allows a minute of clock skew with the identity provider, and no more', async () => {
    const skewed = (claims: { exp: number; nbf?: number; iat?: number }): Promise<string> => new SignJWT({ preferred_username: 'dev1', ...claims }).setProtectedHeader({ alg: 'HS256' })
      .setIssuer('orbit-local').setAudience('orbit').sign(new TextEncoder().encode(settings.secret));
    const now = Math.floor(Date.now() / 1000);
    // Issued by a provider whose clock runs 30 s ahead (not valid before then here), or just expired by ours.
    expect((await verify(`Bearer ${await skewed({ nbf: now + 30, exp: now + 3600 })}`)).actor.username).toBe('dev1');
    expect((await verify(`Bearer ${await skewed({ exp: now - 30 })}`)).actor.username).toBe('dev1');
    await expect(verify(`Bearer ${await skewed({ nbf: now + 300, exp: now + 3600 })}`)).rejects.toThrow(/ERR_JWT_CLAIM_VALIDATION_FAILED/);
    await expect(tokenVerifier({ ...settings, clockToleranceSeconds: 0 })(`Bearer ${await skewed({ exp: now - 30 })}`)).rejects.toThrow(/ERR_JWT_EXPIRED/);
    // Issued in the future: a provider's clock 30 s ahead passes, a day ahead (a forged or mis-set token, good for longer than its exp says) does not.
    expect((await verify(`Bearer ${await skewed({ iat: now + 30, exp: now + 3600 })}`)).actor.username).toBe('dev1');
    await expect(verify(`Bearer ${await skewed({ iat: now + 86_400, exp: now + 90_000 })}`)).rejects.toThrow(/invalid token: .*iat.*future/);
  });

  it('refuses the "none" algorithm and tokens without a user', async () => {
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`;
    await expect(verify(`Bearer ${unsigned}`)).rejects.toBeInstanceOf(UnauthorizedError);
    const anonymous = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('orbit-local').setAudience('orbit').setExpirationTime('1h')
      .sign(new TextEncoder().encode(settings.secret));
    await expect(verify(`Bearer ${anonymous}`)).rejects.toThrow(/names no user/);
  });

  it('takes user names up to 255 characters (counted as characters, not bytes) and refuses longer ones at the door', async () => {
    const longest = '名'.repeat(255);
    expect((await verify(`Bearer ${await issueLocalToken(settings, longest, [])}`)).actor.username).toBe(longest);
    await expect(verify(`Bearer ${await issueLocalToken(settings, 'u'.repeat(256), [])}`)).rejects.toThrow('token names a user of 256 characters; at most 255 are supported');
  });

  it('names the user by the configured claims, the first present winning, and says which it looked for when none is there', async () => {
    const byOid = tokenVerifier({ ...settings, usernameClaims: ['oid', 'https://orbit.example.com/username'] });
    const sign = (claims: Record<string, unknown>): Promise<string> => new SignJWT({ preferred_username: 'shared-name', sub: 'subject-1', ...claims }).setProtectedHeader({ alg: 'HS256' })
      .setIssuer(settings.issuer).setAudience(settings.audience).setExpirationTime('1h').sign(new TextEncoder().encode(settings.secret));
    expect((await byOid(`Bearer ${await sign({ oid: '9f1c-oid' })}`)).actor.username).toBe('9f1c-oid');
    expect((await byOid(`Bearer ${await sign({ 'https://orbit.example.com/username': 'ada' })}`)).actor.username).toBe('ada');
    await expect(byOid(`Bearer ${await sign({})}`)).rejects.toThrow('token names no user (oid or https://orbit.example.com/username)');
    expect((await verify(`Bearer ${await sign({})}`)).actor.username).toBe('shared-name');
  });

  it('refuses a user name padded with white space or holding a control character, which ViewPort could not tell from another user', async () => {
    for (const padded of ['ada ', ' ada', 'ada\u00a0', 'ada\n']) {
      await expect(verify(`Bearer ${await issueLocalToken(settings, padded, [])}`), JSON.stringify(padded)).rejects.toThrow(/white space at an end/);
    }
    for (const controlled of ['a\u0000da', 'a\u001bda', 'a\u0085da']) {
      await expect(verify(`Bearer ${await issueLocalToken(settings, controlled, [])}`), JSON.stringify(controlled)).rejects.toThrow(/holding a control character/);
    }
    for (const kept of ['ada lovelace', 'ada@example.com', 'Ada', 'ädä', 'CN=Ada,O=Example']) {
      expect((await verify(`Bearer ${await issueLocalToken(settings, kept, [])}`)).actor.username).toBe(kept);
    }
  });

  it('refuses, as an invalid_token, a token naming a user no store can keep, or one that never expires (found by a probe)', async () => {
    // Signed by hand: jose writes the claims as UTF-8, which cannot carry half a surrogate pair; JSON's \\u escapes can.
    const handSigned = (payload: string): string => {
      const head = Buffer.from('{"alg":"HS256"}').toString('base64url');
      const body = Buffer.from(payload).toString('base64url');
      return `${head}.${body}.${createHmac('sha256', settings.secret).update(`${head}.${body}`).digest('base64url')}`;
    };
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const claims = (user: string) => `{"iss":"orbit-local","aud":"orbit","exp":${exp},"preferred_username":${user}}`;
    const refusalOf = async (token: string) => verify(`Bearer ${token}`).then(() => undefined, (error: unknown) => error as UnauthorizedError);
    const surrogate = await refusalOf(handSigned(claims('"dev\\ud800"')));
    expect(surrogate?.message).toMatch(/half of a surrogate pair/);
    // Each token that came and was refused says so in its challenge (RFC 6750 §3.1), whatever the reason.
    const refusals = [surrogate, await refusalOf(handSigned(claims('"ada "'))), await refusalOf(handSigned(claims(`"${'u'.repeat(256)}"`))), await refusalOf(handSigned(claims('""')))];
    for (const refusal of refusals) expect(refusal?.challenge, refusal?.message).toMatch(/^Bearer realm="orbit", error="invalid_token"/);
    expect((await verify(`Bearer ${handSigned(claims('"dev1"'))}`)).actor.username).toBe('dev1');
    const forever = await refusalOf(handSigned('{"iss":"orbit-local","aud":"orbit","preferred_username":"dev1"}'));
    expect(forever?.message).toBe('invalid token: ERR_JWT_CLAIM_VALIDATION_FAILED');
    // An email or given name that is not well-formed text is left out, not stored changed.
    const caller = await verify(`Bearer ${handSigned(`{"iss":"orbit-local","aud":"orbit","exp":${exp},"preferred_username":"dev1","email":"d\\udc00@x","given_name":"Ada"}`)}`);
    expect([caller.actor.email, caller.actor.firstName]).toEqual([null, 'Ada']);
  });

  it('finds roles where identity providers put them: Keycloak realm and client roles, a lone string, a namespaced claim', async () => {
    const audience = 'orbit.example.com';
    const sign = (claims: Record<string, unknown>): Promise<string> => new SignJWT({ preferred_username: 'rm1', ...claims }).setProtectedHeader({ alg: 'HS256' })
      .setIssuer('orbit-local').setAudience(audience).setExpirationTime('1h').sign(new TextEncoder().encode(settings.secret));
    const byDefault = tokenVerifier({ ...settings, audience });
    // Keycloak: realm roles, and the roles of the client the token is for (its id holds dots), not another client's.
    const keycloak = await sign({ realm_access: { roles: ['offline_access', 'release-manager'] }, resource_access: { [audience]: { roles: ['qa'] }, other: { roles: ['admin'] } } });
    expect((await byDefault(`Bearer ${keycloak}`)).roles).toEqual(['offline_access', 'release-manager', 'qa']);
    // One role sent as a string, and nothing taken from non-strings.
    expect((await byDefault(`Bearer ${await sign({ roles: 'release-manager' })}`)).roles).toEqual(['release-manager']);
    expect((await byDefault(`Bearer ${await sign({ roles: [7, null, ''], realm_access: 'x' })}`)).roles).toEqual([]);
    // Auth0 wants custom claims namespaced by a URL: configured by its whole name.
    const auth0 = tokenVerifier({ ...settings, audience, rolesClaims: ['https://orbit.example.com/roles'] });
    const namespaced = await sign({ 'https://orbit.example.com/roles': ['release-manager'], roles: ['ignored'] });
    expect((await auth0(`Bearer ${namespaced}`)).roles).toEqual(['release-manager']);
  });

  it('reads a scope claim (Entra\'s scp, RFC 9068\'s scope) as the space-separated names it holds, each a role', async () => {
    const sign = (claims: Record<string, unknown>): Promise<string> => new SignJWT({ preferred_username: 'rm1', ...claims }).setProtectedHeader({ alg: 'HS256' })
      .setIssuer('orbit-local').setAudience('orbit').setExpirationTime('1h').sign(new TextEncoder().encode(settings.secret));
    const entra = tokenVerifier({ ...settings, rolesClaims: ['scp'] });
    expect((await entra(`Bearer ${await sign({ scp: 'Orbit.Read release-manager' })}`)).roles).toEqual(['Orbit.Read', 'release-manager']);
    const keycloak = tokenVerifier({ ...settings, rolesClaims: ['scope', 'roles'] });
    expect((await keycloak(`Bearer ${await sign({ scope: 'openid  profile', roles: 'release manager' })}`)).roles).toEqual(['openid', 'profile', 'release manager']);
  });

  it('takes any of several issuers and audiences, and Keycloak\'s client roles under each audience', async () => {
    const guid = '6e7a1c44-1f0b-4b7e-9c43-5f1d2e3a4b5c';
    const several = tokenVerifier({ ...settings, issuer: ['accounts.google.com', 'https://accounts.google.com'], audience: ['api://orbit', guid] });
    const sign = (issuer: string, audience: string, claims: Record<string, unknown> = {}): Promise<string> => new SignJWT({ preferred_username: 'dev1', ...claims })
      .setProtectedHeader({ alg: 'HS256' }).setIssuer(issuer).setAudience(audience).setExpirationTime('1h').sign(new TextEncoder().encode(settings.secret));
    for (const issuer of ['accounts.google.com', 'https://accounts.google.com']) {
      for (const audience of ['api://orbit', guid]) expect((await several(`Bearer ${await sign(issuer, audience)}`)).actor.username).toBe('dev1');
    }
    await expect(several(`Bearer ${await sign('https://evil.example', 'api://orbit')}`)).rejects.toThrow(/ERR_JWT_CLAIM_VALIDATION_FAILED/);
    await expect(several(`Bearer ${await sign('accounts.google.com', 'api://other')}`)).rejects.toThrow(/ERR_JWT_CLAIM_VALIDATION_FAILED/);
    const roles = await several(`Bearer ${await sign('accounts.google.com', guid, { resource_access: { [guid]: { roles: ['qa'] }, 'api://orbit': { roles: ['release-manager'] } } })}`);
    expect(roles.roles).toEqual(['release-manager', 'qa']);
  });
});

describe('tokens of an identity provider, verified against its JWKS over HTTP', () => {
  it('takes every asymmetric algorithm providers sign with, picks the key by kid, and refuses an HMAC token or an unknown key', async () => {
    const algorithms = ['RS256', 'PS256', 'ES384', 'EdDSA', 'Ed25519'] as const;
    const pairs = await Promise.all(algorithms.map(async (alg) => ({ alg, kid: `key-${alg}`, ...(await generateKeyPair(alg, { extractable: true })) })));
    const jwks = { keys: await Promise.all(pairs.map(async ({ alg, kid, publicKey }) => ({ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }))) };
    const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const verifyIdp = tokenVerifier({ kind: 'jwks', jwksUrl: `http://127.0.0.1:${port}/certs`, issuer: 'https://idp.example/realms/orbit', audience: 'orbit' });
      const sign = (alg: string, kid: string, key: Parameters<SignJWT['sign']>[0]): Promise<string> => new SignJWT({ preferred_username: `user-${alg}`, realm_access: { roles: ['release-manager'] } })
        .setProtectedHeader({ alg, kid }).setIssuer('https://idp.example/realms/orbit').setAudience('orbit').setExpirationTime('5m').sign(key);
      for (const { alg, kid, privateKey } of pairs) {
        const caller = await verifyIdp(`Bearer ${await sign(alg, kid, privateKey)}`);
        expect([caller.actor.username, caller.roles]).toEqual([`user-${alg}`, ['release-manager']]);
      }
      // A key the provider does not publish, and a token signed with a shared secret, are both refused.
      const stranger = await generateKeyPair('RS256');
      await expect(verifyIdp(`Bearer ${await sign('RS256', 'key-other', stranger.privateKey)}`)).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(verifyIdp(`Bearer ${await sign('HS256', 'key-RS256', new TextEncoder().encode(settings.secret))}`)).rejects.toBeInstanceOf(UnauthorizedError);
    } finally {
      server.close();
    }
  });

  it('tries each key of the token\'s type when it names no kid and the set holds two (a key rolled over), and refuses a token neither signed', async () => {
    const [old, current, stranger] = await Promise.all([1, 2, 3].map(() => generateKeyPair('RS256', { extractable: true })));
    const jwks = { keys: await Promise.all([old, current].map(async (pair, index) => ({ ...(await exportJWK(pair!.publicKey)), kid: `rsa-${index}`, use: 'sig' }))) };
    const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const verifyIdp = tokenVerifier({ kind: 'jwks', jwksUrl: `http://127.0.0.1:${port}/certs`, issuer: 'https://idp.example', audience: 'orbit' });
      const sign = (key: Parameters<SignJWT['sign']>[0]): Promise<string> => new SignJWT({ preferred_username: 'dev1' }).setProtectedHeader({ alg: 'RS256' })
        .setIssuer('https://idp.example').setAudience('orbit').setExpirationTime('5m').sign(key);
      expect((await verifyIdp(`Bearer ${await sign(current!.privateKey)}`)).actor.username).toBe('dev1');
      expect((await verifyIdp(`Bearer ${await sign(old!.privateKey)}`)).actor.username).toBe('dev1');
      const refused = verifyIdp(`Bearer ${await sign(stranger!.privateKey)}`);
      await expect(refused).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(refused).rejects.toThrow(/ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
    } finally {
      server.close();
    }
  });

  it('answers "try again" (retriable), not "invalid token", while the provider\'s key set cannot be had', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ preferred_username: 'dev1' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer('https://idp.example').setAudience('orbit').setExpirationTime('5m').sign(privateKey);
    let answer: (response: import('node:http').ServerResponse) => void = (response) => response.writeHead(500).end('down for maintenance');
    const server = createServer((_request, response) => answer(response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const verifyAt = (url: string) => tokenVerifier({ kind: 'jwks', jwksUrl: url, issuer: 'https://idp.example', audience: 'orbit' })(`Bearer ${token}`);
    try {
      const failing = verifyAt(`http://127.0.0.1:${port}/certs`);
      await expect(failing).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(isRetriable(await failing.catch((error: unknown) => error))).toBe(true);
      answer = (response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
      await expect(verifyAt(`http://127.0.0.1:${port}/html`)).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      server.close();
    }
    await expect(verifyAt(`http://127.0.0.1:${port}/closed`)).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('credentials of chart repository clients (helm repo add --username --password)', () => {
  it('reads the password of Basic credentials as the bearer token, whatever the user name, and leaves anything else as it is', () => {
    const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
    expect(bearerOfBasic(basic('helm:eyJhbGciOi.x.y'))).toBe('Bearer eyJhbGciOi.x.y');
    expect(bearerOfBasic(basic(':eyJ.a.b'))).toBe('Bearer eyJ.a.b');
    expect(bearerOfBasic(basic('user:pa:ss'))).toBe('Bearer pa:ss');
    expect(bearerOfBasic(basic('no-colon'))).toBe(basic('no-colon'));
    expect(bearerOfBasic('Bearer abc')).toBe('Bearer abc');
    expect(bearerOfBasic(undefined)).toBeUndefined();
  });
});

describe('userNameProblem', () => {
  it('names the one rule a token\'s user and a Helm repository\'s owner are held to: no white space at an end, no control character', () => {
    expect(userNameProblem('Ada.Lovelace@example.com')).toBeUndefined();
    expect(userNameProblem('ada lovelace')).toBeUndefined();
    for (const padded of ['ada ', ' ada', 'ada\t', 'ada\u00a0', '\u3000ada']) expect(userNameProblem(padded), JSON.stringify(padded)).toBe('white space at an end');
    for (const control of ['ad\u001ba', 'ada\u0000x', 'a\u0085da']) expect(userNameProblem(control), JSON.stringify(control)).toBe('a control character');
  });
});
