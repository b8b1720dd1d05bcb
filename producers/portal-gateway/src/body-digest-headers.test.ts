import { describe, expect, it } from 'vitest';
import { declaredBodyDigests } from './body-digest-headers.js';
import { messageOf, refusalOf } from './testing/refusal.js';

const HEX = 'ab'.repeat(32);

describe('declaredBodyDigests', () => {
  it('reads Content-MD5 (RFC 1864: base64 of the whole body\'s MD5) as a pin, and refuses a malformed one 400 naming it (it was left unread: a review)', () => {
    const md5 = Buffer.from('b2'.repeat(16), 'hex').toString('base64');
    expect(declaredBodyDigests({ 'content-md5': ` ${md5} ` })).toEqual([{ header: 'content-md5', name: 'Content-MD5', algorithm: 'md5', hex: 'b2'.repeat(16) }]);
    expect(declaredBodyDigests({ 'content-md5': md5, 'content-digest': `sha-256=:${Buffer.from(HEX, 'hex').toString('base64')}:` }).map((pin) => pin.algorithm)).toEqual(['sha256', 'md5']);
    for (const value of ['b2'.repeat(16), md5.slice(0, -2), `${md5}, ${md5}`, Buffer.from(HEX, 'hex').toString('base64'), '']) {
      expect(refusalOf(() => declaredBodyDigests({ 'content-md5': value })), value).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-md5']);
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
    // RFC 3230's names, and both forms it takes (it offered SHA-256=<base64> alone, in RFC 9530's names: a quality reread).
    expect(messageOf(() => declaredBodyDigests({ digest: 'MD5=HUXZLQLMuI/KZ5KDcJPcOA==' }))).toBe(
      'Digest names MD5, none of which Orbit checks (SHA-256 and SHA-512): the body would go unchecked; send SHA-256=<base64> or SHA-512=<base64>, or leave the header out');
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
