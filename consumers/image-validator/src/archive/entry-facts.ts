import { createHash } from 'node:crypto';
import { GunzipDigest } from './gzip-digest.js';
import type { Decoded, LayerDecoder } from './layer-decoder.js';
import type { ByteBudget } from './limits.js';
import { startsLikeZstd, ZstdDigest } from './zstd-digest.js';

export type Compression = 'none' | 'gzip' | 'zstd';

/** What one regular file of the outer archive turned out to be; its bytes are not kept (bar small JSON). */
export interface FileFacts {
  readonly kind: 'file';
  readonly path: string;
  readonly size: number;
  /** Hex sha256 of the entry's bytes as stored. */
  readonly sha256: string;
  /** Detected from magic bytes, never from names or media types. */
  readonly compression: Compression;
  /** For gzip and zstd entries: the sha256 and size of the decompressed bytes (a layer's diff_id). */
  readonly decoded: Decoded | null;
  /** The bytes, when the entry is small and starts like JSON. */
  readonly json: Buffer | null;
  /** Why `json` is null for an entry that might be asked for as JSON. */
  readonly jsonSkipped: 'too-large' | 'not-json' | null;
  /** What JSON.parse said of an entry that started like JSON but is not (an uncompressed layer whose first file is `[x].bin`). */
  readonly jsonError?: string;
}

export interface LinkFacts {
  readonly kind: 'symlink' | 'hardlink';
  readonly path: string;
  /** Archive path the link resolves to (already checked to stay inside). */
  readonly target: string;
  /** Paths the lexical resolution stepped through; none may be a link. */
  readonly via: readonly string[];
}

export type EntryFacts = FileFacts | LinkFacts;

export interface DigestContext {
  readonly maxJsonBytes: number;
  /** Decompressed bytes (outer and layers) share this budget. */
  readonly decompressed: ByteBudget;
  /** JSON-looking entries kept in memory share this one. */
  readonly retained: ByteBudget;
}

const SNIFF_BYTES = 4;
const JSON_START = new Set([0x7b, 0x5b, 0x20, 0x09, 0x0a, 0x0d]); // { [ and whitespace

function compressionOf(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (startsLikeZstd(head)) return 'zstd';
  return 'none';
}

/** The per-entry state: raw hash, and what the first bytes decided. */
class FileSink {
  private readonly hash = createHash('sha256');
  private size = 0;
  private head: Buffer[] | null = [];
  private headLength = 0;
  private compression: Compression = 'none';
  private decoder: LayerDecoder | null = null;
  private json: Buffer[] | null = null;
  private jsonSkipped: FileFacts['jsonSkipped'] = null;

  constructor(private readonly path: string, private readonly declaredSize: number, private readonly context: DigestContext) {}

  async write(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.head === null) return this.consume(chunk);
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength >= SNIFF_BYTES) await this.flushHead();
  }

  async end(): Promise<FileFacts> {
    if (this.head !== null) await this.flushHead();
    const decoded = this.decoder ? await this.decoder.end() : null;
    const facts = { kind: 'file', path: this.path, size: this.size, sha256: this.hash.digest('hex'), compression: this.compression, decoded } as const;
    if (this.json === null) return { ...facts, json: null, jsonSkipped: this.jsonSkipped };
    const json = Buffer.concat(this.json);
    const jsonError = notJsonBecause(json);
    if (jsonError === undefined) return { ...facts, json, jsonSkipped: null };
    // Not kept past its end: the budget is for what a manifest may still name as JSON, not for every small entry
    // that starts with `[` or `{` (an uncompressed layer's first file name can), which made valid images TOO_LARGE.
    this.context.retained.release(this.declaredSize);
    return { ...facts, json: null, jsonSkipped: 'not-json', jsonError };
  }

  discard(): void {
    this.decoder?.discard();
  }

  private async flushHead(): Promise<void> {
    const first = Buffer.concat(this.head ?? []);
    this.head = null;
    this.compression = compressionOf(first);
    if (this.compression === 'gzip') this.decoder = new GunzipDigest(this.context.decompressed);
    if (this.compression === 'zstd') this.decoder = new ZstdDigest(this.context.decompressed);
    if (this.declaredSize > this.context.maxJsonBytes) this.jsonSkipped = 'too-large';
    else if (!JSON_START.has(first[0] ?? 0)) this.jsonSkipped = 'not-json';
    else {
      this.context.retained.add(this.declaredSize);
      this.json = [];
    }
    await this.consume(first);
  }

  private async consume(chunk: Buffer): Promise<void> {
    this.json?.push(chunk);
    if (this.decoder) await this.decoder.write(chunk);
  }
}

/** What JSON.parse says of the bytes, or undefined when they are JSON. */
function notJsonBecause(bytes: Buffer): string | undefined {
  try {
    JSON.parse(bytes.toString('utf8'));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Hashes one entry as it streams. The first bytes decide the rest: gzip and
 * zstd entries are also decompressed (their diff_id is the hash of the output), small
 * entries that start like JSON are kept because the manifest naming them as
 * config or index may come later in the archive.
 */
export async function digestFile(path: string, declaredSize: number, entry: AsyncIterable<Buffer>, context: DigestContext): Promise<FileFacts> {
  const sink = new FileSink(path, declaredSize, context);
  try {
    for await (const chunk of entry) await sink.write(chunk);
    return await sink.end();
  } finally {
    sink.discard();
  }
}
