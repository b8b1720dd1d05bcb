import { describe, expect, it } from 'vitest';
import { bigDockerArchive, gzipBombBlob, gzipBombStream } from '../../test-fixtures/big-stream.js';
import { archiveOf, blobEntry, buildImage, ociEntries, sha256, streamOf } from '../../test-fixtures/images.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { validateArchive, type ValidationOutcome } from './validate-archive.js';

const MIB = 1024 * 1024;

/** Runs `work` while sampling RSS; returns its result, the peak growth over the start, and the time taken. */
async function measured<T>(work: () => Promise<T>): Promise<{ result: T; peakGrowth: number; ms: number }> {
  globalThis.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
  const began = performance.now();
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, peakGrowth: peak - start, ms: performance.now() - began };
  } finally {
    clearInterval(sampler);
  }
}

function reasonOf(outcome: ValidationOutcome): string {
  return outcome.ok ? 'accepted' : `${outcome.reasonCode}: ${outcome.message}`;
}

describe('validateArchive keeps memory flat and stops bombs while streaming', () => {
  it('validates a generated ~300 MiB docker-archive with RSS growth under 100 MiB', async () => {
    const { result, peakGrowth, ms } = await measured(() => validateArchive(bigDockerArchive(300 * MIB), DEFAULT_VALIDATION_LIMITS));
    expect(reasonOf(result)).toBe('accepted');
    if (result.ok) expect(result.sizeBytes).toBeGreaterThan(300 * MIB);
    expect(peakGrowth).toBeLessThan(100 * MIB);
    console.info(`300 MiB docker-archive: ${(300 / (ms / 1000)).toFixed(0)} MiB/s, peak RSS growth ${(peakGrowth / MIB).toFixed(1)} MiB`);
  }, 60_000);

  it('stops an outer gzip bomb (2 GiB of zeros) at the 64 MiB decompression limit, quickly', async () => {
    const { result, peakGrowth, ms } = await measured(() => validateArchive(gzipBombStream(2 * 1024 * MIB), { ...DEFAULT_VALIDATION_LIMITS, maxDecompressedBytes: 64 * MIB }));
    expect(reasonOf(result)).toMatch(/^TOO_LARGE: the decompressed bytes/);
    expect(ms).toBeLessThan(5_000);
    expect(peakGrowth).toBeLessThan(100 * MIB);
  });

  it('stops a layer gzip bomb (2 GiB of zeros in a 2 MiB blob) at the limit', async () => {
    const image = await buildImage({ layers: [{ files: { a: 'b' } }] });
    const bomb = gzipBombBlob(32);
    const entries = ociEntries(image).map((entry, index) => (index === 4 ? blobEntry(bomb) : entry));
    expect(sha256(bomb)).not.toBe(image.layers[0]!.digest);
    const archive = await archiveOf(entries);
    const { result, peakGrowth, ms } = await measured(() => validateArchive(streamOf(archive), { ...DEFAULT_VALIDATION_LIMITS, maxDecompressedBytes: 64 * MIB }));
    expect(reasonOf(result)).toMatch(/^TOO_LARGE: the decompressed bytes/);
    expect(ms).toBeLessThan(5_000);
    expect(peakGrowth).toBeLessThan(100 * MIB);
  });
});
