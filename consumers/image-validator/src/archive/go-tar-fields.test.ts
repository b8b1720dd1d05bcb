import { describe, expect, it } from 'vitest';
import { goReadsGnuPrefix, goReadsNumeric, goStarName } from './go-tar-fields.js';

const field = (text: string): Buffer => Buffer.from(text, 'latin1');
const base256 = (...bytes: number[]): Buffer => Buffer.from(bytes);

/** A GNU header with `times` written over its access and change times (bytes 345-369). */
function gnuHeader(times: Buffer): Buffer {
  const block = Buffer.alloc(512);
  block.write('notes.txt', 0, 'latin1');
  block.write('ustar  \0', 257, 'latin1');
  times.copy(block, 345);
  return block;
}

/** One rule for the header fields and the GNU prefix check alike (Go's parseNumeric), not two copies that may part ways. */
describe('Go\'s reading of a tar number field', () => {
  it.each([
    ['octal, NUL-ended', field('00000000450\0'), true],
    ['octal between spaces and NULs', field(' 0000644 \0'), true],
    ['empty (all NUL) or all spaces: zero', field('\0\0\0\0\0\0\0\0'), true],
    ['all spaces', field('        '), true],
    ['digits then junk before the NUL (tar-stream reads 450)', field('00000000450\b'), false],
    ['an 8 or 9', field('0000089\0'), false],
    ['base-256 within 63 bits', base256(0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0), true],
    ['negative base-256 (0xFF)', base256(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe), true],
    ['base-256 past 63 bits', base256(0x80, ...Array<number>(11).fill(0xff)), false],
  ])('%s', (_what, bytes, reads) => {
    expect(goReadsNumeric(bytes)).toBe(reads);
  });

  it('a GNU header\'s times that are no numbers are a path prefix to Go; numbers, empty times or another magic are not', () => {
    expect(goReadsGnuPrefix(gnuHeader(field('zz\0')))).toBe(true);
    expect(goReadsGnuPrefix(gnuHeader(field('14712237415\0 14712237415\0')))).toBe(false);
    expect(goReadsGnuPrefix(gnuHeader(Buffer.alloc(24)))).toBe(false);
    const ustar = gnuHeader(field('zz\0'));
    ustar.write('ustar\x0000', 257, 'latin1');
    expect(goReadsGnuPrefix(ustar)).toBe(false);
    // Go takes the prefix only when it is ASCII.
    expect(goReadsGnuPrefix(gnuHeader(field('z\xe9\0')))).toBe(false);
  });
});

/** A USTAR header with star's trailer and `area` written over bytes 345-500 (star's 131-byte prefix, then its access and change times). */
function starHeader(area: Buffer): Buffer {
  const block = Buffer.alloc(512);
  block.write('index.json', 0, 'latin1');
  block.write('ustar\x0000', 257, 'latin1');
  area.copy(block, 345);
  block.write('tar\0', 508, 'latin1');
  return block;
}

describe('Go\'s reading of a star header\'s name (131-byte prefix where tar-stream reads 155)', () => {
  it('names it otherwise when the prefix fills all 131 bytes and tar-stream reads on into the access time', () => {
    expect(goStarName(starHeader(field(`${'A'.repeat(128)}/..00000000000 `)))).toBe(`${'A'.repeat(128)}/../index.json`);
  });

  it('names it alike when the prefix ends within 131 bytes, the access time starts with NUL, or the trailer is not star\'s', () => {
    expect(goStarName(starHeader(field('extra\0')))).toBeUndefined();
    expect(goStarName(starHeader(field(`${'A'.repeat(131)}\0`)))).toBeUndefined();
    const plain = starHeader(field(`${'A'.repeat(128)}/..00000000000 `));
    plain.fill(0, 508, 512);
    expect(goStarName(plain)).toBeUndefined();
  });
});
