import { reject } from './rejections.js';

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

const roundUp = (bytes: number): number => Math.ceil(bytes / BLOCK) * BLOCK;

/**
 * Finds entries that come after the tar's end-of-archive marker (zero
 * blocks). tar-stream steps over zero blocks and reads on, so `cat a.tar
 * b.tar` gave b's entries too; GNU tar, docker load and skopeo stop at the
 * marker. Orbit stores the archive as it came, so what it validated and
 * pushed would not be what loads from the stored archive.
 *
 * The tar bytes pass through `watch` on their way to tar-stream, which only
 * notes where whole zero blocks are; each entry tar-stream reports is then
 * given to `entry`, which refuses it when a zero block lies between the end
 * of the entry before it and its header. Long headers (PAX, GNU long names)
 * in that gap hold text, never a whole zero block.
 */
export class EndOfArchiveWatch {
  /** Tar bytes seen so far, and the part of a block the last chunk ended in. */
  private seen = 0;
  private carry = Buffer.alloc(0);
  /** Bytes up to here are headers and data of entries already reported: no need to look at them. */
  private knownUntil = 0;
  /** Offsets of zero blocks past knownUntil, in order; few, since the watch runs only a buffer ahead of tar-stream. */
  private zeros: number[] = [];

  async *watch(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      this.observe(chunk);
      yield chunk;
    }
  }

  /**
   * An entry as tar-stream reports it: `dataStart` is where its data begins
   * (its header is the block before), `size` its data's length.
   */
  entry(name: string, dataStart: number, size: number): void {
    const headerStart = dataStart - BLOCK;
    const marker = this.zeros.find((offset) => offset < headerStart);
    if (marker !== undefined) {
      reject('UNSUPPORTED_ENTRY', `entry "${name}" comes after the tar's end-of-archive marker (zero blocks at byte ${marker}): tar, docker load and skopeo stop there and never see it. `
        + 'Two archives joined with cat make this; send one archive (tar -A appends one to another properly)');
    }
    const end = dataStart + roundUp(size);
    this.knownUntil = Math.max(this.knownUntil, end);
    this.zeros = this.zeros.filter((offset) => offset >= end);
  }

  /** Where the end-of-archive marker starts when zero blocks follow the last reported entry at once; else undefined. */
  markerAfterLastEntry(): number | undefined {
    return this.knownUntil > 0 && this.zeros[0] === this.knownUntil ? this.knownUntil : undefined;
  }

  private observe(chunk: Buffer): void {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const start = this.seen - this.carry.length;
    this.seen += chunk.length;
    const whole = data.length - (data.length % BLOCK);
    // Blocks inside entries already reported are data or headers: skipped without a look.
    for (let at = Math.max(0, roundUp(this.knownUntil - start)); at < whole; at += BLOCK) {
      if (data.compare(ZERO_BLOCK, 0, BLOCK, at, at + BLOCK) === 0) this.zeros.push(start + at);
    }
    this.carry = Buffer.from(data.subarray(whole));
  }
}
