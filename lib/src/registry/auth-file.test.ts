import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readConfig } from '../config.js';
import { registryAccessEnv, registryAccessOf } from './access.js';
import { AuthFileCredentials, combinedCredentials, credentialSourceIn, parseDockerConfig } from './auth-file.js';
import { credentialsFor } from './docker-hub.js';

const basic = (user: string, password: string): string => Buffer.from(`${user}:${password}`).toString('base64');
const folders: string[] = [];
function fileWith(text: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'orbit-auth-'));
  folders.push(folder);
  const path = join(folder, 'config.json');
  writeFileSync(path, text);
  return path;
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('parseDockerConfig', () => {
  it('reads what docker login, podman login, az acr login and a dockerconfigjson Secret hold: auth, or username and password, or an identity token, under a host or a URL', () => {
    const config = JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: basic('hubuser', 'hub:pass') },
        '123456789012.dkr.ecr.eu-west-1.amazonaws.com': { auth: basic('AWS', 'ecr-token') },
        'Harbor.Example.com:8443/project': { username: 'robot$ci', password: 'secret' },
        'ghcr.io': { identitytoken: 'oauth-refresh-token' },
        // What `az acr login` writes: a fixed user with no password, and the refresh token.
        'team.azurecr.io': { auth: basic('00000000-0000-0000-0000-000000000000', ''), identitytoken: 'acr-refresh-token' },
      },
      credsStore: 'desktop',
    });
    expect(parseDockerConfig(config)).toEqual({
      auths: new Map([
        ['index.docker.io', { username: 'hubuser', password: 'hub:pass' }],
        ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', { username: 'AWS', password: 'ecr-token' }],
        ['harbor.example.com:8443/project', { username: 'robot$ci', password: 'secret' }],
        ['ghcr.io', { username: '', password: '', identityToken: 'oauth-refresh-token' }],
        ['team.azurecr.io', { username: '00000000-0000-0000-0000-000000000000', password: '', identityToken: 'acr-refresh-token' }],
      ]),
      helpers: new Map(),
      store: 'desktop',
    });
    // Docker Hub by any of its names, as the pull and push look it up.
    const { auths } = parseDockerConfig(config);
    expect(credentialsFor('docker.io', auths)).toEqual({ username: 'hubuser', password: 'hub:pass' });
  });

  it('asks a registry\'s credHelpers entry first, then credsStore, then its auths entry, as Docker does', () => {
    const lookIn = (config: object) => (registry: string) => credentialSourceIn(parseDockerConfig(JSON.stringify(config)), registry);
    const withHelpers = lookIn({
      auths: { 'ecr.example': { auth: basic('AWS', 'stale') }, 'plain.example': { auth: basic('u', 'p') } },
      credHelpers: { '123456789012.dkr.ecr.eu-west-1.amazonaws.com': 'ecr-login', 'ECR.example': 'ecr-login' },
    });
    expect(typeof withHelpers('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe('function');
    expect(typeof withHelpers('ecr.example')).toBe('function');
    expect(withHelpers('plain.example')).toEqual({ username: 'u', password: 'p' });
    expect(withHelpers('other.example')).toBeUndefined();
    // credsStore takes every registry credHelpers does not name, its auths entry included (what Docker Desktop writes).
    const withStore = lookIn({ auths: { 'plain.example': {} }, credsStore: 'pass' });
    expect(typeof withStore('plain.example')).toBe('function');
    expect(typeof withStore('other.example')).toBe('function');
  });

  it('gives each namespace of a registry its own credentials (two quay.io robots), the most specific key first, else the host\'s', () => {
    const credentials = new AuthFileCredentials(fileWith(JSON.stringify({
      auths: {
        'quay.io/org-a': { auth: basic('org-a+robot', 'a') },
        'quay.io/org-b': { auth: basic('org-b+robot', 'b') },
        'quay.io/org-a/special': { auth: basic('special+robot', 's') },
        'quay.io': { auth: basic('quay-user', 'q') },
        'registry.example/team/': { auth: basic('team', 't') },
      },
    })));
    const { credentials: access } = registryAccessOf({ ORBIT_INSECURE_REGISTRIES: new Set(), ORBIT_REGISTRY_CREDENTIALS: new Map(), ORBIT_REGISTRY_AUTH_FILE: credentials });
    const userOf = (registry: string, repository: string) => (credentialsFor(registry, access, repository) as { username: string } | undefined)?.username;
    expect(userOf('quay.io', 'org-a/app')).toBe('org-a+robot');
    expect(userOf('quay.io', 'org-b/app')).toBe('org-b+robot');
    expect(userOf('quay.io', 'org-a/special')).toBe('special+robot');
    expect(userOf('Quay.IO', 'org-a/team/app')).toBe('org-a+robot');
    expect(userOf('quay.io', 'other/app')).toBe('quay-user');
    // A namespace is matched by whole path segments: org-ab is not org-a's.
    expect(userOf('quay.io', 'org-ab/app')).toBe('quay-user');
    // A registry with only namespace keys has none for the rest of its repositories.
    expect(userOf('registry.example', 'team/app')).toBe('team');
    expect(userOf('registry.example', 'teammate/app')).toBeUndefined();
  });

  it('finds the entry of a registry at an IPv6 literal under any spelling of it, in the key or the reference (found by a review)', () => {
    const config = parseDockerConfig(JSON.stringify({
      auths: { '[FD00:0:0:0:0:0:0:5]:5000': { auth: basic('v6-user', 'a') }, 'https://[fd00:0::6]:5000/v1/': { auth: basic('url-user', 'b') }, '[fd00::7]/team': { auth: basic('team', 'c') } },
      credHelpers: { '[fd00:0::8]': 'pass' },
    }));
    const userOf = (registry: string, repository?: string) => (credentialSourceIn(config, registry, repository) as { username: string } | undefined)?.username;
    expect(userOf('[fd00::5]:5000')).toBe('v6-user');
    expect(userOf('[fd00:0:0::5]:05000')).toBe('v6-user');
    expect(userOf('[fd00::6]:5000')).toBe('url-user');
    expect(userOf('[fd00:0::7]', 'team/app')).toBe('team');
    expect(typeof credentialSourceIn(config, '[fd00::8]')).toBe('function');
  });

  it('reads a key with a scheme as its registry alone (Docker\'s https://index.docker.io/v1/), beside namespace keys of Docker Hub', () => {
    const { auths } = parseDockerConfig(JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: basic('hubuser', 'h') },
        'docker.io/org-a': { auth: basic('org-a', 'a') },
        'http://registry.example/v2/': { auth: basic('plain', 'p') },
      },
    }));
    const lookup = { get: (registry: string, repository?: string) => credentialSourceIn({ auths, helpers: new Map(), store: undefined }, registry, repository) };
    expect(credentialsFor('docker.io', lookup, 'library/nginx')).toEqual({ username: 'hubuser', password: 'h' });
    expect(credentialsFor('docker.io', lookup, 'org-a/app')).toEqual({ username: 'org-a', password: 'a' });
    expect(credentialsFor('registry.example', lookup, 'any/app')).toEqual({ username: 'plain', password: 'p' });
  });

  it('takes no registrytoken (a bearer token Docker sends as it is): an entry holding only one gives no credentials, so the host\'s key, else none, is used', () => {
    const config = parseDockerConfig(JSON.stringify({
      auths: { 'quay.io/org-a': { registrytoken: 'bearer-token' }, 'quay.io': { auth: basic('quay-user', 'q') }, 'r.example': { registrytoken: 'bearer-token' } },
    }));
    expect(credentialSourceIn(config, 'quay.io', 'org-a/app')).toEqual({ username: 'quay-user', password: 'q' });
    expect(credentialSourceIn(config, 'r.example', 'team/app')).toBeUndefined();
  });

  it('refuses a helper name that could name a program outside PATH', () => {
    expect(() => parseDockerConfig(JSON.stringify({ credHelpers: { 'r.example': '../../bin/sh' } }))).toThrow(/credHelpers of r\.example: "\.\.\/\.\.\/bin\/sh" is no helper name/);
    expect(() => parseDockerConfig(JSON.stringify({ credsStore: 'a b' }))).toThrow(/credsStore: "a b" is no helper name/);
    // Quoted up to 100 UTF-16 units, cut before an emoji rather than inside it.
    expect(() => parseDockerConfig(JSON.stringify({ credsStore: `${'x'.repeat(99)}\u{1F433}` }))).toThrow(`credsStore: "${'x'.repeat(99)}" is no helper name`);
  });

  it('refuses an auth that is no user:password, and a file that is no JSON object', () => {
    expect(() => parseDockerConfig(JSON.stringify({ auths: { 'r.example': { auth: basic('', 'x').slice(1) } } }))).toThrow(/not base64 of user:password/);
    expect(() => parseDockerConfig('{"auths": [')).toThrow();
  });
});

