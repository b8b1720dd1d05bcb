/**
 * A real OCI registry for tests: Debian's docker-registry (the CNCF
 * distribution server) on a loopback port with storage in a temp folder,
 * optionally behind htpasswd (Basic) authentication, or behind a token
 * service the way Docker Hub, GHCR, Harbor and Artifactory are (Bearer).
 */
import bcrypt from 'bcryptjs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { ensureGoProgram } from '@orbit/local-stack';
import { waitFor } from './index.js';
import { freePort } from './ports.js';

export interface TestRegistry {
  readonly address: string;
  /** Behind a token service: each token asked for, by whom (null: anonymous) and for which scope, and what was granted. */
  readonly tokenRequests: readonly TokenRequest[];
  stop(): Promise<void>;
}

export interface TokenRequest {
  readonly user: string | null;
  readonly scope: string;
  readonly granted: string;
}

export interface TokenAuthOptions {
  /** name -> password; each may pull and push. */
  readonly users: Readonly<Record<string, string>>;
  /** Anonymous callers get pull tokens (a public project), never push. @default true */
  readonly anonymousPull?: boolean;
  /** Repositories a user may use at all (Harbor's projects, a robot account per project). @default every one */
  readonly mayUse?: (user: string, repository: string) => boolean;
  /** Seconds a token lasts. @default 300 (Docker Hub's) */
  readonly expiresInSeconds?: number;
  /** refresh token -> user: identity tokens the OAuth2 POST flow takes (grant_type=refresh_token), as ACR's and Docker Hub's services do. */
  readonly refreshTokens?: Readonly<Record<string, string>>;
}

const TOKEN_SERVICE = 'orbit-test-registry';
const TOKEN_ISSUER = 'orbit-test-token-service';

/**
 * The token half of the distribution token protocol: Basic credentials (or
 * none) in a GET, or a refresh token in an OAuth2 POST; out, a JWT granting
 * the asked actions that the caller may have, signed by a key whose
 * certificate the registry trusts. The registry does all the checking
 * (signature, issuer, audience, expiry, actions).
 */
async function startTokenService(dir: string, options: TokenAuthOptions, requests: TokenRequest[]): Promise<{ realm: string; certificate: string; server: Server }> {
  const keyFile = join(dir, 'token.key');
  const certificate = join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certificate, '-subj', '/CN=orbit-test-token-service', '-days', '2'], { stdio: 'ignore' });
  const key = createPrivateKey(readFileSync(keyFile));
  const chain = [new X509Certificate(readFileSync(certificate)).raw.toString('base64')];
  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://token');
      const basic = /^Basic (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      let user: string | null = null;
      let scopes = url.searchParams.getAll('scope');
      let service = url.searchParams.get('service') ?? '';
      if (request.method === 'POST') {
        // The OAuth2 flow: a form with the refresh token (an identity token), the service and the scopes space-separated.
        const chunks: Buffer[] = [];
        for await (const chunk of request) chunks.push(chunk as Buffer);
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const owner = form.get('grant_type') === 'refresh_token' ? options.refreshTokens?.[form.get('refresh_token') ?? ''] : undefined;
        if (owner === undefined) {
          response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
          return;
        }
        user = owner;
        scopes = (form.get('scope') ?? '').split(' ').filter((scope) => scope !== '');
        service = form.get('service') ?? '';
      } else if (basic !== undefined) {
        const [name = '', ...rest] = Buffer.from(basic, 'base64').toString('utf8').split(':');
        if (options.users[name] !== rest.join(':')) {
          response.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
          return;
        }
        user = name;
      }
      const access = scopes.map((scope) => {
        const [type = '', name = '', actions = ''] = scope.split(':');
        const allowed = user !== null ? (options.mayUse?.(user, name) ?? true ? ['pull', 'push'] : []) : (options.anonymousPull ?? true) ? ['pull'] : [];
        const granted = actions.split(',').filter((action) => allowed.includes(action)).sort();
        // Recorded with the actions sorted: the distribution server lists a challenge's actions in any order (a Go map).
        requests.push({ user, scope: `${type}:${name}:${actions.split(',').sort().join(',')}`, granted: granted.join(',') });
        return { type, name, actions: granted };
      });
      const now = Math.floor(Date.now() / 1000);
      const expiresIn = options.expiresInSeconds ?? 300;
      const token = await new SignJWT({ access })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5c: chain })
        .setIssuer(TOKEN_ISSUER).setAudience(service).setSubject(user ?? '')
        .setIssuedAt(now).setNotBefore(now).setExpirationTime(now + expiresIn).setJti(Math.random().toString(36).slice(2))
        .sign(key);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() }));
    })().catch((error: unknown) => response.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, certificate, server };
}

