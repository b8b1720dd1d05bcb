import { describe, expect, it } from 'vitest';
import { RequestRefusedError } from './errors.js';
import { completionSha256, declaredBodyDigest, declaredSha256, sha256Of } from './upload-checksum.js';

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

describe('a pinned SHA-256', () => {
  it('takes 64 hex digits of either case and the sha256: digest form, stored in lower case', () => {
    expect(sha256Of(HEX)).toBe(HEX);
    expect(sha256Of(HEX.toUpperCase())).toBe(HEX);
    expect(sha256Of(`sha256:${HEX}`)).toBe(HEX);
    expect(sha256Of(`SHA256:${HEX.toUpperCase()}`)).toBe(HEX);
  });

  it('takes nothing else: other lengths, other digits, other algorithms, base64', () => {
    for (const written of [HEX.slice(1), `${HEX}0`, `${HEX.slice(1)}g`, `sha512:${HEX}`, `sha256:${HEX.slice(2)}`, Buffer.from(HEX, 'hex').toString('base64'), ` ${HEX}`, '']) {
      expect(sha256Of(written), written).toBeUndefined();
    }
  });

  it('reads a completion\'s sha256: absent or null pins nothing, anything but a SHA-256 is a 400 naming sha256', () => {
    expect(completionSha256(undefined)).toBeNull();
    expect(completionSha256(null)).toBeNull();
    expect(completionSha256(`sha256:${HEX.toUpperCase()}`)).toBe(HEX);
    for (const sent of ['abc', 42, { sha256: HEX }, [HEX], `md5:${HEX}`]) expect(refusalOf(() => completionSha256(sent))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'sha256']);
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
    expect(declaredBodyDigest({ 'content-digest': `sha-256=:${b64}:` })).toEqual({ header: 'content-digest', sha256: HEX });
    expect(declaredBodyDigest({ 'content-digest': `sha-512=:${'A'.repeat(86)}==:, sha-256=:${b64}:` })).toEqual({ header: 'content-digest', sha256: HEX });
    expect(declaredBodyDigest({ digest: `MD5=HUXZLQLMuI/KZ5KDcJPcOA==, SHA-256=${b64}` })).toEqual({ header: 'digest', sha256: HEX });
    expect(declaredBodyDigest({ 'content-digest': `sha-256=:${b64}:`, digest: `SHA-256=${b64}` })).toEqual({ header: 'content-digest', sha256: HEX });
    expect(declaredBodyDigest({ 'content-digest': 'sha-512=:AAAA:' })).toBeNull();
  });

  it('refuses a malformed sha-256 member 400 naming its header: not base64 of 32 bytes, hex, no colons, twice, or two headers that disagree', () => {
    const b64 = Buffer.from(HEX, 'hex').toString('base64');
    const other = Buffer.from('cd'.repeat(32), 'hex').toString('base64');
    for (const value of [`sha-256=${b64}`, `sha-256=:${HEX}:`, 'sha-256=:AAAA:', `sha-256=:${b64}:, sha-256=:${other}:`]) {
      expect(refusalOf(() => declaredBodyDigest({ 'content-digest': value })), value).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-digest']);
    }
    expect(refusalOf(() => declaredBodyDigest({ digest: `SHA-256=:${b64}:` }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.digest']);
    expect(refusalOf(() => declaredBodyDigest({ 'content-digest': `sha-256=:${b64}:`, digest: `SHA-256=${other}` }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.content-digest']);
  });
});
