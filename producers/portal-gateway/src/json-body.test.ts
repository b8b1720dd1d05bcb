import { describe, expect, it } from 'vitest';
import { jsonRefusal, notUtf8, strictUtf8 } from './json-body.js';

describe('jsonRefusal', () => {
  it('tells broken JSON (with where it broke) from valid JSON refused for a poisoning key', () => {
    expect(jsonRefusal('{"metadata": {')).toMatch(/^the body is not valid JSON: .*JSON/);
    expect(jsonRefusal(' ')).toBe('the body is empty; send a JSON object');
    expect(jsonRefusal('{"metadata": {"__proto__": {"admin": true}}}')).toMatch(/"__proto__".*prototype poisoning/);
  });
});

describe('notUtf8', () => {
  it('names the first sequence that is not UTF-8 and where it is, and takes U+FFFD sent as itself', () => {
    const text = (...bytes: number[]) => Buffer.concat([Buffer.from('ab\u00e9'), Buffer.from(bytes), Buffer.from('z')]);
    expect(notUtf8(text(0xff))).toMatch(/^is not UTF-8 text: the byte FF at offset 4 does not form/);
    expect(notUtf8(text(0xc0, 0xaf))).toMatch(/^is not UTF-8 text: the bytes C0 AF at offset 4 do not form/);
    expect(notUtf8(text(0xed, 0xa0, 0xbd))).toMatch(/the bytes ED A0 BD at offset 4 /);
    expect(notUtf8(text(0xe2, 0x82))).toMatch(/the bytes E2 82 at offset 4 /);
    expect(notUtf8(text(0xef, 0xbf, 0xbd, 0xf4, 0x90, 0x80, 0x80))).toMatch(/the bytes F4 90 80 80 at offset 7 /);
    expect(notUtf8(text(0xef, 0xbf, 0xbd, 0xf0, 0x9f, 0x9a, 0x80))).toBeUndefined();
    // A leading BOM is kept for the JSON reader, which skips one (RFC 8259 §8.1), as it did before.
    expect(strictUtf8(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toBe('\ufeff{}');
  });
});
