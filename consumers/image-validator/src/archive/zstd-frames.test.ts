import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { zstdOf } from '../../test-fixtures/images.js';
import { ZstdFrameWalk } from './zstd-frames.js';

const hasZstd = spawnSync('sh', ['-c', 'command -v zstd']).status === 0;

/** The walk over bytes cut into chunks of `size`: what it passes on, and what it counts after the frames. */
function walked(bytes: Buffer, size: number): { stream: Buffer; trailing: number } {
  const walk = new ZstdFrameWalk();
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(walk.take(bytes.subarray(at, at + size)));
  walk.end();
  const stream = Buffer.concat(parts);
  expect(walk.streamBytes).toBe(stream.length);
  return { stream, trailing: walk.trailingBytes };
}

describe.skipIf(!hasZstd)('ZstdFrameWalk', () => {
  // Raw, RLE and compressed blocks; over 128 KiB, so frames of several blocks.
  const data = Buffer.concat([randomBytes(20_000), Buffer.alloc(300_000, 7), Buffer.from('text '.repeat(20_000))]);
  const frames = [
    zstdOf(data, ['-q']),
    zstdOf(data, ['-q', '--no-check', '-19']),
    zstdOf(Buffer.alloc(0), ['-q']),
    // Several frames, a skippable one between them (pzstd, zstd:chunked).
    Buffer.concat([zstdOf(data.subarray(0, 1000), ['-q']), Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 0xaa, 0xbb]), zstdOf(data.subarray(1000), ['-q', '--no-content-size'])]),
  ];

  it('passes every frame on whole and counts what follows them, however the bytes are cut', { timeout: 30_000 }, () => {
    for (const stream of frames) {
      for (const tail of [Buffer.alloc(0), Buffer.from('hello trailing text'), Buffer.alloc(512), Buffer.from('a'), Buffer.from([0x28, 0xb5, 0x2f])]) {
        for (const size of [1, 3, 4_096, 1 << 20]) {
          expect(walked(Buffer.concat([stream, tail]), size)).toEqual({ stream, trailing: tail.length });
        }
      }
    }
  });

  it('passes a stream cut inside a frame on as it is, for zstd to say it ends early', () => {
    const stream = frames[0]!;
    for (const cut of [5, 100, stream.length - 1]) expect(walked(stream.subarray(0, cut), 7)).toEqual({ stream: stream.subarray(0, cut), trailing: 0 });
  });

  it('passes on what it cannot follow (a reserved block type) whole, for zstd to refuse', () => {
    const stream = Buffer.from(frames[0]!);
    // The first block header follows the frame header, whose length its descriptor byte gives.
    const descriptor = stream[4]!;
    const headerBytes = 1 + ((descriptor >> 5) & 1 ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]! + (descriptor >> 6 === 0 ? (descriptor >> 5) & 1 : [0, 2, 4, 8][descriptor >> 6]!);
    stream[4 + headerBytes] = (stream[4 + headerBytes]! & ~0b110) | 0b110;
    const withTail = Buffer.concat([stream, Buffer.from('after')]);
    expect(walked(withTail, 4_096)).toEqual({ stream: withTail, trailing: 0 });
  });
});