/**
 * `users`: name -> password; the registry then refuses anyone else (401 with
 * a Basic challenge). `token`: the registry sends Bearer challenges to a
 * token service of the test's own instead; it answers from this process, so
 * a client run with execFileSync (which blocks it) would wait for ever.
 */
export async function startRegistry(options: { users?: Readonly<Record<string, string>>; token?: TokenAuthOptions; server?: RegistryServer } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'orbit-registry-'));
  const users = Object.entries(options.users ?? {});
  const tokenRequests: TokenRequest[] = [];
  const tokens = options.token ? await startTokenService(dir, options.token, tokenRequests) : undefined;
  // The distribution server reads bcrypt htpasswd entries only.
  if (users.length > 0) writeFileSync(join(dir, 'htpasswd'), users.map(([name, password]) => `${name}:${bcrypt.hashSync(password, 8)}`).join('\n'));
  const auth = tokens ? `auth:
  token:
    realm: ${tokens.realm}
    service: ${TOKEN_SERVICE}
    issuer: ${TOKEN_ISSUER}
    rootcertbundle: ${tokens.certificate}
` : users.length > 0 ? `auth:
  htpasswd:
    realm: orbit-test
    path: ${join(dir, 'htpasswd')}
` : '';
  const server = options.server ?? 'docker-registry';
  if (server !== 'docker-registry' && auth !== '') throw new Error(`the ${server} test registry takes no authentication`);
  const { address, child } = await serveOnFreePort(server, dir, auth, auth === '' ? 200 : 401);
  return {
    address,
    tokenRequests,
    stop: async () => {
      child.kill('SIGTERM');
      tokens?.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Which registry: Debian's docker-registry (the distribution server 2.8, no
 * referrers API: clients fall back to the referrers tag scheme), or
 * go-containerregistry's registry with the OCI 1.1 referrers API on (it
 * lists a manifest's referrers itself, as Harbor 2.8+, Zot and ECR do; built
 * once per machine from test/fixtures/referrers-registry; no authentication).
 */
export type RegistryServer = 'docker-registry' | 'referrers-api';

/** The command that serves a registry of that kind at `address`, its configuration (if any) in `dir`. */
function registryCommand(server: RegistryServer, dir: string, address: string): [string, string[]] {
  if (server === 'referrers-api') return [ensureGoProgram('referrers-registry', 'referrers-registry', 'test/fixtures/referrers-registry'), ['--address', address]];
  return ['docker-registry', ['serve', join(dir, 'config.yml')]];
}

/**
 * The registry serving on a port of its own. Test files run side by side and
 * each starts registries: one that cannot bind its port exits, and another
 * test's registry answering there (with credentials it does not ask for) must
 * not be taken for it. So the port is one the OS says is free, the answer
 * must be this registry's kind (200 open, 401 behind authentication), and
 * the process must still run; otherwise it is tried again on another port.
 */
async function serveOnFreePort(server: RegistryServer, dir: string, auth: string, answers: number): Promise<{ address: string; child: ChildProcess }> {
  for (let attempt = 1; ; attempt += 1) {
    const address = `127.0.0.1:${await freePort()}`;
    writeFileSync(join(dir, 'config.yml'), `version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
${auth}http:
  addr: ${address}
`);
    const [command, args] = registryCommand(server, dir, address);
    const child: ChildProcess = spawn(command, args, { stdio: 'ignore' });
    const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
    const outcome = await waitFor(async () => {
      if (gone()) return 'exited';
      return (await fetch(`http://${address}/v2/`)).status === answers ? 'ready' : false;
    }, { timeoutMs: 20_000, what: 'the test registry' });
    if (outcome === 'ready' && !gone()) return { address, child };
    child.kill('SIGTERM');
    if (attempt >= 5) throw new Error(`the test registry did not start on a free port in ${attempt} attempts`);
  }
}

/**
 * Pulls `reference` whole with skopeo (a client Orbit did not write: every
 * blob fetched and checked against the manifest) into a scratch layout and
 * answers the digest of the manifest it got. Plain HTTP, as the local stack's
 * registry speaks.
 */
export function pullWithSkopeo(reference: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'orbit-pulled-'));
  try {
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reference}`, `oci:${join(dir, 'layout')}:pulled`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reference}`]);
    return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
