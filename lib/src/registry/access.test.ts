import { describe, expect, it } from 'vitest';
import { imageRegistryEnv, isInsecureRegistry, namesRegistryRepository, registryAccessEnv } from './access.js';

describe('isInsecureRegistry', () => {
  const access = { insecure: new Set(['registry.lab:5000']), credentials: new Map() };
  it('speaks plain HTTP to loopback registries and to the listed ones only', () => {
    expect(isInsecureRegistry('127.0.0.1:5000', access)).toBe(true);
    expect(isInsecureRegistry('localhost:5000', access)).toBe(true);
    expect(isInsecureRegistry('[::1]:5000', access)).toBe(true);
    // Every spelling of loopback (found by a probe).
    for (const registry of ['[0:0:0:0:0:0:0:1]:5000', '[::ffff:7f00:1]:5000', '[::ffff:127.0.0.1]:5000']) expect(isInsecureRegistry(registry, access), registry).toBe(true);
    expect(isInsecureRegistry('registry.lab:5000', access)).toBe(true);
    expect(isInsecureRegistry('registry.lab', access)).toBe(false);
    expect(isInsecureRegistry('ghcr.io', access)).toBe(false);
    // Not loopback here: a NAT64 of 127.0.0.1 is the translator's, and `127.1` is a host name to a reference.
    for (const registry of ['[64:ff9b::7f00:1]:5000', '127.1:5000', '10.0.0.1:5000']) expect(isInsecureRegistry(registry, access), registry).toBe(false);
  });

  it('finds a listed IPv6 registry under any spelling of it, listed or named (found by a review: [fd00:0::5]:5000 was another registry)', () => {
    const listed = { insecure: registryAccessEnv.ORBIT_INSECURE_REGISTRIES.parse('[FD00:0:0:0:0:0:0:5]:5000, Registry.Lab:05000'), credentials: new Map() };
    expect([...listed.insecure]).toEqual(['[fd00::5]:5000', 'registry.lab:5000']);
    for (const registry of ['[fd00::5]:5000', '[fd00:0::0005]:5000', 'registry.lab:5000']) expect(isInsecureRegistry(registry, listed), registry).toBe(true);
    expect(isInsecureRegistry('[fd00:0::5]:5000', { insecure: new Set(['[fd00::5]:5000']) })).toBe(true);
    expect(isInsecureRegistry('[fd00::6]:5000', listed)).toBe(false);
  });
});

describe('ORBIT_IMAGE_REGISTRY', () => {
  it('takes a registry host with a path, as the charts write it, and refuses what would name Docker Hub or no repository', () => {
    for (const ok of ['registry.example.com/orbit', 'localhost:5000', '127.0.0.1:5000/orbit/images', 'ghcr.io/acme']) expect(namesRegistryRepository(ok), ok).toBe(true);
    for (const bad of ['orbit', 'registry.example.com/Orbit', 'registry.example.com/orbit/', 'registry.example.com/orbit:1', 'https://registry.example.com/orbit', '']) {
      expect(namesRegistryRepository(bad), bad).toBe(false);
    }
    expect(imageRegistryEnv.ORBIT_IMAGE_REGISTRY.safeParse(undefined)).toMatchObject({ success: true, data: 'registry.orbit.local/orbit' });
    expect(imageRegistryEnv.ORBIT_IMAGE_REGISTRY.safeParse('orbit').success).toBe(false);
  });

  it('takes a registry at an IPv6 literal however the address is written, as references name it', () => {
    for (const ok of ['[::1]:5050/orbit', '[0:0::1]:5050/orbit', '[fd00:0:0:0:0:0:0:5]/orbit', '[::0001]:5050']) expect(namesRegistryRepository(ok), ok).toBe(true);
    expect(namesRegistryRepository('[FD00::5]/orbit')).toBe(false);
  });
});

describe('ORBIT_REGISTRY_CREDENTIALS', () => {
  const parse = (value: string | undefined) => registryAccessEnv.ORBIT_REGISTRY_CREDENTIALS.safeParse(value);

  it('takes a username and password, or an identity token that is never sent as a password', () => {
    const parsed = parse(JSON.stringify({
      'registry.example.com': { username: 'u', password: 'p' },
      'team.azurecr.io': { username: '00000000-0000-0000-0000-000000000000', identityToken: 'acr-refresh' },
      'ghcr.io': { identityToken: 'oauth-refresh' },
    }));
    expect(parsed.success).toBe(true);
    expect([...parsed.data!]).toEqual([
      ['registry.example.com', { username: 'u', password: 'p' }],
      ['team.azurecr.io', { username: '00000000-0000-0000-0000-000000000000', password: '', identityToken: 'acr-refresh' }],
      ['ghcr.io', { username: '', password: '', identityToken: 'oauth-refresh' }],
    ]);
    expect(parse(undefined).data?.size).toBe(0);
    // Keyed as references name registries, so any spelling of one finds its entry.
    expect([...parse(JSON.stringify({ '[FD00:0::5]:05000': { username: 'u', password: 'p' }, 'Registry.Example.com': { username: 'v', password: 'q' } })).data!.keys()])
      .toEqual(['[fd00::5]:5000', 'registry.example.com']);
    expect(parse(' ').data?.size).toBe(0);
  });

  it('refuses, naming the registry and never a secret, an entry that is neither: a misspelt field, a password beside a token, an empty token', () => {
    for (const entry of [{ username: 'u', pasword: 's3cret' }, { username: 'u', password: 's3cret', identityToken: 'tok3n' }, { identityToken: '' }, { identitytoken: 'tok3n' }, 'u:s3cret']) {
      const parsed = parse(JSON.stringify({ 'registry.example.com': entry }));
      expect(parsed.success, JSON.stringify(entry)).toBe(false);
      const message = parsed.error!.issues[0]!.message;
      expect(message).toContain('the entry for "registry.example.com" is neither');
      expect(message).not.toMatch(/s3cret|tok3n/);
    }
    expect(parse('{not json').error!.issues[0]!.message).toMatch(/^must be JSON like/);
  });
});
