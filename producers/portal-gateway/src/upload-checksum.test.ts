import { describe, expect, it } from 'vitest';
import { RequestRefusedError } from './errors.js';
import { brokenPin, completionPin, completionSha256, declaredBodyDigests, declaredSha256, normalisedSha256, SHA256_PATTERN, type Pins } from './upload-checksum.js';

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

  it('reads the body\'s SHA-256 or SHA-512 from Content-Digest or Repr-Digest (RFC 9530) or Digest (RFC 3230), other algorithms beside them unread', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    const hex512 = 'ef'.repeat(64);
    const b64512 = Buffer.from(hex512, 'hex').toString('base64');
    expect(declaredBodyDigests({})).toEqual([]);
    const fromContentDigest = { header: 'content-digest', name: 'Content-Digest', algorithm: 'sha256', hex: HEX };
    expect(declaredBodyDigests({ 'content-digest': `sha-256=:${b64}:` })).toEqual([fromContentDigest]);
    expect(declaredBodyDigests({ 'content-digest': `sha-512=:${b64512}:, sha-256=:${b64}:` })).toEqual([fromContentDigest, { ...fromContentDigest, algorithm: 'sha512', hex: hex512 }]);
    expect(declaredBodyDigests({ digest: `MD5=HUXZLQLMuI/KZ5KDcJPcOA==, SHA-256=${b64}` })).toEqual([{ header: 'digest', name: 'Digest', algorithm: 'sha256', hex: HEX }]);
    expect(declaredBodyDigests({ digest: `SHA-512=${b64512}` })).toEqual([{ header: 'digest', name: 'Digest', algorithm: 'sha512', hex: hex512 }]);
    // The same digest twice is one pin: the first header's.
    expect(declaredBodyDigests({ 'content-digest': `sha-256=:${b64}:`, digest: `SHA-256=${b64}` })).toEqual([fromContentDigest]);
    // Found by a review: Repr-Digest was not read, and a body pinned by it alone went unchecked.
    expect(declaredBodyDigests({ 'repr-digest': `sha-256=:${b64}:` })).toEqual([{ header: 'repr-digest', name: 'Repr-Digest', algorithm: 'sha256', hex: HEX }]);
  });

  it('refuses a digest header naming no algorithm Orbit checks (sha-512 alone was taken unchecked, as was md5), 400 naming it', () => {
    for (const [headers, field] of [
      [{ 'content-digest': 'sha3-256=:AAAA:' }, 'header.content-digest'],
      [{ 'repr-digest': 'md5=:HUXZLQLMuI/KZ5KDcJPcOA==:' }, 'header.repr-digest'],
      [{ digest: 'MD5=HUXZLQLMuI/KZ5KDcJPcOA==' }, 'header.digest'],
      [{ digest: 'UNIXsum=30637' }, 'header.digest'],
    ] as const) {
      expect(refusalOf(() => declaredBodyDigests(headers)), JSON.stringify(headers)).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', field]);
    }
    expect(messageOf(() => declaredBodyDigests({ 'content-digest': 'sha3-256=:AAAA:' }))).toContain('Content-Digest names sha3-256, none of which Orbit checks (sha-256 and sha-512)');
    // A sha-512 member of the wrong length is malformed, not unread.
    expect(refusalOf(() => declaredBodyDigests({ 'content-digest': 'sha-512=:AAAA:' }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-digest']);
  });

  it('reads Content-Digest as a structured field: a quoted parameter may hold a comma, and a key written twice is the last one\'s (RFC 8941)', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    const other = Buffer.from('cd'.repeat(32), 'hex').toString('base64');
    // Split on "," first, the member was cut in two and the pin refused as malformed.
    expect(declaredBodyDigests({ 'content-digest': `sha-256=:${b64}:;note="one, two", sha3-512=:AAAA:` })).toMatchObject([{ hex: HEX }]);
    expect(declaredBodyDigests({ 'content-digest': `sha3-512=:AAAA:;note="a, sha-256=:${other}:", sha-256=:${b64}:` })).toMatchObject([{ hex: HEX }]);
    expect(declaredBodyDigests({ 'content-digest': `sha-256=:${other}:, sha-256=:${b64}:` })).toMatchObject([{ hex: HEX }]);
  });

  it('refuses an upper-case key (SHA-256=:…:) 400 naming Content-Digest and saying keys are lower case, not as a malformed sha-256', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    expect(refusalOf(() => declaredBodyDigests({ 'content-digest': `SHA-256=:${b64}:` }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-digest']);
    expect(messageOf(() => declaredBodyDigests({ 'content-digest': `SHA-256=:${b64}:` }))).toMatch(/^Content-Digest is not a structured-field dictionary \(.*\): its digest is written sha-256=:<base64 of the 32 bytes>: or sha-512=:<base64 of the 64 bytes>: \(RFC 9530; keys lower case\)/);
  });

  it('refuses SHA-256 named otherwise (sha256, id-sha-256, Digest: SHA256=) 400 naming the header: the client meant to pin the body, which would go unchecked (a probe)', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    for (const value of [`sha256=:${b64}:`, `id-sha-256=:${b64}:`, `sha3-512=:AAAA:, sha256=:${b64}:`, `sha512=:${b64}:`]) {
      expect(refusalOf(() => declaredBodyDigests({ 'content-digest': value })), value).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-digest']);
    }
    for (const value of [`SHA256=${b64}`, `sha256=${b64}`]) expect(refusalOf(() => declaredBodyDigests({ digest: value })), value).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.digest']);
    expect(messageOf(() => declaredBodyDigests({ 'content-digest': `sha256=:${b64}:` }))).toContain('names sha256, which is not how RFC 9530 names SHA-256 (sha-256)');
  });

  it('refuses a malformed sha-256 member 400 naming its header: not base64 of 32 bytes, hex, no colons, a string, a header that does not parse, or two headers that disagree', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    const other = Buffer.from('cd'.repeat(32), 'hex').toString('base64');
    for (const value of [`sha-256=${b64}`, `sha-256=:${HEX}:`, 'sha-256=:AAAA:', 'sha-256="abc"', `sha-256=:${b64}:,`]) {
      expect(refusalOf(() => declaredBodyDigests({ 'content-digest': value })), value).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-digest']);
    }
    expect(refusalOf(() => declaredBodyDigests({ digest: `SHA-256=:${b64}:` }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.digest']);
    expect(refusalOf(() => declaredBodyDigests({ 'content-digest': `sha-256=:${b64}:`, digest: `SHA-256=${other}` }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-digest']);
  });
});

describe('brokenPin', () => {
  const other = 'cd'.repeat(32);
  const contentDigest = (hex: string, algorithm: 'sha256' | 'sha512' = 'sha256') => ({ header: 'content-digest', name: 'Content-Digest', algorithm, hex }) as const;
  const bodyPin = (hex: string): Pins => ({ archive: null, body: [contentDigest(hex)] });

  it('finds nothing when every pin holds, or nothing was pinned', () => {
    expect(brokenPin({ archive: null, body: [] }, HEX, {})).toBeUndefined();
    expect(brokenPin({ archive: HEX, body: [] }, HEX, {})).toBeUndefined();
    expect(brokenPin(bodyPin(other), null, { sha256: other })).toBeUndefined();
    expect(brokenPin({ archive: null, body: [contentDigest(other), contentDigest(HEX, 'sha512')] }, null, { sha256: other, sha512: HEX })).toBeUndefined();
  });

  it('names X-Checksum-Sha256 when the archive differs from it, or no archive came', () => {
    expect(brokenPin({ archive: HEX, body: [] }, other, {})).toEqual({
      message: `the archive received hashes to sha256 ${other}, but X-Checksum-Sha256 gave ${HEX}`,
      problem: { field: 'header.x-checksum-sha256', message: `differs from the sha256 of the archive received (${other})` },
    });
    expect(brokenPin({ archive: HEX, body: [] }, null, {})?.problem.field).toBe('header.x-checksum-sha256');
  });

  it('names the body digest header as the client wrote it, and its algorithm, when the body differs', () => {
    expect(brokenPin(bodyPin(HEX), null, { sha256: other })).toEqual({
      message: `the body received hashes to sha256 ${other}, but Content-Digest gave ${HEX} (as hex)`,
      problem: { field: 'header.content-digest', message: `differs from the sha256 of the body received (${other})` },
    });
    expect(brokenPin({ archive: null, body: [{ header: 'digest', name: 'Digest', algorithm: 'sha256', hex: HEX }] }, null, { sha256: other })?.message).toContain('but Digest gave');
    expect(brokenPin({ archive: null, body: [contentDigest(other), contentDigest(HEX, 'sha512')] }, null, { sha256: other, sha512: other })?.message)
      .toBe(`the body received hashes to sha512 ${other}, but Content-Digest gave ${HEX} (as hex)`);
  });

  it('tells the archive\'s pin first when both differ', () => {
    expect(brokenPin({ archive: HEX, body: bodyPin(HEX).body }, other, { sha256: other })?.problem.field).toBe('header.x-checksum-sha256');
  });
});
