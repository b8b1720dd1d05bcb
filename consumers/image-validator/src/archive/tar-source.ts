import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Readable, pipeline } from 'node:stream';
import { crc32, createGunzip } from 'node:zlib';
import { StoreUnavailableError } from '@orbit/lib';
import { GUNZIP_CHUNK_BYTES } from './gzip-digest.js';
import type { ByteBudget } from './limits.js';
import { ImageRejection, reject } from './rejections.js';
import { startsLikeZstd, ZSTD_COMMAND, ZSTD_MAX_WINDOW, zstdReason } from './zstd-digest.js';
import { ZstdFrameWalk } from './zstd-frames.js';

/** What the outer stream was: counted and hashed as received. */
export interface UploadFacts {
  compression: 'NONE' | 'GZIP' | 'ZSTD';
  sizeBytes: number;
  sha256: string;
}

interface ZlibError extends Error {
  readonly code: string;
  readonly errno: number;
}

function isZlibError(error: unknown): error is ZlibError {
  return error instanceof Error && typeof (error as Partial<ZlibError>).errno === 'number' && String((error as Partial<ZlibError>).code).startsWith('Z_');
}

function asBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}

/**
 * The upload's bytes, hashed and counted as they pass. A failing source is an
 * I/O problem (the staged object could not be read), not a bad archive, so it
 * surfaces as a retriable StoreUnavailableError instead of a rejection.
 */
async function* metered(source: Readable, facts: UploadFacts, upload: ByteBudget): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      let step: IteratorResult<unknown>;
      try {
        step = await iterator.next();
      } catch (error) {
        throw new StoreUnavailableError('the uploaded archive stream', error);
      }
      if (step.done) break;
      const chunk = asBuffer(step.value);
      hash.update(chunk);
      facts.sizeBytes += chunk.length;
      upload.add(chunk.length);
      yield chunk;
    }
    facts.sha256 = hash.digest('hex');
  } finally {
    await iterator.return?.();
  }
}

async function* prepend(first: Buffer, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* rest;
}

/** Why bytes after a gzip stream are refused, whatever they are: tools read them differently. */
function afterGzip(what: string): ImageRejection {
  return new ImageRejection('UNSUPPORTED_ENTRY', `${what}: gzip -d and Go's gzip reader refuse or warn of them, and Orbit stores the upload as it came; send the gzip stream alone`);
}

/**
 * Whether zlib's complaint about a gzip member header is about one after the
 * first: Node's gunzip reads what follows a member (its CRC and length
 * checked) as the next member's header unless a zero byte comes first, so
 * text after a whole gzip stream failed here, not as bytes left over, and was
 * refused as a stream corrupt after what it gave. The upload's own first
 * header is known from its first bytes: it starts with the gzip magic, so
 * "incorrect header check" is always a later one.
 */
function laterHeaderRefused(message: string, head: Buffer): boolean {
  const method = head[2];
  const flags = head[3] ?? 0;
  switch (message) {
    case 'incorrect header check': return true;
    case 'unknown compression method': return method === 8;
    case 'unknown header flags set': return method === 8 && (flags & 0xe0) === 0;
    case 'header crc mismatch': return method === 8 && (flags & 0x02) === 0;
    default: return false;
  }
}

/** Gunzip errors as reason codes: a cut stream is TRUNCATED, garbage from the start is NOT_AN_ARCHIVE, garbage after the end UNSUPPORTED_ENTRY. */
function gzipRejection(error: ZlibError, producedBytes: number, head: Buffer): ImageRejection {
  if (error.code === 'Z_BUF_ERROR') return new ImageRejection('TRUNCATED', `the gzip stream ends early, after ${producedBytes} decompressed bytes`);
  if (laterHeaderRefused(error.message, head)) return afterGzip(`bytes that are no gzip member follow the end of the gzip stream (zlib: ${error.message})`);
  if (producedBytes === 0) return new ImageRejection('NOT_AN_ARCHIVE', `the upload starts like gzip but is not valid gzip (${error.message})`);
  return new ImageRejection('TRUNCATED', `the gzip stream is corrupt after ${producedBytes} decompressed bytes (${error.message})`);
}

/** Enough of the upload's end to hold a gzip trailer and a short header-like tail after it. */
const KEPT_TAIL_BYTES = 72;

/**
 * How many bytes of tail follow a gzip trailer (CRC-32 and length, mod 2^32,
 * of everything decompressed) that ends before them, or 0. A tail too short
 * for a member header (one byte, `\x1f\x8b\x08`) leaves zlib waiting for
 * the rest of it: "unexpected end of file", as for a stream cut inside. Only
 * a single-member stream is told apart so; pigz and gzip write one. Bytes
 * that begin as a member does (`1f 8b 08`, or the first of them) are a next
 * member cut short: 0, TRUNCATED, as a member cut further in is.
 */
