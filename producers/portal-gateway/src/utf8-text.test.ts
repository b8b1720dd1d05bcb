import { describe, expect, it } from 'vitest';
import { utf8TextOf } from './utf8-text.js';

describe('utf8TextOf', () => {
  const text = (...bytes: number[]) => Buffer.concat([Buffer.from('ab\u00e9'), Buffer.from(bytes), Buffer.from('z')]);
  const problemOf = (bytes: Uint8Array): string | undefined => {
    const decoded = utf8TextOf(bytes);
    return 'problem' in decoded ? decoded.problem : undefined;
  };

  it('names the first sequence that is not UTF-8 and where it is', () => {
    expect(problemOf(text(0xff))).toMatch(/^is not UTF-8 text: the byte FF at offset 4 does not form/);
    expect(problemOf(text(0xc0, 0xaf))).toMatch(/^is not UTF-8 text: the bytes C0 AF at offset 4 do not form/);
    expect(problemOf(text(0xed, 0xa0, 0xbd))).toMatch(/the bytes ED A0 BD at offset 4 /);
    expect(problemOf(text(0xe2, 0x82))).toMatch(/the bytes E2 82 at offset 4 /);
    expect(problemOf(text(0xef, 0xbf, 0xbd, 0xf4, 0x90, 0x80, 0x80))).toMatch(/the bytes F4 90 80 80 at offset 7 /);
  });

  it('gives the text of UTF-8, U+FFFD sent as itself and an emoji included', () => {
    expect(utf8TextOf(text(0xef, 0xbf, 0xbd, 0xf0, 0x9f, 0x9a, 0x80))).toEqual({ text: 'ab\u00e9\ufffd\u{1F680}z' });
  });

  it('keeps a leading BOM for the JSON reader, which skips one (RFC 8259 §8.1), as it did before', () => {
    expect(utf8TextOf(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toEqual({ text: '\ufeff{}' });
  });
});
