import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chartNameOf, earlierOwnerPathsOf, legacyOwnerPathOf, MAX_CHART_NAME, otherOwnerPathsOf, ownerPathIn, ownerPathOf, pushedOwnerPathOf, repositoryPathUnder } from './chart-name.js';

const UID = 'AbCdEfGh1234567890abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP';
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

describe('chartNameOf', () => {
  it.each([
    ['billing-api', 'billing-api'],
    ['Billing API', 'billing-api'],
    ['BillingAPI_v2', 'billingapi-v2'],
    ['Café Crème', 'cafe-creme'],
    ['../../etc/passwd', 'etc-passwd'],
    ['a..b', 'a-b'],
    ['123-service', 'service'],
    ['--x--', 'x'],
    ['Yes', 'yes'],
  ])('%j -> %j', (name, expected) => {
    expect(chartNameOf(name, UID)).toBe(expected);
  });

  it('falls back to the image UID when nothing usable is left', () => {
    for (const name of ['', '..', '日本語', '1234', '---', '🚀']) expect(chartNameOf(name, UID)).toBe('image-abcdefgh');
  });

  it('cuts long names to 53 characters without a trailing dash', () => {
    const name = chartNameOf(`${'word '.repeat(20)}end`, UID);
    expect(name.length).toBeLessThanOrEqual(MAX_CHART_NAME);
    expect(name).toMatch(DNS_LABEL);
    expect(chartNameOf(`${'a'.repeat(52)}-bbbb`, UID)).toBe('a'.repeat(52));
  });

  it('always gives a DNS label that starts with a letter', () => {
    for (const name of ['Ω', 'x'.repeat(100), '9lives', 'ÀÉÎÕÜ', 'a/b\\c', 'tab\tname', 'UPPER_CASE.NAME']) {
      expect(chartNameOf(name, UID)).toMatch(DNS_LABEL);
    }
  });
});

/** The OCI distribution spec's path component. */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

