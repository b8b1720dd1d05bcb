import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { archiveOf, buildImage, ociEntries, streamOf } from '../../test-fixtures/images.js';
import { readArchive } from './archive-reader.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { ProgressWatchdog } from './progress-watchdog.js';
import type { ImageRejection } from './rejections.js';

const archive = await archiveOf(ociEntries(await buildImage({ layers: [{ files: { 'app/hello': 'hello\n' } }] })));
const limits = DEFAULT_VALIDATION_LIMITS;
const stallMs = 200;
const never = new Promise<void>(() => { /* the reader never goes on */ });

async function verdictOf(reading: Promise<unknown>): Promise<string> {
  return reading.then(() => 'read', (error: ImageRejection) => `${error.reasonCode}: ${error.message}`);
}

describe('a reader that stops making progress once the upload is in', () => {
  it('TRUNCATED after the stall time, rather than holding the partition for ever (a tar-stream misreading once did)', async () => {
    // 1. The reader stalls on the last entry, after the feeder has handed over every byte.
    const started = Date.now();
    const verdict = await verdictOf(readArchive(streamOf(archive, 4096), limits, { stallMs, beforeEntry: async (name) => (name === 'index.json' ? never : undefined) }));
    // 2. The verdict comes about stallMs after that, with what happened.
    expect(verdict).toMatch(/^TRUNCATED: the archive's reader stopped making progress: for 0\.2 s it took none of the bytes it had, after \d+ entries/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('TRUNCATED also while the upload waits on the reader (more bytes than tar-stream buffers)', async () => {
    const big = await archiveOf(ociEntries(await buildImage({ layers: [{ files: { 'app/data': randomBytes(4 * 1024 * 1024).toString('base64') } }] })));
    let feederEnded = false;
    const upload = Readable.from((async function* () {
      yield* streamOf(big, 64 * 1024);
      feederEnded = true;
    })());
    const verdict = await verdictOf(readArchive(upload, limits, { stallMs, beforeEntry: async (name) => (name === 'index.json' ? never : undefined) }));
    expect(verdict).toMatch(/^TRUNCATED: the archive's reader stopped making progress/);
    expect(feederEnded).toBe(false);
  });

  it('waits as long as upload bytes still come, however slowly', async () => {
    const slow = Readable.from((async function* () {
      for (let at = 0; at < archive.length; at += 2048) {
        await new Promise((resolve) => { setTimeout(resolve, 60); });
        yield archive.subarray(at, at + 2048);
      }
    })());
    // Several times stallMs pass in all, none of them after the last byte.
    expect(await verdictOf(readArchive(slow, limits, { stallMs: 50 }))).toBe('read');
  });

  it('fires only when the stall is that long since the last progress, and never disarmed or stopped', () => {
    // Fake clocks: real 40 ms steps against an 80 ms stall failed whenever a loaded runner was late by 40 ms.
    vi.useFakeTimers();
    try {
      let fired = 0;
      const watchdog = new ProgressWatchdog(80, () => { fired += 1; });
      watchdog.arm();
      // 1. Progress every 79 ms keeps it quiet, however long that goes on.
      for (let step = 0; step < 10; step += 1) {
        vi.advanceTimersByTime(79);
        watchdog.progress();
      }
      expect(fired).toBe(0);
      // 2. It fires 80 ms after the last progress, not a millisecond before, and once.
      vi.advanceTimersByTime(79);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(1);
      expect(fired).toBe(1);
      vi.advanceTimersByTime(1_000);
      expect(fired).toBe(1);
      // 3. Disarmed (the reader waits for upload bytes), no time counts; armed again, the stall counts from then.
      const waiting = new ProgressWatchdog(80, () => { fired += 1; });
      waiting.arm();
      waiting.disarm();
      vi.advanceTimersByTime(1_000);
      waiting.arm();
      vi.advanceTimersByTime(79);
      expect(fired).toBe(1);
      vi.advanceTimersByTime(1);
      expect(fired).toBe(2);
      // 4. Stopped, it never fires.
      const stopped = new ProgressWatchdog(20, () => { fired += 1; });
      stopped.arm();
      stopped.stop();
      vi.advanceTimersByTime(1_000);
      expect(fired).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
