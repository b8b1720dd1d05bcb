import { checksumReader, GO_REFUSES, goHeaderProblem, goReadsGnuPrefix, goStarName, typeflagStreamLacks, type HeaderProblem } from './go-tar-fields.js';
import { reject } from './rejections.js';

/** Old GNU tar's "names" typeflag 'N': tar-stream takes its data for the next entry's name, Go, GNU tar and bsdtar read an entry of its own. */
const OLD_GNU_NAMES = 'N'.charCodeAt(0);
const TYPEFLAG_AT = 156;
const OLD_GNU_NAMES_PROBLEM = 'a header of typeflag "N" (old GNU tar\'s names), which tar-stream reads as the long name of the entry after it and Go (docker load, skopeo), GNU tar and bsdtar as an entry of its own';
/** Why a header is refused: Go refuses most, and reads the old GNU names header otherwise. */
const whyRefused = (problem: HeaderProblem): string => (problem === OLD_GNU_NAMES_PROBLEM ? 'so tools would read the archive differently; no image tool writes one: repack the archive' : GO_REFUSES);
const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

const roundUp = (bytes: number): number => Math.ceil(bytes / BLOCK) * BLOCK;

/** A stretch of tar bytes, [start, end): a run of whole zero blocks, or a long header's data. */
interface Extent {
  start: number;
  end: number;
}

/** The runs less what lies inside `cut`. */
function carve(runs: readonly Extent[], cut: Extent): Extent[] {
  return runs.flatMap((run) => [{ start: run.start, end: Math.min(run.end, cut.start) }, { start: Math.max(run.start, cut.end), end: run.end }])
    .filter((part) => part.start < part.end);
}

const GNU_PREFIX = 'has a GNU header whose time fields are not numbers, which Go\'s archive/tar (docker load, skopeo) reads as a folder prefix of its name, so tools would name it otherwise; no tar tool writes one: repack the archive';

/** Why Go's archive/tar names the entry of a header block otherwise than tar-stream, as the end of a sentence about it; undefined when they agree. */
function goNamesOtherwise(block: Buffer): string | undefined {
  if (goReadsGnuPrefix(block)) return GNU_PREFIX;
  const goName = goStarName(block);
  return goName === undefined ? undefined : `has a header ending in star's trailer "tar\\x00", which Go's archive/tar (docker load, skopeo, containerd) reads with a 131-byte name prefix where tar-stream reads 155 bytes: `
    + `Go names it ${JSON.stringify(goName)}, so tools would unpack different files; no tar tool writes one: repack the archive`;
}

