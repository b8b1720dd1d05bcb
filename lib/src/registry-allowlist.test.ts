import { describe, expect, it } from 'vitest';
import { registryAllowed, registryAllowlistEnv } from './registry-allowlist.js';

describe('registryAllowed', () => {
  it('allows every registry when the list is empty (the local stack)', () => {
    expect(registryAllowed('anything.example:5000', [])).toBe(true);
  });

  it('matches a host on any port, a host:port on that port only, case-insensitively', () => {
    const list = registryAllowlistEnv.parse('Harbor.Corp.Example, 127.0.0.1:5000');
    expect(registryAllowed('harbor.corp.example', list)).toBe(true);
    expect(registryAllowed('HARBOR.corp.example:8443', list)).toBe(true);
    expect(registryAllowed('127.0.0.1:5000', list)).toBe(true);
    expect(registryAllowed('127.0.0.1:5001', list)).toBe(false);
    // A port is a number: 05000 is 5000 to every client, 050001 no port of the list.
    expect(registryAllowed('127.0.0.1:05000', list)).toBe(true);
    expect(registryAllowed('127.0.0.1:050001', list)).toBe(false);
    expect(registryAllowed('127.0.0.1:05000', registryAllowlistEnv.parse('127.0.0.1:5001'))).toBe(false);
    expect(registryAllowed('127.0.0.1', list)).toBe(false);
    // Not a prefix or suffix match: a look-alike host is another host.
    expect(registryAllowed('harbor.corp.example.evil.test', list)).toBe(false);
    expect(registryAllowed('evilharbor.corp.example', list)).toBe(false);
  });

  it('matches *.domain against hosts under it only, and IPv6 literals as references write them', () => {
    const list = registryAllowlistEnv.parse('*.ecr.aws, [::1]:5000');
    expect(registryAllowed('123456789.dkr.ecr.aws', list)).toBe(true);
    expect(registryAllowed('public.ecr.aws:443', list)).toBe(true);
    expect(registryAllowed('ecr.aws', list)).toBe(false);
    expect(registryAllowed('notecr.aws', list)).toBe(false);
    expect(registryAllowed('[::1]:5000', list)).toBe(true);
    expect(registryAllowed('[::1]:5001', list)).toBe(false);
  });

  it('matches an IPv6 literal in any of its spellings, in the reference and in the list (found by a review: [0:0::1]:5000 was another registry)', () => {
    const list = registryAllowlistEnv.parse('[::1]:5000, [FD00:0:0:0:0:0:0:0005]');
    for (const spelling of ['[0:0::1]:5000', '[::0001]:5000', '[0:0:0:0:0:0:0:1]:05000', '[fd00::5]', '[fd00:0::5]:8443']) expect(registryAllowed(spelling, list), spelling).toBe(true);
    for (const other of ['[0:0::1]:5001', '[fd00::6]', '[::2]:5000']) expect(registryAllowed(other, list), other).toBe(false);
  });

  it('refuses a list entry that is no host, naming it', () => {
    const parsed = registryAllowlistEnv.safeParse('harbor.corp, https://ghcr.io, *.,  ');
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.message)).toEqual([
      '"https://ghcr.io" is not a registry host[:port], *.domain or [ipv6]:port', '"*." is not a registry host[:port], *.domain or [ipv6]:port',
    ]);
  });
});