function bytesAfterTrailer(tail: Buffer, crc: number, producedBytes: number): number {
  const length = producedBytes % 2 ** 32;
  for (let after = 1; after <= tail.length - 8; after += 1) {
    const end = tail.length - after;
    if (tail.readUInt32LE(end - 8) === crc && tail.readUInt32LE(end - 4) === length) return MEMBER_START.subarray(0, after).equals(tail.subarray(end, end + 3)) ? 0 : after;
  }
  return 0;
}

/** How a gzip member starts: its magic and the deflate method. */
const MEMBER_START = Buffer.from([0x1f, 0x8b, 0x08]);

/**
 * The tar inside a gzip stream. zlib stops at the end of the gzip data and
 * drops what follows when it is no gzip member (zeros, say), and the pipeline
 * would then end the source unread: the upload was accepted with no sha256
 * and a size that stopped there. The source is handed to zlib without its
 * end, so what zlib left is read here, counted and hashed, and refused.
 */
async function* gunzipped(head: Buffer, compressed: AsyncGenerator<Buffer>, decompressed: ByteBudget): AsyncGenerator<Buffer> {
  let fed = 0;
  let tail = Buffer.alloc(0);
  const handedOver: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const step = await compressed.next();
        if (step.done !== true) {
          fed += step.value.length;
          tail = step.value.length >= KEPT_TAIL_BYTES ? Buffer.from(step.value.subarray(-KEPT_TAIL_BYTES)) : Buffer.concat([tail, step.value]).subarray(-KEPT_TAIL_BYTES);
        }
        return step;
      },
      return: async () => ({ done: true, value: undefined }),
    }),
  };
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  // Counted as zlib gives them, not as read below: a failing stream drops what it holds unread, and the trailer check needs it all.
  let produced = 0;
  let crc = 0;
  const push = gunzip.push.bind(gunzip);
  gunzip.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (Buffer.isBuffer(chunk)) {
      produced += chunk.length;
      crc = crc32(chunk, crc);
    }
    return push(chunk, encoding);
  };
  const output = pipeline(Readable.from(handedOver), gunzip, () => undefined);
  let drained = false;
  try {
    for await (const chunk of output as AsyncIterable<Buffer>) {
      decompressed.add(chunk.length);
      yield chunk;
    }
    let rest = 0;
    for (let step = await compressed.next(); step.done !== true; step = await compressed.next()) rest += step.value.length;
    drained = true;
    const after = fed - gunzip.bytesWritten + rest;
    if (after > 0) throw afterGzip(`${after} bytes follow the end of the gzip stream (after ${gunzip.bytesWritten} bytes)`);
  } catch (error) {
    if (!isZlibError(error)) throw error;
    const after = error.code === 'Z_BUF_ERROR' ? bytesAfterTrailer(tail, crc, produced) : 0;
    if (after > 0) throw afterGzip(`${after} bytes follow the end of the gzip stream (after ${fed - after} bytes)`);
    throw gzipRejection(error, produced, head);
  } finally {
    if (!drained) await compressed.return(undefined);
  }
}

/**
 * The tar inside a zstd stream (`docker save | zstd`), decoded by the zstd
 * command as the layers are (ZstdDigest says why a child process): its
 * window capped, every output byte charged to the budget as it comes.
 */