/** Deletes the keys below `bound`. */
function forgetBelow(offsets: Map<number, unknown> | Set<number>, bound: number): void {
  for (const offset of offsets.keys()) if (offset < bound) offsets.delete(offset);
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
 * that gap may hold whole zero blocks (an xattr of zeros in a SCHILY.xattr
 * record, a name whose NUL is alone in its last block): tar-stream says
 * where their data lies (`longHeaderData`) and zeros there are no marker.
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
  private zeros: Extent[] = [];
  /** The data of the long header tar-stream read last: blocks there are no headers, and zeros no marker. */
  private longData: Extent = { start: 0, end: 0 };
  /** Blocks past knownUntil that Go would name otherwise, should they be headers, by offset: why (goNamesOtherwise). */
  private misnamed = new Map<number, string>();
  /** Blocks past knownUntil that tar-stream would take as headers and Go refuses or reads otherwise, by offset: why. */
  private suspects = new Map<number, HeaderProblem>();
  /** Blocks past knownUntil that tar-stream would take as headers of a type it does not know, by offset: their typeflag as written. */
  private strangeTypes = new Map<number, string>();
  /** Blocks past knownUntil whose checksum only Go takes (summed over signed bytes). */
  private signedOnly = new Set<number>();
  /** Where the header tar-stream read last starts, when only Go takes its checksum. */
  private signedHeader: number | undefined;
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
    if (this.found !== undefined) reject('UNSUPPORTED_ENTRY', `at entry "${name}", ${this.found}; ${whyRefused(this.found)}`);
    const headerStart = dataStart - BLOCK;
    const marker = this.zeros.find((run) => run.start < headerStart)?.start;
    if (marker !== undefined) {
      reject('UNSUPPORTED_ENTRY', `entry "${name}" comes after the tar's end-of-archive marker (zero blocks at byte ${marker}): tar, docker load and skopeo stop there and never see it. `
        + 'Two archives joined with cat make this; send one archive (tar -A appends one to another properly)');
    }
    const misnamed = this.misnamed.get(headerStart);
    if (misnamed !== undefined) reject('UNSUPPORTED_ENTRY', `entry "${name}" ${misnamed}`);
    const end = dataStart + roundUp(size);
    this.knownUntil = Math.max(this.knownUntil, end);
    this.zeros = carve(this.zeros, { start: 0, end });
    for (const offsets of [this.misnamed, this.suspects, this.strangeTypes, this.signedOnly]) forgetBelow(offsets, end);
  }

  /**
   * tar-stream is about to read the block at `offset` as a header (an
   * entry's, a PAX or long-name one). It reads on from there: blocks before
   * it are no header any more, and are let go (a chain of PAX headers
   * reports no entry, and their data may be blocks of any kind).
   */
  framed(offset: number): void {
    this.found ??= this.suspects.get(offset);
    this.signedHeader = this.signedOnly.has(offset) ? offset : undefined;
    forgetBelow(this.suspects, offset + 1);
    forgetBelow(this.signedOnly, offset + 1);
    // The header at offset is still to be named and typed (entry, typeflagAt).
    forgetBelow(this.misnamed, offset);
    forgetBelow(this.strangeTypes, offset);
  }

  /**
   * tar-stream has read the data of a PAX or GNU long-name header, `length`
   * bytes from `start`: what lies there, up to its last block's end, is the
   * header's data, zero blocks too (they may still be on their way).
   */
  longHeaderData(start: number, length: number): void {
    this.longData = { start, end: start + roundUp(length) };
    this.zeros = carve(this.zeros, this.longData);
  }

  /** The typeflag, as written, of the header at `offset` when tar-stream knows no such type; else undefined. */
  typeflagAt(offset: number): string | undefined {
    return this.strangeTypes.get(offset);
  }

  /** Where the header tar-stream read last starts when its checksum is one only Go takes (summed over signed bytes); else undefined. */
  signedChecksumHeader(): number | undefined {
    return this.signedHeader;
  }

  /** A problem Go has with a header tar-stream framed that the blocks do not show (PAX records): refused like the others. */
  noteProblem(problem: HeaderProblem): void {
    this.found ??= problem;
  }

  /** Refuses the archive when a framed header had a problem, whether an entry followed it or not. */
  rejectFound(): void {
    if (this.found !== undefined) reject('UNSUPPORTED_ENTRY', `after the last entry tar-stream read, ${this.found}; ${whyRefused(this.found)}`);
  }

  /** Runs and header offsets kept for later entries: a handful, whatever the archive. */
  get heldOffsets(): number {
    return this.zeros.length + this.misnamed.size + this.suspects.size + this.strangeTypes.size + this.signedOnly.size;
  }

  /** Where the end-of-archive marker starts when zero blocks follow the last reported entry at once; else undefined. */
  markerAfterLastEntry(): number | undefined {
    return this.knownUntil > 0 && this.zeros[0]?.start === this.knownUntil ? this.knownUntil : undefined;
  }

  private note(block: Buffer, offset: number): void {
    const misnamed = goNamesOtherwise(block);
    if (misnamed !== undefined) this.misnamed.set(offset, misnamed);
    const reader = checksumReader(block);
    if (reader === 'go-only') this.signedOnly.add(offset);
    if (reader !== 'tar-stream') return;
    const problem = block[TYPEFLAG_AT] === OLD_GNU_NAMES ? OLD_GNU_NAMES_PROBLEM : goHeaderProblem(block);
    if (problem !== undefined) this.suspects.set(offset, problem);
    const typeflag = typeflagStreamLacks(block);
    if (typeflag !== undefined) this.strangeTypes.set(offset, typeflag);
  }

  private observe(chunk: Buffer): void {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const start = this.seen - this.carry.length;
    this.seen += chunk.length;
    const whole = data.length - (data.length % BLOCK);
    // Blocks inside entries already reported are data or headers: skipped without a look.
    for (let at = Math.max(0, roundUp(this.knownUntil - start)); at < whole; at += BLOCK) {
      const offset = start + at;
      if (offset >= this.longData.start && offset < this.longData.end) continue;
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
