import { describe, expect, it } from 'vitest';
import { IMAGE_UID_ALPHABET, IMAGE_UID_PATTERN, newImageUID } from './image-uid.js';

describe('newImageUID', () => {
  it('is 60 characters of [A-Za-z0-9], as the API document\'s pattern holds every path to', () => {
    for (let i = 0; i < 100; i++) expect(newImageUID()).toMatch(new RegExp(IMAGE_UID_PATTERN));
  });

  it('drops bytes that would bias the alphabet', () => {
    // 248..255 would map onto the first 8 characters twice as often; they must be skipped.
    let call = 0;
    const biased = (size: number): Buffer => Buffer.alloc(size, call++ === 0 ? 255 : 0);
    expect(newImageUID(biased)).toBe('A'.repeat(60));
    expect(call).toBe(2);
  });

  it('spreads characters evenly', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2_000; i++) for (const char of newImageUID()) counts.set(char, (counts.get(char) ?? 0) + 1);
    const expected = (2_000 * 60) / IMAGE_UID_ALPHABET.length;
    // chi-square with 61 degrees of freedom: 100 is far beyond p = 0.001 (~100.9 is p≈0.001)
    let chiSquare = 0;
    for (const char of IMAGE_UID_ALPHABET) chiSquare += ((counts.get(char) ?? 0) - expected) ** 2 / expected;
    expect(counts.size).toBe(62);
    expect(chiSquare).toBeLessThan(110);
  });
});