describe('AuthFileCredentials', () => {
  it('reads the file again once it changes (a Secret refreshed in place), and keeps the last good credentials when the new file is broken', () => {
    const path = fileWith(JSON.stringify({ auths: { 'r.example': { auth: basic('u', 'first') } } }));
    const credentials = new AuthFileCredentials(path);
    expect(credentials.get('r.example')).toEqual({ username: 'u', password: 'first' });
    writeFileSync(`${path}.new`, JSON.stringify({ auths: { 'r.example': { auth: basic('u', 'second') } } }));
    renameSync(`${path}.new`, path);
    expect(credentials.get('R.example')).toEqual({ username: 'u', password: 'second' });
    const told: string[] = [];
    credentials.onProblem = (problem) => told.push(problem);
    writeFileSync(path, '{"auths": {');
    expect(credentials.get('r.example')).toEqual({ username: 'u', password: 'second' });
    expect(credentials.get('r.example')).toEqual({ username: 'u', password: 'second' });
    expect(credentials.problem).toMatch(/config\.json: is no JSON/);
    // Told once, not at every push.
    expect(told).toEqual([credentials.problem]);
    expect(JSON.stringify({ credentials })).not.toContain('second');
  });

  it('is a startup error naming the variable when the file is missing or unreadable, and wins over ORBIT_REGISTRY_CREDENTIALS for a registry in both', () => {
    expect(() => readConfig(registryAccessEnv, { ORBIT_REGISTRY_AUTH_FILE: '/nonexistent/config.json' })).toThrow(/ORBIT_REGISTRY_AUTH_FILE.*readable Docker config\.json/s);
    const path = fileWith(JSON.stringify({ auths: { 'r.example': { auth: basic('file', 'pw') } } }));
    const config = readConfig(registryAccessEnv, {
      ORBIT_REGISTRY_AUTH_FILE: path,
      ORBIT_REGISTRY_CREDENTIALS: JSON.stringify({ 'r.example': { username: 'env', password: 'pw' }, 'other.example': { username: 'env', password: 'pw' } }),
    });
    const { credentials } = registryAccessOf(config);
    expect(credentials.get('r.example')).toMatchObject({ username: 'file' });
    expect(credentials.get('other.example')).toMatchObject({ username: 'env' });
  });

  it('falls back to ORBIT_REGISTRY_CREDENTIALS when the file\'s credential helper has nothing for the registry', async () => {
    const fixed = new Map([['r.example', { username: 'env', password: 'pw' }]]);
    const helperWith = (answer: { username: string; password: string } | undefined) => ({ get: () => async () => answer });
    const resolve = async (source: ReturnType<ReturnType<typeof combinedCredentials>['get']>) => (typeof source === 'function' ? source() : source);
    expect(await resolve(combinedCredentials(fixed, helperWith(undefined)).get('r.example'))).toEqual({ username: 'env', password: 'pw' });
    expect(await resolve(combinedCredentials(fixed, helperWith({ username: 'helper', password: 'x' })).get('r.example'))).toEqual({ username: 'helper', password: 'x' });
    expect(await resolve(combinedCredentials(fixed, helperWith(undefined)).get('other.example'))).toBeUndefined();
  });

  it('is a startup error naming a credential helper the file names that is not on PATH (a config copied from Docker Desktop: credsStore "desktop")', () => {
    const path = fileWith(JSON.stringify({ auths: { 'r.example': {} }, credsStore: 'desktop', credHelpers: { 'gcr.io': 'orbit-no-such-helper' } }));
    expect(() => readConfig(registryAccessEnv, { ORBIT_REGISTRY_AUTH_FILE: path })).toThrow(/docker-credential-orbit-no-such-helper is not on PATH; credential helper docker-credential-desktop is not on PATH/);
  });
});
