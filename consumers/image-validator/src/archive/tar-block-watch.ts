import { GO_REFUSES, goHeaderProblem, goReadsGnuPrefix, streamTakesAsHeader, type HeaderProblem } from './go-tar-fields.js';
import { reject } from './rejections.js';

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

const roundUp = (bytes: number): number => Math.ceil(bytes / BLOCK) * BLOCK;

/** A run of whole zero blocks, [start, end) in tar bytes. */
interface ZeroRun {
  start: number;
  end: number;
}

/**
 * Watches the raw tar blocks on their way to tar-stream, for what tar-stream
 * reads differently from GNU tar, docker load and skopeo (Go). Orbit stores
 * the archive as it came, so what it validated and pushed must be what loads
 * from the stored archive.
 *
 * - Entries after the end-of-archive marker (zero blocks): tar-stream steps
 *   over zero blocks and reads on, so `cat a.tar b.tar` gave b's entries too;
 *   the others stop at the marker.
 * - GNU headers whose time fields Go reads as a path prefix (goReadsGnuPrefix
 *   in go-tar-fields.ts).
 * - Headers whose numeric fields Go refuses, or reads otherwise, where
 *   tar-stream reads a number and goes on (go-tar-fields.ts): Go's error
 *   ends the archive for docker load and skopeo. tar-stream says through
 *   `framed` which blocks it reads as headers, PAX and long-name ones too.
 *
 * `watch` only notes where whole zero blocks and such headers are; each entry
 * tar-stream reports is then given to `entry`, which refuses it when a zero
 * block lies between the end of the entry before it and its header, or when
 * its header is one Go names otherwise. Long headers (PAX, GNU long names) in
 * that gap hold text, never a whole zero block.
 */
export class TarBlockWatch {
  /** Tar bytes seen so far, and the part of a block the last chunk ended in. */
  private seen = 0;
  private carry = Buffer.alloc(0);
  /** Bytes up to here are headers and data of entries already reported: no need to look at them. */
  private knownUntil = 0;
  /**
   * Zero blocks past knownUntil, as runs: the watch runs only a buffer ahead
   * of tar-stream, but past the last entry tar-stream reads zeros without
   * reporting anything, and gigabytes of them (a few MB gzipped) kept one
   * number per block.
   */
  private zeros: ZeroRun[] = [];
  /** Offsets past knownUntil of blocks Go would name otherwise, should they be headers. */
  private misnamed: number[] = [];
  /** Blocks past knownUntil that tar-stream would take as headers and Go refuses or reads otherwise, by offset: why. */
  private suspects = new Map<number, HeaderProblem>();
  /** The first problem Go has with a header tar-stream framed. */
  private found: HeaderProblem | undefined;

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
    if (this.found !== undefined) reject('UNSUPPORTED_ENTRY', `at entry "${name}", ${this.found}; ${GO_REFUSES}`);
    const headerStart = dataStart - BLOCK;
    const marker = this.zeros.find((run) => run.start < headerStart)?.start;
    if (marker !== undefined) {
      reject('UNSUPPORTED_ENTRY', `entry "${name}" comes after the tar's end-of-archive marker (zero blocks at byte ${marker}): tar, docker load and skopeo stop there and never see it. `
        + 'Two archives joined with cat make this; send one archive (tar -A appends one to another properly)');
    }
    if (this.misnamed.includes(headerStart)) {
      reject('UNSUPPORTED_ENTRY', `entry "${name}" has a GNU header whose time fields are not numbers, which Go's archive/tar (docker load, skopeo) reads as a folder prefix of its name, so tools would name it otherwise; no tar tool writes one: repack the archive`);
    }
    const end = dataStart + roundUp(size);
    this.knownUntil = Math.max(this.knownUntil, end);
    this.zeros = this.zeros.filter((run) => run.end > end).map((run) => ({ start: Math.max(run.start, end), end: run.end }));
    this.misnamed = this.misnamed.filter((offset) => offset >= end);
    for (const offset of this.suspects.keys()) if (offset < end) this.suspects.delete(offset);
  }

  /**
   * tar-stream is about to read the block at `offset` as a header (an
   * entry's, a PAX or long-name one). It reads on from there: blocks before
   * it are no header any more, and are let go (a chain of PAX headers
   * reports no entry, and their data may be blocks of any kind).
   */
  framed(offset: number): void {
    this.found ??= this.suspects.get(offset);
    for (const at of this.suspects.keys()) if (at <= offset) this.suspects.delete(at);
    this.misnamed = this.misnamed.filter((at) => at >= offset);
  }

  /** A problem Go has with a header tar-stream framed that the blocks do not show (PAX records): refused like the others. */
  noteProblem(problem: HeaderProblem): void {
    this.found ??= problem;
  }

  /** Refuses the archive when a framed header had a problem, whether an entry followed it or not. */
  rejectFound(): void {
    if (this.found !== undefined) reject('UNSUPPORTED_ENTRY', `after the last entry tar-stream read, ${this.found}; ${GO_REFUSES}`);
  }

  /** Runs and header offsets kept for later entries: a handful, whatever the archive. */
  get heldOffsets(): number {
    return this.zeros.length + this.misnamed.length + this.suspects.size;
  }

  /** Where the end-of-archive marker starts when zero blocks follow the last reported entry at once; else undefined. */
  markerAfterLastEntry(): number | undefined {
    return this.knownUntil > 0 && this.zeros[0]?.start === this.knownUntil ? this.knownUntil : undefined;
  }

  private note(block: Buffer, offset: number): void {
    if (goReadsGnuPrefix(block)) this.misnamed.push(offset);
    const problem = streamTakesAsHeader(block) ? goHeaderProblem(block) : undefined;
    if (problem !== undefined) this.suspects.set(offset, problem);
  }

  private observe(chunk: Buffer): void {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const start = this.seen - this.carry.length;
    this.seen += chunk.length;
    const whole = data.length - (data.length % BLOCK);
    // Blocks inside entries already reported are data or headers: skipped without a look.
    for (let at = Math.max(0, roundUp(this.knownUntil - start)); at < whole; at += BLOCK) {
      const offset = start + at;
      if (data.compare(ZERO_BLOCK, 0, BLOCK, at, at + BLOCK) === 0) {
        const last = this.zeros.at(-1);
        if (last?.end === offset) last.end = offset + BLOCK;
        else this.zeros.push({ start: offset, end: offset + BLOCK });
      } else {
        this.note(data.subarray(at, at + BLOCK), offset);
      }
    }
    this.carry = Buffer.from(data.subarray(whole));
  }
}
