import { describe, expect, it } from 'vitest';
import { streamedPartBytes } from './staging.js';

const GIB = 1024 ** 3;

describe('the parts a streamed upload is sent in', () => {
  it('fit any upload the limit lets through into S3\'s 10 000 parts (5 MiB parts end at 48 GiB)', () => {
    expect(streamedPartBytes(10 * GIB)).toBe(5 * 1024 ** 2);
    for (const limit of [48 * GIB, 49 * GIB, 100 * GIB, 5 * 1024 * GIB]) expect(Math.ceil(limit / streamedPartBytes(limit))).toBeLessThanOrEqual(10_000);
  });
});
