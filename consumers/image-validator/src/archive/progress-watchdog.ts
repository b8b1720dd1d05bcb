/**
 * How long the archive's reader may go without reading a byte or starting
 * an entry while it has bytes to take: the upload's last byte is in, or a
 * chunk of it waits for the reader. Each chunk takes the reader milliseconds
 * (a zstd layer's child process included); a reader silent for this long
 * waits for bytes that will never come. Twice a tar-stream misreading (a size field it read as null)
 * made it wait for ever, and the validator's partition with it until a
 * restart: whatever else could do that, this ends it with a verdict.
 */
export const READER_STALL_MS = 30_000;

/**
 * Fires `onStall` once `stallMs` pass without `progress()` while armed.
 * Disarmed it never fires: while the reader waits for upload bytes, a slow
 * upload is not a stalled reader.
 */
export class ProgressWatchdog {
  private last = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly stallMs: number, private readonly onStall: () => void) {}

  progress(): void {
    this.last = Date.now();
  }

  /** The reader has bytes to take from now on: the stall is counted from here. */
  arm(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.last = Date.now();
    this.schedule(this.stallMs);
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      const idle = Date.now() - this.last;
      if (idle < this.stallMs) {
        this.schedule(this.stallMs - idle);
        return;
      }
      this.stopped = true;
      this.onStall();
    }, delay);
    // A pending check never keeps the process alive by itself.
    this.timer.unref();
  }
}
