import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PullRefusedError } from './registry-errors.js';
import { requireContentDigest } from './content-digest.js';

const bytes = Buffer.from('{"schemaVersion":2}');
const sha256 = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const sha512 = `sha512:${createHash('sha512').update(bytes).digest('hex')}`;

describe('requireContentDigest', () => {
  it('passes bytes that hash to the header (sha256 or sha512), and no header at all', () => {
    for (const said of [sha256, sha512, ` ${sha256} `, null, '']) expect(() => requireContentDigest(said, bytes, 'r.test/a:1')).not.toThrow();
  });

  it('refuses REGISTRY_ERROR naming the reference and both digests when they differ', () => {
    const said = `sha256:${'a'.repeat(64)}`;
    expect(() => requireContentDigest(said, bytes, 'r.test/a:1')).toThrow(PullRefusedError);
    expect(() => requireContentDigest(said, bytes, 'r.test/a:1')).toThrow(expect.objectContaining({
      reasonCode: 'REGISTRY_ERROR', code: 'ORBIT_ERR_PULL_REFUSED', message: expect.stringMatching(new RegExp(`r\\.test/a:1.*${sha256}.*${said}`)) as unknown,
    }));
  });

  it('refuses a header that is no digest it can check', () => {
    // constructor: and __proto__: are no algorithm either (a plain record found Object for the first: a TypeError).
    for (const said of ['md5:00', 'sha256', 'sha256:XYZ', 'constructor:abc', '__proto__:abc', 'toString:abc']) {
      expect(() => requireContentDigest(said, bytes, 'r.test/a:1'), said).toThrow(expect.objectContaining({ reasonCode: 'REGISTRY_ERROR', message: expect.stringContaining('Docker-Content-Digest') as unknown }));
    }
  });
});
