import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { refusalOf } from './testing/refusal.js';
import { archiveHashesOf, archivePinHeader, brokenPin, completionPin, completionSha256, declaredArchiveDigests, declaredSha256, normalisedSha256, pinsOf, SHA256_PATTERN, type Pins } from './upload-checksum.js';

const HEX = 'ab'.repeat(32);

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
});

describe('Artifactory\'s other checksum headers (X-Checksum-Sha1, X-Checksum-Md5, X-Checksum)', () => {
  const SHA1 = 'a1'.repeat(20);
  const MD5 = 'b2'.repeat(16);

  it('reads them as pins of the archive, lower case; X-Checksum by its length (MD5 or SHA-1); none asks for no hashing', () => {
    expect(declaredArchiveDigests({ 'x-checksum-sha1': SHA1.toUpperCase(), 'x-checksum-md5': ` ${MD5} ` })).toEqual([
      { header: 'x-checksum-sha1', name: 'X-Checksum-Sha1', algorithm: 'sha1', hex: SHA1 }, { header: 'x-checksum-md5', name: 'X-Checksum-Md5', algorithm: 'md5', hex: MD5 },
    ]);
    expect(declaredArchiveDigests({ 'x-checksum': MD5 }).map((pin) => pin.algorithm)).toEqual(['md5']);
    expect(declaredArchiveDigests({ 'x-checksum': SHA1 }).map((pin) => pin.algorithm)).toEqual(['sha1']);
    // The same hash twice, agreeing, is one pin.
    expect(declaredArchiveDigests({ 'x-checksum-md5': MD5, 'x-checksum': MD5.toUpperCase() })).toHaveLength(1);
    expect(archiveHashesOf(pinsOf({}))).toEqual([]);
    expect(archiveHashesOf(pinsOf({ 'x-checksum-sha256': HEX }))).toEqual([]);
    expect(archiveHashesOf(pinsOf({ 'x-checksum-sha1': SHA1, 'x-checksum-md5': MD5 }))).toEqual(['sha1', 'md5']);
  });

  it('refuses a malformed one, or two that differ, 400 naming the header, before any body is read (they were left unread: a review)', () => {
    for (const [header, value] of [['x-checksum-sha1', MD5], ['x-checksum-sha1', `${SHA1}, ${SHA1}`], ['x-checksum-md5', SHA1], ['x-checksum-md5', 'not-hex'.padEnd(32, '0')], ['x-checksum', HEX], ['x-checksum-md5', '']] as const) {
      expect(refusalOf(() => pinsOf({ [header]: value })), `${header}: ${value}`).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', `header.${header}`]);
    }
    expect(refusalOf(() => declaredArchiveDigests({ 'x-checksum-md5': MD5, 'x-checksum': 'c3'.repeat(16) }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-checksum-md5']);
  });

  it('refuses them on a completion, which only a SHA-256 pins (the staged archive is not hashed again), and names any on a call without an archive', () => {
    expect(refusalOf(() => completionPin(HEX, { 'x-checksum-sha1': SHA1 }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-checksum-sha1']);
    expect(refusalOf(() => completionPin(undefined, { 'x-checksum': MD5 }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-checksum']);
    expect([archivePinHeader({}), archivePinHeader({ 'x-checksum-md5': MD5 }), archivePinHeader({ 'x-checksum-sha256': HEX, 'x-checksum-sha1': SHA1 })]).toEqual([undefined, 'X-Checksum-Md5', 'X-Checksum-Sha256']);
  });

  it('names the header and its hash when the archive differs, after X-Checksum-Sha256', () => {
    const pins = pinsOf({ 'x-checksum-sha1': SHA1, 'x-checksum-md5': MD5 });
    expect(brokenPin(pins, HEX, {}, { sha1: SHA1, md5: MD5 })).toBeUndefined();
    expect(brokenPin(pins, HEX, {}, { sha1: SHA1, md5: 'c3'.repeat(16) })).toEqual({
      message: `the archive received hashes to md5 ${'c3'.repeat(16)}, but X-Checksum-Md5 gave ${MD5}`,
      problem: { field: 'header.x-checksum-md5', message: `differs from the md5 of the archive received (${'c3'.repeat(16)})` },
    });
    expect(brokenPin({ ...pins, archive: 'cd'.repeat(32) }, HEX, {}, { sha1: 'ff'.repeat(20), md5: MD5 })?.problem.field).toBe('header.x-checksum-sha256');
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

describe('S3\'s checksum headers (x-amz-checksum-*: the base64 of the object\'s digest, the archive here)', () => {
  const base64Of = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
  const SHA1 = 'a1'.repeat(20);

  it('reads x-amz-checksum-sha256 as X-Checksum-Sha256, and x-amz-checksum-sha1 as X-Checksum-Sha1 (a wrong one was ignored and the upload taken: a review)', () => {
    const archive = Buffer.from('archive');
    const sent = { 'x-amz-checksum-sha256': createHash('sha256').update(archive).digest('base64') };
    expect(declaredSha256(sent)).toBe(createHash('sha256').update(archive).digest('hex'));
    expect(pinsOf({ 'x-amz-checksum-sha256': base64Of(HEX) })).toMatchObject({ archive: HEX, archiveHeader: 'x-amz-checksum-sha256' });
    expect(pinsOf({ 'x-checksum-sha256': HEX })).toMatchObject({ archive: HEX, archiveHeader: 'X-Checksum-Sha256' });
    // Both, agreeing, are one pin; the Artifactory header named.
    expect(pinsOf({ 'x-checksum-sha256': HEX, 'x-amz-checksum-sha256': base64Of(HEX) })).toMatchObject({ archive: HEX, archiveHeader: 'X-Checksum-Sha256' });
    expect(declaredArchiveDigests({ 'x-amz-checksum-sha1': base64Of(SHA1) })).toEqual([{ header: 'x-amz-checksum-sha1', name: 'x-amz-checksum-sha1', algorithm: 'sha1', hex: SHA1 }]);
    expect(declaredArchiveDigests({ 'x-amz-checksum-sha1': base64Of(SHA1), 'x-checksum-sha1': SHA1.toUpperCase() })).toHaveLength(1);
    expect(archiveHashesOf(pinsOf({ 'x-amz-checksum-sha1': base64Of(SHA1) }))).toEqual(['sha1']);
    // Headers that name no digest are no pin.
    expect(pinsOf({ 'x-amz-checksum-type': 'FULL_OBJECT', 'x-amz-checksum-algorithm': 'SHA256', 'x-amz-checksum-mode': 'ENABLED' })).toMatchObject({ archive: null, archiveDigests: [] });
  });

  it('names x-amz-checksum-sha256 when the archive differs from it, the digest as hex', () => {
    const other = 'cd'.repeat(32);
    expect(brokenPin(pinsOf({ 'x-amz-checksum-sha256': base64Of(HEX) }), other, {})).toEqual({
      message: `the archive received hashes to sha256 ${other}, but x-amz-checksum-sha256 gave ${HEX} (as hex)`,
      problem: { field: 'header.x-amz-checksum-sha256', message: `differs from the sha256 of the archive received (${other})` },
    });
    expect(brokenPin(pinsOf({ 'x-amz-checksum-sha1': base64Of(SHA1) }), HEX, {}, { sha1: 'ff'.repeat(20) })?.problem.field).toBe('header.x-amz-checksum-sha1');
  });

  it('refuses 400 naming the header a value not in S3\'s form (hex, unpadded, another length, two headers), and two pins that differ', () => {
    for (const value of [HEX, base64Of(HEX).replace('=', ''), base64Of(SHA1), `${base64Of(HEX)}, ${base64Of(HEX)}`, '']) {
      expect(refusalOf(() => pinsOf({ 'x-amz-checksum-sha256': value })), value).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-amz-checksum-sha256']);
    }
    expect(refusalOf(() => pinsOf({ 'x-amz-checksum-sha1': SHA1 }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-amz-checksum-sha1']);
    expect(refusalOf(() => pinsOf({ 'x-checksum-sha256': HEX, 'x-amz-checksum-sha256': base64Of('cd'.repeat(32)) }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-checksum-sha256']);
    expect(refusalOf(() => pinsOf({ 'x-checksum-sha1': 'ff'.repeat(20), 'x-amz-checksum-sha1': base64Of(SHA1) }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-checksum-sha1']);
  });

  it('refuses 400 naming it a checksum the gateway does not compute (CRC32, CRC32C, CRC64NVME, any other), rather than a pin gone unchecked', () => {
    for (const header of ['x-amz-checksum-crc32', 'x-amz-checksum-crc32c', 'x-amz-checksum-crc64nvme', 'x-amz-checksum-xxhash64']) {
      expect(refusalOf(() => pinsOf({ [header]: 'AAAAAA==' })), header).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', `header.${header}`]);
      // Beside a checked one too: S3 takes a single checksum header, and this one would go unchecked.
      expect(refusalOf(() => pinsOf({ 'x-checksum-sha256': HEX, [header]: 'AAAAAA==' })), header).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', `header.${header}`]);
      expect(refusalOf(() => completionPin(HEX, { [header]: 'AAAAAA==' })), header).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', `header.${header}`]);
    }
  });

  it('pins a completion by x-amz-checksum-sha256, as S3\'s CompleteMultipartUpload takes the object\'s checksum, and refuses x-amz-checksum-sha1 there as X-Checksum-Sha1', () => {
    expect(completionPin(undefined, { 'x-amz-checksum-sha256': base64Of(HEX) })).toBe(HEX);
    expect(completionPin(HEX, { 'x-amz-checksum-sha256': base64Of(HEX) })).toBe(HEX);
    expect(refusalOf(() => completionPin('cd'.repeat(32), { 'x-amz-checksum-sha256': base64Of(HEX) }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-amz-checksum-sha256']);
    expect(refusalOf(() => completionPin(HEX, { 'x-amz-checksum-sha1': base64Of(SHA1) }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-amz-checksum-sha1']);
  });

  it('names them on a call without an archive, which a registry reference is', () => {
    expect(archivePinHeader({ 'x-amz-checksum-sha256': base64Of(HEX) })).toBe('x-amz-checksum-sha256');
    expect(archivePinHeader({ 'x-amz-checksum-sha1': base64Of(SHA1) })).toBe('x-amz-checksum-sha1');
    expect(refusalOf(() => archivePinHeader({ 'x-amz-checksum-crc32': 'AAAAAA==' }))).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', 'header.x-amz-checksum-crc32']);
  });
});
