import { describe, expect, it } from 'vitest';
import { basicAuthorization, parseChallenge, parseChallenges } from './auth.js';

describe('registry auth challenge', () => {
  it('reads a bearer challenge with realm, service and scope', () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull"')).toEqual({
      scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:team/app:pull' },
    });
  });

  it('reads basic and ignores nonsense', () => {
    expect(parseChallenge('Basic realm="x"')?.scheme).toBe('basic');
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(null)).toBeUndefined();
    expect(basicAuthorization({ username: 'u', password: 'p:w' })).toBe(`Basic ${Buffer.from('u:p:w').toString('base64')}`);
  });

  it('reads unquoted values, as gcr.io sends its service, and whole unquoted challenges', () => {
    expect(parseChallenge('Bearer realm="https://gcr.io/v2/token",service=gcr.io')?.params).toEqual({ realm: 'https://gcr.io/v2/token', service: 'gcr.io' });
    expect(parseChallenge('Bearer realm=https://auth.example/token, service=registry.example')?.params)
      .toEqual({ realm: 'https://auth.example/token', service: 'registry.example' });
  });

  it('keeps each challenge\'s parameters apart when two header lines arrive joined', () => {
    const joined = 'Bearer realm="https://auth.example/token",service="registry.example", Basic realm="Registry Realm"';
    expect(parseChallenges(joined)).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example' } },
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
    expect(parseChallenge(joined)?.params['realm']).toBe('https://auth.example/token');
    // Basic first, Bearer second: Bearer is still the one answered.
    expect(parseChallenge('Basic realm="Registry Realm", Bearer realm="https://auth.example/token"')?.scheme).toBe('bearer');
  });

  it('skips a scheme it does not speak before the one it does (a proxy offering Negotiate first)', () => {
    expect(parseChallenge('Negotiate, Basic realm="corp"')).toEqual({ scheme: 'basic', params: { realm: 'corp' } });
    expect(parseChallenge('Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIG==, Bearer realm="https://t.example/token"'))
      .toEqual({ scheme: 'bearer', params: { realm: 'https://t.example/token' } });
  });

  it('unescapes quoted values, takes names in any case, and keeps commas and spaces inside quotes', () => {
    expect(parseChallenge('bearer Realm="https://t.example/token", Scope="repository:a/b:pull,push repository:c/d:pull", error="say \\"no\\""')?.params).toEqual({
      realm: 'https://t.example/token', scope: 'repository:a/b:pull,push repository:c/d:pull', error: 'say "no"',
    });
  });

  it('keeps what came before an unterminated quote and nothing after it', () => {
    expect(parseChallenge('Bearer realm="https://t.example/token",service="oops')?.params).toEqual({ realm: 'https://t.example/token' });
  });
});