describe('ownerPathOf', () => {
  it('keeps a username that is a path component already, and gives every other spelling a hash of its own', () => {
    expect(ownerPathOf('ada')).toBe('ada');
    expect(ownerPathOf('dev-team-2')).toBe('dev-team-2');
    const spellings = ['Ada', 'ADA', 'ada@example.com', 'Ada Lovelace', 'ａｄａ', 'ada\u200b', '日本語', '', 'ada-0123abcd', 'ada-0123456789abcdef', 'x'.repeat(100)];
    const paths = spellings.map(ownerPathOf);
    for (const [index, path] of paths.entries()) {
      expect(path, spellings[index]).toMatch(PATH_COMPONENT);
      expect(path.length, spellings[index]).toBeLessThanOrEqual(48);
      expect(path, spellings[index]).not.toBe('ada');
    }
    expect(new Set(paths).size).toBe(spellings.length);
    expect(ownerPathOf('ada@example.com')).toMatch(/^ada-example-com-[0-9a-f]{16}$/);
    // A name that looks like a hashed one, of today's spelling or the first, cannot pose as it.
    expect(ownerPathOf(ownerPathOf('Ada'))).not.toBe(ownerPathOf('Ada'));
    expect(ownerPathOf(legacyOwnerPathOf('Ada'))).not.toBe(legacyOwnerPathOf('Ada'));
  });

  it('never gives an owner the path of the shared chart repositories older versions live in', () => {
    expect(ownerPathOf('charts')).toMatch(/^charts-[0-9a-f]{16}$/);
    expect(repositoryPathUnder(ownerPathOf('charts'), chartNameOf('billing-api', UID))).not.toBe('charts/billing-api');
  });

  it('hashes a changed spelling with 64 bits, so a name chosen to share another owner\'s path is out of reach (a review: 8 hex, 2^32 tries)', () => {
    const sha = createHash('sha256').update('Ada.Lovelace@example.com', 'utf8').digest('hex');
    expect(ownerPathOf('Ada.Lovelace@example.com')).toBe(`ada-lovelace-example-com-${sha.slice(0, 16)}`);
    expect(ownerPathOf('x'.repeat(100))).toHaveLength(48);
  });

  it('keeps the first spelling, 8 hex, for the versions recorded before owner paths were, which were pushed there', () => {
    // The first spelling as it was written before 2026-12-06 (bccc42d), frozen: the legacy function must give what it gave.
    const first = (username: string): string => {
      if (/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(username) && username.length <= 48 && !/-[0-9a-f]{8}$/.test(username) && username !== 'charts') return username;
      const slug = username.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+/, '').slice(0, 39).replace(/-+$/, '');
      return `${slug === '' ? 'user' : slug}-${createHash('sha256').update(username, 'utf8').digest('hex').slice(0, 8)}`;
    };
    const names = ['Ada.Lovelace@example.com', 'ada', 'charts', 'ada-0123abcd', 'ada-0123456789abcdef', 'Ada', 'ａｄａ', '日本語', '', 'x'.repeat(100), 'a'.repeat(48), 'a'.repeat(49), 'ada--b', '-ada'];
    for (const name of names) expect(legacyOwnerPathOf(name), name).toBe(first(name));
  });

  it('says where a version was pushed from its row: the path recorded, else what the code of the row\'s time pushed under (review: every pre-12-04 row was read as 8 hex)', () => {
    const at = (createdTimestampUTC: unknown, owner: string | undefined = 'Ada.Lovelace@example.com', ownerPath?: unknown) => pushedOwnerPathOf({ ownerPath, owner, createdTimestampUTC });
    const sha = createHash('sha256').update('Ada.Lovelace@example.com', 'utf8').digest('hex');
    // Recorded (since 2026-12-06), the top recorded as null included, whatever the time.
    expect(at('2026-12-03T12:00:00.000Z', 'Ada.Lovelace@example.com', 'ada-lovelace-example-com-0123456789abcdef')).toBe('ada-lovelace-example-com-0123456789abcdef');
    expect(at('2026-12-06T12:00:00.000Z', 'Ada.Lovelace@example.com', null)).toBeNull();
    // No owner in the row (before b2df259): the top.
    expect(at('2026-11-20T12:00:00.000Z', undefined)).toBeNull();
    // Stored before 0ff7fcf (2026-12-04 18:07:24 UTC): pushed at <prefix>/<chart name>, though the row names its owner.
    expect(at('2026-12-03T12:00:00.000Z')).toBeNull();
    expect(at('2026-12-04T18:07:23.999Z')).toBeNull();
    // From 0ff7fcf until owner paths were recorded: the first spelling, 8 hex.
    expect(at('2026-12-04T18:07:24.000Z')).toBe(`ada-lovelace-example-com-${sha.slice(0, 8)}`);
    expect(at('2026-12-06T07:00:00.000Z')).toBe(`ada-lovelace-example-com-${sha.slice(0, 8)}`);
    // A row whose time cannot be read counts as the latest unrecorded one.
    expect(at(undefined)).toBe(`ada-lovelace-example-com-${sha.slice(0, 8)}`);
  });

  it('gives a user named charts the path their versions were really pushed under: charts/ until 564b6ff hashed it (2026-12-05 20:54:57 UTC)', () => {
    const charts = (createdTimestampUTC: string) => pushedOwnerPathOf({ ownerPath: undefined, owner: 'charts', createdTimestampUTC });
    expect(charts('2026-12-05T10:00:00.000Z')).toBe('charts');
    expect(charts('2026-12-05T20:54:57.000Z')).toBe(legacyOwnerPathOf('charts'));
    expect(legacyOwnerPathOf('charts')).toMatch(/^charts-[0-9a-f]{8}$/);
    expect(charts('2026-12-04T12:00:00.000Z')).toBeNull();
  });

  it('lists every path a row without one may stand for, the top first', () => {
    expect(earlierOwnerPathsOf('charts')).toEqual([null, 'charts', legacyOwnerPathOf('charts')]);
    expect(earlierOwnerPathsOf('ada')).toEqual([null, 'ada']);
    // The others than the time says, for a row that records none (an installation that ran older code past the commits' times).
    expect(otherOwnerPathsOf({ ownerPath: undefined, owner: 'charts', createdTimestampUTC: '2026-12-05T10:00:00.000Z' })).toEqual([null, legacyOwnerPathOf('charts')]);
    expect(otherOwnerPathsOf({ ownerPath: undefined, owner: 'ada', createdTimestampUTC: '2026-12-03T10:00:00.000Z' })).toEqual(['ada']);
    expect(otherOwnerPathsOf({ ownerPath: null, owner: 'ada', createdTimestampUTC: '2026-12-03T10:00:00.000Z' })).toEqual([]);
    expect(otherOwnerPathsOf({ ownerPath: 'ada', owner: 'ada', createdTimestampUTC: '2026-12-03T10:00:00.000Z' })).toEqual([]);
    expect(otherOwnerPathsOf({ ownerPath: undefined, owner: undefined, createdTimestampUTC: '2026-11-03T10:00:00.000Z' })).toEqual([]);
  });

  it('reads the owner path back out of a repository an image was pushed to, and nothing out of one laid out otherwise', () => {
    expect(ownerPathIn('registry.example/orbit/ada-0123abcd/billing-api', 'registry.example/orbit', 'billing-api')).toBe('ada-0123abcd');
    expect(ownerPathIn('registry.example/orbit/ada/billing-api', 'registry.example/orbit/', 'billing-api')).toBe('ada');
    // Pushed at the prefix's top, before owners had paths: no owner path, said as null (not "laid out otherwise").
    expect(ownerPathIn('registry.example/orbit/billing-api', 'registry.example/orbit', 'billing-api')).toBeNull();
    expect(ownerPathIn('registry.example/orbit/billing-api', 'registry.example/orbit/', 'billing-api')).toBeNull();
    expect(ownerPathIn('registry.example/orbit/a/b/billing-api', 'registry.example/orbit', 'billing-api')).toBeUndefined();
    expect(ownerPathIn('elsewhere.example/orbit/ada/billing-api', 'registry.example/orbit', 'billing-api')).toBeUndefined();
    expect(ownerPathIn('registry.example/orbit/ada/other-api', 'registry.example/orbit', 'billing-api')).toBeUndefined();
  });

  it('puts an image under its owner path, named by its chart; one pushed before owners had paths at the top', () => {
    expect(repositoryPathUnder(ownerPathOf('ada'), chartNameOf('Billing API', UID))).toBe('ada/billing-api');
    expect(repositoryPathUnder('ada-0123abcd', 'billing-api')).toBe('ada-0123abcd/billing-api');
    expect(repositoryPathUnder(null, 'billing-api')).toBe('billing-api');
  });
});