async function* unzstded(compressed: AsyncGenerator<Buffer>, decompressed: ByteBudget): AsyncGenerator<Buffer> {
  const child = spawn(ZSTD_COMMAND, ['-d', '-c', '-q', `--memory=${ZSTD_MAX_WINDOW}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { if (stderr.length < 4_096) stderr += chunk.toString('utf8'); });
  // zstd stops reading at the first bad frame: the write then fails with EPIPE, and its exit status says why.
  child.stdin.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException }>((resolve) => {
    child.on('error', (error: NodeJS.ErrnoException) => resolve({ code: null, signal: null, error }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  // Fed while its output is read; a source that fails (the staged object) fails the upload as an I/O problem.
  // A decoder that quit on bad bytes closes its input (EPIPE): that ends the feeding, and its exit status says why.
  // zstd gets the frames alone: what follows them is read to the end, counted, and refused below.
  const frames = new ZstdFrameWalk();
  const fed = (async () => {
    for await (const chunk of compressed) {
      const part = frames.take(chunk);
      if (child.stdin.writableEnded) continue;
      if (child.stdin.destroyed) return;
      if (part.length > 0 && !child.stdin.write(part)) await Promise.race([once(child.stdin, 'drain').catch(() => undefined), exited]);
      if (frames.trailingBytes > 0) child.stdin.end();
    }
    frames.end();
    if (!child.stdin.writableEnded) child.stdin.end();
  })();
  // Without the rest of its input zstd would wait for ever: stop it, so its output ends and the source's failure surfaces.
  fed.catch(() => child.kill('SIGKILL'));
  let produced = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      produced += chunk.length;
      decompressed.add(chunk.length);
      yield chunk;
    }
    await fed;
    const { code, signal, error } = await exited;
    if (error?.code === 'ENOENT') throw new StoreUnavailableError('the zstd decoder', new Error(`${ZSTD_COMMAND} is not on PATH`));
    if (error || signal !== null) throw new StoreUnavailableError('the zstd decoder', error ?? new Error(`zstd was killed by ${String(signal)}`));
    if (code !== 0) {
      const why = zstdReason(stderr) ?? `zstd exited ${String(code)}`;
      // zstd emits a block only once it has all of it: a stream cut short may have given nothing yet, and says so.
      if (/premature end|truncated/i.test(why)) reject('TRUNCATED', `the zstd stream ends early, after ${produced} decompressed bytes (${why})`);
      if (produced === 0) reject('NOT_AN_ARCHIVE', `the upload starts like zstd but is not valid zstd (${why})`);
      reject('TRUNCATED', `the zstd stream is corrupt after ${produced} decompressed bytes (${why})`);
    }
    if (frames.trailingBytes > 0) {
      reject('UNSUPPORTED_ENTRY', `${frames.trailingBytes} bytes follow the end of the zstd stream (after ${frames.streamBytes} bytes): zstd -d refuses them (or decodes a gzip, xz or lz4 stream there as more of the archive), and Orbit stores the upload as it came; send the zstd stream alone`);
    }
  } finally {
    // Not waiting for the feeding to end: a verdict known early must not wait on an upload that stalls.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/**
 * Other compressors and containers people wrap `docker save` in, by their
 * magic bytes: named in the refusal instead of "invalid tar header". A tar
 * starts with its first entry's name, so only byte strings no archive's
 * first name holds are taken (bzip2's with its block magic, not "BZh" alone).
 */
const startsWith = (...bytes: number[]) => (head: Buffer): boolean => head.length >= bytes.length && bytes.every((byte, at) => head[at] === byte);
const OTHER_FORMATS: readonly { readonly matches: (head: Buffer) => boolean; readonly what: string }[] = [
  { matches: startsWith(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00), what: 'xz-compressed (decompress it first: xz -d, or send it gzip- or zstd-compressed)' },
  { matches: (head) => /^BZh[1-9]1AY&SY/.test(head.subarray(0, 10).toString('latin1')), what: 'bzip2-compressed (decompress it first: bzip2 -d, or send it gzip- or zstd-compressed)' },
  { matches: startsWith(0x04, 0x22, 0x4d, 0x18), what: 'lz4-compressed (decompress it first: lz4 -d, or send it gzip- or zstd-compressed)' },
  { matches: startsWith(0x50, 0x4b, 0x03, 0x04), what: 'a zip file (send the tar inside it)' },
  { matches: startsWith(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c), what: 'a 7-Zip file (send the tar inside it)' },
];
/** Enough of the upload's start to tell all of them apart. */
const MAGIC_BYTES = 10;

/**
 * The tar bytes of an upload: gunzipped or unzstded when its first bytes are
 * their magic (names and content types are never trusted). Every tar byte is charged
 * to the decompression budget, so a bomb stops while it streams.
 */
export async function* tarBytes(source: Readable, facts: UploadFacts, upload: ByteBudget, decompressed: ByteBudget): AsyncGenerator<Buffer> {
  const input = metered(source, facts, upload);
  let head = Buffer.alloc(0);
  while (head.length < MAGIC_BYTES) {
    const step = await input.next();
    if (step.done) break;
    head = Buffer.concat([head, step.value]);
  }
  if (head.length === 0) reject('NOT_AN_ARCHIVE', 'the upload is empty');
  const other = OTHER_FORMATS.find(({ matches }) => matches(head));
  if (other) reject('NOT_AN_ARCHIVE', `the upload is ${other.what}; Orbit reads a tar, or one compressed with gzip or zstd (docker save, docker save | gzip)`);
  if (head[0] === 0x1f && head[1] === 0x8b) {
    facts.compression = 'GZIP';
    yield* gunzipped(head, prepend(head, input), decompressed);
    return;
  }
  if (startsLikeZstd(head)) {
    facts.compression = 'ZSTD';
    try {
      yield* unzstded(prepend(head, input), decompressed);
    } finally {
      // The feeding may still wait on the source when a verdict came early: let go of it, as the other paths do.
      source.destroy();
    }
    return;
  }
  for await (const chunk of prepend(head, input)) {
    decompressed.add(chunk.length);
    yield chunk;
  }
}
