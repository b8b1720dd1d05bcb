import { describe, expect, it } from 'vitest';
import { RequestRefusedError } from './errors.js';
import { brokenPin, completionPin, completionSha256, declaredBodyDigest, declaredSha256, normalisedSha256, SHA256_PATTERN, type Pins } from './upload-checksum.js';

const HEX = 'ab'.repeat(32);

/** The refusal a call throws: its status, code and the field it names. */
function refusalOf(call: () => unknown): [number, string, string | undefined] {
  try {
    call();
  } catch (error) {
    if (error instanceof RequestRefusedError) return [error.statusCode, error.code, error.problems[0]?.field];
    throw error;
  }
  throw new Error('not refused');
}

/** The message of the refusal a call throws. */
function messageOf(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    if (error instanceof RequestRefusedError) return error.message;
    throw error;
  }
  throw new Error('not refused');
}

describe('a pinned SHA-256', () => {
  it('takes 64 hex digits of either case and the sha256: digest form, stored in lower case', () => {
    expect(normalisedSha256(HEX)).toBe(HEX);
    expect(normalisedSha256(HEX.toUpperCase())).toBe(HEX);
    expect(normalisedSha256(`sha256:${HEX}`)).toBe(HEX);
    expect(normalisedSha256(`SHA256:${HEX.toUpperCase()}`)).toBe(HEX);
  });

  it('takes nothing else: other lengths, other digits, other algorithms, base64', () => {
    for (const written of [HEX.slice(1), `${HEX}0`, `${HEX.slice(1)}g`, `sha512:${HEX}`, `sha256:${HEX.slice(2)}`, Buffer.from(HEX, 'hex').toString('base64'), ` ${HEX}`, '']) {
      expect(normalisedSha256(written), written).toBeUndefined();
    }
  });

  it('publishes the forms it takes as one pattern, the one it reads by', () => {
    const published = new RegExp(SHA256_PATTERN);
    for (const written of [HEX, HEX.toUpperCase(), `sha256:${HEX}`, `SHA256:${HEX}`, HEX.slice(1), `sha512:${HEX}`, '']) {
      expect(published.test(written), written).toBe(normalisedSha256(written) !== undefined);
    }
  });

  it('reads a completion\'s sha256: absent or null pins nothing, anything but a SHA-256 is a 400 naming sha256', () => {
    expect(completionSha256(undefined)).toBeNull();
    expect(completionSha256(null)).toBeNull();
    expect(completionSha256(`sha256:${HEX.toUpperCase()}`)).toBe(HEX);
    for (const sent of ['abc', 42, { sha256: HEX }, [HEX], `md5:${HEX}`]) expect(refusalOf(() => completionSha256(sent))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'sha256']);
  });

  it('pins a completion by its body\'s sha256 or by X-Checksum-Sha256, and refuses the two naming different archives (the header was dropped unread: a bug reread)', () => {
    const OTHER = 'cd'.repeat(32);
    expect(completionPin(undefined, { 'x-checksum-sha256': HEX })).toBe(HEX);
    expect(completionPin(`sha256:${HEX}`, {})).toBe(HEX);
    expect(completionPin(HEX, { 'x-checksum-sha256': `sha256:${HEX.toUpperCase()}` })).toBe(HEX);
    expect(completionPin(undefined, {})).toBeNull();
    expect(refusalOf(() => completionPin(HEX, { 'x-checksum-sha256': OTHER }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-checksum-sha256']);
  });

  it('reads X-Checksum-Sha256: absent pins nothing, a malformed or doubled one is a 400 naming the header', () => {
    expect(declaredSha256({})).toBeNull();
    expect(declaredSha256({ 'x-checksum-sha256': HEX.toUpperCase() })).toBe(HEX);
    expect(declaredSha256({ 'x-checksum-sha256': ` sha256:${HEX} ` })).toBe(HEX);
    // Node joins a header sent twice with ", ".
    for (const value of ['nope', `${HEX}, ${HEX}`, '']) {
      expect(refusalOf(() => declaredSha256({ 'x-checksum-sha256': value }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-checksum-sha256']);
    }
  });

  it('reads the body\'s SHA-256 from Content-Digest (RFC 9530) or Digest (RFC 3230), leaving other algorithms unread', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    expect(declaredBodyDigest({})).toBeNull();
    const fromContentDigest = { header: 'content-digest', name: 'Content-Digest', sha256: HEX };
    expect(declaredBodyDigest({})).toBeNull();
    expect(declaredBodyDigest({ 'content-digest': `sha-256=:${b64}:` })).toEqual(fromContentDigest);
    expect(declaredBodyDigest({ 'content-digest': `sha-512=:${'A'.repeat(86)}==:, sha-256=:${b64}:` })).toEqual(fromContentDigest);
    expect(declaredBodyDigest({ digest: `MD5=HUXZLQLMuI/KZ5KDcJPcOA==, SHA-256=${b64}` })).toEqual({ header: 'digest', name: 'Digest', sha256: HEX });
    expect(declaredBodyDigest({ 'content-digest': `sha-256=:${b64}:`, digest: `SHA-256=${b64}` })).toEqual(fromContentDigest);
    expect(declaredBodyDigest({ 'content-digest': 'sha-512=:AAAA:' })).toBeNull();
  });

  it('reads Content-Digest as a structured field: a quoted parameter may hold a comma, and a key written twice is the last one\'s (RFC 8941)', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    const other = Buffer.from('cd'.repeat(32), 'hex').toString('base64');
    // Split on "," first, the member was cut in two and the pin refused as malformed.
    expect(declaredBodyDigest({ 'content-digest': `sha-256=:${b64}:;note="one, two", sha-512=:AAAA:` })).toMatchObject({ sha256: HEX });
    expect(declaredBodyDigest({ 'content-digest': `sha-512=:AAAA:;note="a, sha-256=:${other}:", sha-256=:${b64}:` })).toMatchObject({ sha256: HEX });
    expect(declaredBodyDigest({ 'content-digest': `sha-256=:${other}:, sha-256=:${b64}:` })).toMatchObject({ sha256: HEX });
  });

  it('refuses an upper-case key (SHA-256=:…:) 400 naming Content-Digest and saying keys are lower case, not as a malformed sha-256', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    expect(refusalOf(() => declaredBodyDigest({ 'content-digest': `SHA-256=:${b64}:` }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-digest']);
    expect(messageOf(() => declaredBodyDigest({ 'content-digest': `SHA-256=:${b64}:` }))).toMatch(/^Content-Digest is not a structured-field dictionary \(.*\): its sha-256 is written sha-256=:<base64 of the 32 bytes>: \(RFC 9530; keys lower case\)/);
    // An unknown algorithm of a lower-case key is still ignored.
    expect(declaredBodyDigest({ 'content-digest': 'sha3-256=:AAAA:' })).toBeNull();
  });

  it('refuses SHA-256 named otherwise (sha256, id-sha-256, Digest: SHA256=) 400 naming the header: the client meant to pin the body, which would go unchecked (a probe)', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    for (const value of [`sha256=:${b64}:`, `id-sha-256=:${b64}:`, `sha-512=:AAAA:, sha256=:${b64}:`]) {
      expect(refusalOf(() => declaredBodyDigest({ 'content-digest': value })), value).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-digest']);
    }
    for (const value of [`SHA256=${b64}`, `sha256=${b64}`]) expect(refusalOf(() => declaredBodyDigest({ digest: value })), value).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.digest']);
    expect(messageOf(() => declaredBodyDigest({ 'content-digest': `sha256=:${b64}:` }))).toContain('names sha256, which is not how RFC 9530 names SHA-256 (sha-256)');
  });

  it('refuses a malformed sha-256 member 400 naming its header: not base64 of 32 bytes, hex, no colons, a string, a header that does not parse, or two headers that disagree', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    const other = Buffer.from('cd'.repeat(32), 'hex').toString('base64');
    for (const value of [`sha-256=${b64}`, `sha-256=:${HEX}:`, 'sha-256=:AAAA:', 'sha-256="abc"', `sha-256=:${b64}:,`]) {
      expect(refusalOf(() => declaredBodyDigest({ 'content-digest': value })), value).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-digest']);
    }
    expect(refusalOf(() => declaredBodyDigest({ digest: `SHA-256=:${b64}:` }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.digest']);
    expect(refusalOf(() => declaredBodyDigest({ 'content-digest': `sha-256=:${b64}:`, digest: `SHA-256=${other}` }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-digest']);
  });
});

describe('brokenPin', () => {
  const other = 'cd'.repeat(32);
  const bodyPin = (sha256: string): Pins => ({ archive: null, body: { header: 'content-digest', name: 'Content-Digest', sha256 } });

  it('finds nothing when every pin holds, or nothing was pinned', () => {
    expect(brokenPin({ archive: null, body: null }, HEX, undefined)).toBeUndefined();
    expect(brokenPin({ archive: HEX, body: null }, HEX, undefined)).toBeUndefined();
    expect(brokenPin(bodyPin(other), null, other)).toBeUndefined();
  });

  it('names X-Checksum-Sha256 when the archive differs from it, or no archive came', () => {
    expect(brokenPin({ archive: HEX, body: null }, other, undefined)).toEqual({
      message: `the archive received hashes to sha256 ${other}, but X-Checksum-Sha256 gave ${HEX}`,
      problem: { field: 'header.x-checksum-sha256', message: `differs from the sha256 of the archive received (${other})` },
    });
    expect(brokenPin({ archive: HEX, body: null }, null, undefined)?.problem.field).toBe('header.x-checksum-sha256');
  });

  it('names the body digest header as the client wrote it when the body differs', () => {
    expect(brokenPin(bodyPin(HEX), null, other)).toEqual({
      message: `the body received hashes to sha256 ${other}, but Content-Digest gave ${HEX} (as hex)`,
      problem: { field: 'header.content-digest', message: `differs from the sha256 of the body received (${other})` },
    });
    expect(brokenPin({ archive: null, body: { header: 'digest', name: 'Digest', sha256: HEX } }, null, other)?.message).toContain('but Digest gave');
  });

  it('tells the archive\'s pin first when both differ', () => {
    expect(brokenPin({ archive: HEX, body: bodyPin(HEX).body }, other, other)?.problem.field).toBe('header.x-checksum-sha256');
  });
});
