import { isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { canonicalRegistry, IMAGE_REFERENCE_PATTERN, imageReferenceProblem, parseImageReference } from './image-reference.js';

describe('parseImageReference', () => {
  it('reads host:port/repo:tag and digests', () => {
    expect(parseImageReference('127.0.0.1:5000/team/app:1.0')).toEqual({ registry: '127.0.0.1:5000', repository: 'team/app', tag: '1.0', digest: null });
    expect(parseImageReference(`registry.example.com/app@sha256:${'a'.repeat(64)}`)?.digest).toBe(`sha256:${'a'.repeat(64)}`);
    expect(parseImageReference(`localhost/app:v1@sha256:${'b'.repeat(64)}`)).toEqual({ registry: 'localhost', repository: 'app', tag: 'v1', digest: `sha256:${'b'.repeat(64)}` });
    expect(parseImageReference('[::1]:5000/a/b__c:latest')).toEqual({ registry: '[::1]:5000', repository: 'a/b__c', tag: 'latest', digest: null });
    expect(parseImageReference('localhost:5000/app:1')?.registry).toBe('localhost:5000');
  });

  it('names a registry as clients reach it: lower case, the port without leading zeros (an own-registry rule was passed by 127.0.0.1:05050)', () => {
    expect(parseImageReference('127.0.0.1:05050/orbit/app:1')?.registry).toBe('127.0.0.1:5050');
    expect(parseImageReference('Registry.Example.COM:00443/team/app:1')?.registry).toBe('registry.example.com:443');
    expect(parseImageReference('[::FFFF:7f00:1]:0080/a:1')?.registry).toBe('[::ffff:7f00:1]:80');
    expect(parseImageReference('host.example:5000/a:1')?.registry).toBe('host.example:5000');
  });

  it('names a registry at an IPv6 literal in one spelling, RFC 5952\'s as the URL standard writes it (found by a review: [0:0::1]:5050 and [::1]:5050 were two registries to the outage memory)', () => {
    for (const spelling of ['[0:0::1]:5050', '[::1]:5050', '[::0001]:5050', '[0000:0:0:0:0:0:0:1]:05050', '[::1]:5050']) {
      expect(parseImageReference(`${spelling}/x/y:1`)?.registry, spelling).toBe('[::1]:5050');
    }
    expect(parseImageReference('[2001:DB8:0:0:1:0:0:1]/x:1')?.registry).toBe('[2001:db8::1:0:0:1]');
    expect(parseImageReference('[fd00:0:0:0:0:0:0:5]:443/x:1')?.registry).toBe('[fd00::5]:443');
    // RFC 5952 would write an IPv4-mapped address with a dotted tail, which docker's grammar has no room for: it stays in hex.
    expect(parseImageReference('[0:0:0:0:0:FFFF:7F00:0001]/x:1')?.registry).toBe('[::ffff:7f00:1]');
  });

  it('spells a registry as references are compared by, whatever text names it (config entries, credential keys)', () => {
    expect(canonicalRegistry('[0:0::1]:05050')).toBe('[::1]:5050');
    expect(canonicalRegistry('[::FFFF:127.0.0.1]')).toBe('[::ffff:7f00:1]');
    expect(canonicalRegistry('Registry.Example.com:00443')).toBe('registry.example.com:443');
    expect(canonicalRegistry('[1:2:3]:5000')).toBe('[1:2:3]:5000');
    expect(canonicalRegistry('localhost')).toBe('localhost');
  });

  it('publishes a pattern that accepts exactly what it reads (the OpenAPI document carries it)', () => {
    const pattern = new RegExp(IMAGE_REFERENCE_PATTERN);
    const samples = [
      '127.0.0.1:5000/team/app:1.0', 'localhost/app:v1', 'registry:5000/app:1', 'ghcr.io/o/r@sha256:' + 'c'.repeat(64), '[::1]/x:1',
      'app:1.0', 'library/app:1.0', 'registry/app:1', 'host.example/app', 'host.example/App:1', 'a.b/c:-x', 'a.b/c:1@sha256:12', '',
      'h.example:65535/a:1', 'h.example:65536/a:1', 'h.example:99999/a:1', 'h.example:0/a:1', '127.0.0.1:05050/a:1', '[::1]:70000/a:1', 'localhost:1/a:1',
      // Names of 255 and 256 characters, with a tag, a digest or both.
      `h.example:5000/${'a'.repeat(240)}:1`, `h.example:5000/${'a'.repeat(241)}:1`, `h.example/${'a'.repeat(245)}@sha256:${'d'.repeat(64)}`,
      `h.example/${'a'.repeat(246)}@sha256:${'d'.repeat(64)}`, `h.example/${'a'.repeat(245)}:${'t'.repeat(128)}@sha256:${'d'.repeat(64)}`,
    ];
    for (const sample of samples) expect(pattern.test(sample), sample).toBe(parseImageReference(sample) !== undefined);
  });

  it('publishes a pattern that takes as an IPv6 literal only an IPv6 address, as a URL and node:net read one (docker\'s [0-9a-fA-F:]+ took "[6]")', () => {
    const pattern = new RegExp(IMAGE_REFERENCE_PATTERN);
    const groups = ['0', '1', 'a', 'ff', 'FFFF', '1234', '12345', ''];
    // Seeded (a linear congruential generator), so a failure is the same on every run.
    let seed = 2026;
    const random = (n: number): number => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return Math.floor((seed / 2 ** 32) * n); };
    // Strings of groups and colons, most of them near an address: 1 to 10 groups, some empty (a "::" or a stray colon).
    const literals = Array.from({ length: 4000 }, () => Array.from({ length: 1 + random(10) }, () => groups[random(groups.length)]).join(':'));
    for (const literal of [...literals, '::', ':', ':::', '1::', '::1', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8', '1::2::3']) {
      const reference = `[${literal}]:5000/a:1`;
      expect(parseImageReference(reference) !== undefined, reference).toBe(isIPv6(literal));
      expect(pattern.test(reference), reference).toBe(isIPv6(literal));
    }
  });

  it('refuses a bracketed host that is no IPv6 address, which the validator could not pull and dead-lettered (found by a review: "[6]" was accepted)', () => {
    for (const bad of ['[6]/af/x:1', '[zz]/a:1', '[1:2:3]/a:1', '[1::2::3]/a:1', '[12345::1]/a:1', '[1:2:3:4:5:6:7:8:9]/a:1', '[]/a:1', '[::1]:0/a:1', '[::1]:65536/a:1', '[fe80::1%eth0]/a:1', '[fe80::1%25eth0]/a:1', '[::ffff:127.0.0.1]/a:1']) {
      expect(parseImageReference(bad), bad).toBeUndefined();
      expect(imageReferenceProblem(bad), bad).toBeDefined();
    }
    expect(parseImageReference('[::1]/x:1')).toEqual({ registry: '[::1]', repository: 'x', tag: '1', digest: null });
    expect(parseImageReference('[::1]:5000/x:1')?.registry).toBe('[::1]:5000');
    expect(parseImageReference('[2001:DB8::5]:443/team/app:1')?.registry).toBe('[2001:db8::5]:443');
    expect(parseImageReference('[::ffff:7f00:1]/a:1')?.registry).toBe('[::ffff:7f00:1]');
  });

  it('refuses a host no URL can hold, though the pattern takes it: one ending in a number that is no IPv4 address, a bad "xn--" label', () => {
    const pattern = new RegExp(IMAGE_REFERENCE_PATTERN);
    for (const bad of ['reg.5000/a:1', 'a.1:5000/a:1', '10.0.0.256/a:1', '1.2.3.4.5/a:1', '999.1.1.1/a:1', 'reg.0x/a:1', '1.2.3.08/a:1', 'xn--a.example/a:1']) {
      expect(pattern.test(bad), bad).toBe(true);
      expect(parseImageReference(bad), bad).toBeUndefined();
    }
    // What a URL reads as an address it can reach stays a reference: it is the registry's host as a URL writes it.
    expect(parseImageReference('127.1:5000/a:1')?.registry).toBe('127.1:5000');
    expect(parseImageReference('reg.0xg/a:1')?.registry).toBe('reg.0xg');
    expect(parseImageReference('a.08.example/a:1')?.registry).toBe('a.08.example');
  });

  it('refuses a host label with a hyphen first or last, as docker\'s grammar does (found by a bug reread: "-a.b" was taken and its pull failed on DNS)', () => {
    for (const bad of ['-a.b/x:1', 'a.b-/x:1', 'a.-b.c/x:1', 'a-:5000/x:1']) {
      expect(parseImageReference(bad), bad).toBeUndefined();
      expect(imageReferenceProblem(bad), bad).toMatch(/begins or ends with a dash/);
    }
    for (const good of ['a-b.c/x:1', 'a--b.example:5000/x:1', 'x.y/x:1']) expect(parseImageReference(good), good).toBeDefined();
  });

  it('refuses references without a registry, tag or digest, or with bad parts', () => {
    for (const bad of ['h.example:65536/a:1', '127.0.0.1:99999/a:1', 'h.example:0/a:1', '[::1]:0/a:1', 'app:1.0', 'library/app:1.0', 'host.example/app', 'host.example/App:1', 'host.example/app:', 'host.example/../x:1', `host.example/app@sha256:${'z'.repeat(64)}`, '']) {
      expect(parseImageReference(bad), bad).toBeUndefined();
    }
  });
});

describe('a reference as users paste it', () => {
  it('refuses a digest in upper-case hex, saying digests are lower-case hex (registries address blobs by lower-case digests)', () => {
    const upper = `h.example/team/app@sha256:${'AB'.repeat(32)}`;
    expect(parseImageReference(upper)).toBeUndefined();
    expect(imageReferenceProblem(upper)).toBe(`has digest "sha256:${'AB'.repeat(32)}", not sha256:<64 lower-case hex digits>`);
  });

  it('reads a reference pasted with spaces or a newline around it as the reference itself', () => {
    const expected = { registry: 'h.example:5000', repository: 'team/app', tag: '1.0', digest: null };
    for (const pasted of [' h.example:5000/team/app:1.0', 'h.example:5000/team/app:1.0\n', '\t h.example:5000/team/app:1.0 \r\n']) {
      expect(parseImageReference(pasted), JSON.stringify(pasted)).toEqual(expected);
      expect(imageReferenceProblem(pasted), JSON.stringify(pasted)).toBeUndefined();
    }
  });
});

describe('imageReferenceProblem', () => {
  it('says what is wrong with a reference, one reason per mistake (found by a probe: one message for all of them)', () => {
    const cases: Record<string, RegExp> = {
      'http://registry.example.com/team/app:1': /^starts with a URL scheme/,
      'app:1.0': /^names no registry host and repository/,
      'library/app:1.0': /^begins with "library", which is no registry host/,
      'h.example:70000/a:1': /^has port 70000, not one from 1 to 65535$/,
      'h.example/Team/App:1': /^has repository "Team\/App": repositories are lower case$/,
      'h.example/a..b:1': /^has repository "a..b": lower-case letters and digits/,
      'h.example/app': /^names no tag or digest: add :<tag> or @sha256:<digest> \(Orbit does not assume latest\)$/,
      [`h.example/app:${'t'.repeat(129)}`]: /^has tag "t+": 1 to 128 letters/,
      'h.example/app:-x': /^has tag "-x"/,
      'h.example/app@sha256:1234': /^has digest "sha256:1234", not sha256:<64 lower-case hex digits>$/,
      [`h.example/${'a'.repeat(250)}:1`]: /^names h\.example\/a+…, 260 characters; registries take at most 255$/,
      [`h.example/a:${'1'.repeat(600)}`]: /^is \d+ characters; at most 512$/,
      // A bad host name before a good port is the host name's fault, not the port's (found by a review).
      'my_reg.example.com:5000/team/app:1': /^has registry host "my_reg\.example\.com", which holds "_": a host name is letters, digits and dashes, in labels joined by dots$/,
      'my_reg.example.com/team/app:1': /^has registry host "my_reg\.example\.com", which holds "_"/,
      'localhost.:5050/a:1': /^has registry host "localhost\.", which ends with a dot: write it without \(localhost\)$/,
      'reg.example.com.:443/a:1': /^has registry host "reg\.example\.com\.", which ends with a dot: write it without \(reg\.example\.com\)$/,
      'reg..example.com:443/a:1': /^has registry host "reg\.\.example\.com", which has an empty label/,
      ':5000/a:1': /^names a port but no registry host before it$/,
      '[::1:5000/a:1': /^has registry host "\[::1", which is no IPv6 literal/,
      'h.example:http/a:1': /^has port "http", not a number from 1 to 65535$/,
      'my_reg.example.com:70000/a:1': /^has registry host "my_reg\.example\.com"/,
      'localhost:0/a:1': /^has port 0, not one from 1 to 65535$/,
      // Bracketed hosts that are no IPv6 address, and hosts no URL can hold: accepted once, then dead-lettered by the validator (found by a review).
      '[6]/af/x:1': /^has registry host "\[6\]", which is no IPv6 literal \(eight groups of 1 to 4 hex digits/,
      '[1:2:3]:5000/a:1': /^has registry host "\[1:2:3\]", which is no IPv6 literal/,
      '[::1]:0/a:1': /^has port 0, not one from 1 to 65535$/,
      '[::1]:65536/a:1': /^has port 65536, not one from 1 to 65535$/,
      '[::ffff:127.0.0.1]/a:1': /^has registry host "\[::ffff:127\.0\.0\.1\]", which is no IPv6 literal docker's grammar takes: it has no room for a dotted IPv4 part; write \[::ffff:7f00:1\]$/,
      '[fe80::1%eth0]:5000/a:1': /^has registry host "\[fe80::1%eth0\]", which is no IPv6 literal Orbit can pull from: a zone/,
      'reg.5000/a:1': /^has registry host "reg\.5000", which ends in a number, so it is read as an IPv4 address, and is no valid one/,
      '10.0.0.256:5000/a:1': /^has registry host "10\.0\.0\.256", which ends in a number/,
      'xn--a.example/a:1': /^has registry host "xn--a\.example", with an "xn--" label that is no valid punycode/,
    };
    for (const [text, expected] of Object.entries(cases)) {
      expect(parseImageReference(text), text).toBeUndefined();
      expect(imageReferenceProblem(text), text).toMatch(expected);
    }
    expect(imageReferenceProblem('h.example/team/app:1')).toBeUndefined();
    // Parsed, but on a port Node's fetch will not connect to: refused at the door instead of failing in the validator.
    expect(imageReferenceProblem('127.0.0.1:5061/team/app:1')).toMatch(/^names port 5061, one the Fetch standard blocks/);
    expect(imageReferenceProblem('h.example:6000/team/app:1')).toMatch(/^names port 6000/);
    expect(imageReferenceProblem('h.example:5062/team/app:1')).toBeUndefined();
  });

  it('quotes a reference\'s part cut on a character, never inside an emoji (found by a review: the 400 ended in a lone \\ud83d, which strict JSON readers refuse)', () => {
    const emoji = '\u{1F600}';
    const cases: Record<string, string> = {
      [`h.example:${'p'.repeat(19)}${emoji}/a:1`]: `has port "${'p'.repeat(19)}", not a number from 1 to 65535`,
      [`${'a'.repeat(99)}${emoji}/a:1`]: `begins with "${'a'.repeat(99)}", which is no registry host`,
      [`${'a'.repeat(99)}${emoji}.example/a:1`]: `has registry host "${'a'.repeat(99)}", which holds "${emoji}": a host name is`,
      [`h.example/app@sha256:${'a'.repeat(72)}${emoji}`]: `has digest "sha256:${'a'.repeat(72)}", not sha256:`,
      [`h.example/${'a'.repeat(99)}${emoji}:1`]: `has repository "${'a'.repeat(99)}": lower-case letters and digits`,
      [`h.example/A${'a'.repeat(98)}${emoji}:1`]: `has repository "A${'a'.repeat(98)}": repositories are lower case`,
      [`h.example/app:${'t'.repeat(139)}${emoji}`]: `has tag "${'t'.repeat(139)}": 1 to 128 letters`,
    };
    for (const [text, expected] of Object.entries(cases)) {
      const problem = imageReferenceProblem(text) ?? '';
      expect(problem, text).toContain(expected);
      expect(problem, text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }
  });

  it('refuses a registry login pasted into a reference without quoting any of it, as the answer and the log line carry the reason (before: "has port \\"ghp_…@g\\"")', () => {
    const secrets = ['robot', 'ghp_OBS43FAKETOKEN', 'obs43user', 'obs43pass', 'pa/ss', 'p@ss', 'AKIAFAKE', 'wJalrXUtnFEMI', 'ghp_SECRETTOKENPART1'];
    for (const text of [
      'robot:ghp_OBS43FAKETOKEN@ghcr.io/team/app:1', 'obs43user:obs43pass@127.0.0.1:5050/team/app:1', 'ghp_OBS43FAKETOKEN@ghcr.io/team/app:1',
      // A token holding "/" (base64 does), or a password holding "@": the first "/" or "@" is not where the login ends.
      'obs43user:pa/ss@ghcr.io/team/app:1', 'obs43user:p@ss@ghcr.io/team/app@sha256:' + 'a'.repeat(64),
      // As a URL, and with a stray space: the login comes first all the same.
      'https://obs43user:obs43pass@ghcr.io/team/app:1', ' robot:ghp_OBS43FAKETOKEN@ghcr.io/team/app:1',
      // A secret holding "/" before a host with no repository after it (found by a reread: quoted back as a bad port).
      'AKIAFAKE:wJalrXUtnFEMI/K7MDENG@registry.example.com:5000', 'ghp_SECRETTOKENPART1/x@ghcr.io', 'obs43user:obs43pass@ghcr.io',
    ]) {
      expect(parseImageReference(text), text).toBeUndefined();
      const problem = imageReferenceProblem(text) ?? '';
      expect(problem, text).toMatch(/^names credentials before its registry host \(user:password@host\), which Orbit never takes in a reference/);
      for (const secret of secrets) expect(problem, text).not.toContain(secret);
    }
    // An "@" of a digest is no login, however the reference names its registry; nor is one with no "/" at all.
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    for (const text of [`ghcr.io/team/app@${digest}`, `localhost:5000/a@${digest}`, `[::1]:5000/a:1@${digest}`, `h.example/app:1@${digest}`]) {
      expect(parseImageReference(text), text).toMatchObject({ digest });
      expect(imageReferenceProblem(text), text).toBeUndefined();
    }
    expect(imageReferenceProblem(`app@${digest}`)).toMatch(/^names no registry host and repository/);
    expect(imageReferenceProblem('h.example/app@latest')).toMatch(/^has digest "latest"/);
    // A mistyped digest or tag after an "@" is told as what it is, not as a login.
    expect(imageReferenceProblem('ghcr.io/t/a:1@sha256:abc/def')).not.toMatch(/credentials/);
    expect(imageReferenceProblem('h.example/app@v1.2')).not.toMatch(/credentials/);
  });
});
