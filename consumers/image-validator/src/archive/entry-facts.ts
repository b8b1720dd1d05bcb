import { createHash } from 'node:crypto';
import { GunzipDigest } from './gzip-digest.js';
import type { Decoded, LayerDecoder } from './layer-decoder.js';
import { goFoldedKey } from './json-keys.js';
import { MAX_ZSTD_ENTRIES, type ByteBudget } from './limits.js';
import { reject } from './rejections.js';
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
  readonly jsonSkipped: 'too-large' | 'not-json' | 'layer-document' | null;
  /** What JSON.parse said of an entry that started like JSON but is not (an uncompressed layer whose first file is `[x].bin`). */
  readonly jsonError?: string;
  /** What a JSON entry let go as a layer's document is (an in-toto statement, an SPDX SBOM). */
  readonly layerDocument?: string;
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
  /** zstd decoders started for the archive so far: each is a process, so their number is bounded too. */
  readonly zstdStarts: { count: number };
}

const SNIFF_BYTES = 4;
const JSON_START = new Set([0x7b, 0x5b, 0x20, 0x09, 0x0a, 0x0d]); // { [ and whitespace

function compressionOf(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (startsLikeZstd(head)) return 'zstd';
  return 'none';
}

/** A zstd decoder for one more entry of the archive, refused past MAX_ZSTD_ENTRIES. */
function startZstd(context: DigestContext): ZstdDigest {
  context.zstdStarts.count += 1;
  if (context.zstdStarts.count > MAX_ZSTD_ENTRIES) {
    reject('TOO_LARGE', `the archive has more than ${MAX_ZSTD_ENTRIES} zstd-compressed entries, each decoded as it arrives; an image has at most about 125 layers per platform`);
  }
  return new ZstdDigest(context.decompressed);
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
    const read = readJson(json);
    if (read.ok) {
      const layerDocument = layerDocumentKind(read.value);
      if (layerDocument === undefined) return { ...facts, json, jsonSkipped: null };
      // Not kept either: BuildKit writes an SBOM of a few MB per platform, and seven of them made valid images TOO_LARGE;
      // five 3.5 MB Sigstore bundles or Syft SBOMs among a pulled image's referrers did too.
      this.context.retained.release(this.declaredSize);
      return { ...facts, json: null, jsonSkipped: 'layer-document', layerDocument };
    }
    // Not kept past its end: the budget is for what a manifest may still name as JSON, not for every small entry
    // that starts with `[` or `{` (an uncompressed layer's first file name can), which made valid images TOO_LARGE.
    this.context.retained.release(this.declaredSize);
    return { ...facts, json: null, jsonSkipped: 'not-json', jsonError: read.why };
  }

  discard(): void {
    this.decoder?.discard();
  }

  private async flushHead(): Promise<void> {
    const first = Buffer.concat(this.head ?? []);
    this.head = null;
    this.compression = compressionOf(first);
    if (this.compression === 'gzip') this.decoder = new GunzipDigest(this.context.decompressed);
    if (this.compression === 'zstd') this.decoder = startZstd(this.context);
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

/** The bytes as JSON, or what JSON.parse says of them. */
function readJson(bytes: Buffer): { ok: true; value: unknown } | { ok: false; why: string } {
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch (error) {
    return { ok: false, why: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Top-level keys of which every document read as JSON later has at least one, its shape requiring it: a
 * manifest, an index or a referrer schemaVersion, a config architecture and os, oci-layout imageLayoutVersion
 * (compared as Go folds them, so a near miss is kept to be refused with the shape's own words).
 */
const DOCUMENT_KEYS: ReadonlySet<string> = new Set(['schemaVersion', 'architecture', 'os', 'imageLayoutVersion'].map(goFoldedKey));

/** docker save's manifest.json, the one document that is a list: each image names its Config and Layers. */
const DOCKER_SAVE_KEYS: ReadonlySet<string> = new Set(['Config', 'Layers'].map(goFoldedKey));

const hasKeyOf = (value: unknown, keys: ReadonlySet<string>): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).some((key) => keys.has(goFoldedKey(key)));

/** Named for the message when one is named as a manifest or config; any other JSON without a document's keys is let go all the same. */
function knownLayerDocument(value: object): string | undefined {
  const has = (key: string): boolean => Object.hasOwn(value, key);
  if (has('_type') && has('predicateType')) return 'an in-toto statement (an attestation layer, as BuildKit\'s --sbom and --provenance write)';
  if (has('payloadType') && has('payload')) return 'a DSSE envelope (a signed attestation layer, as cosign attest writes)';
  if (has('spdxVersion')) return 'an SPDX document (an SBOM layer)';
  if (has('bomFormat')) return 'a CycloneDX document (an SBOM layer)';
  if (has('verificationMaterial')) return 'a Sigstore bundle (a signature layer, as cosign writes to referrers)';
  if (has('artifacts') && has('descriptor')) return 'a Syft SBOM (an SBOM layer)';
  return undefined;
}

/**
 * What a JSON value is when no document read as JSON here could be it (it lacks every key their shapes
 * require): an SBOM, a signature bundle, any JSON layer. Nothing reads it as JSON (it is checked by digest
 * and size), so it is not kept; whatever names it as a manifest or config is refused with the same code it
 * would be for its shape. Undefined for what may be a manifest, index, config, oci-layout or docker save's
 * manifest.json, which is kept for a manifest that may name it later.
 */
export function layerDocumentKind(value: unknown): string | undefined {
  if (Array.isArray(value) ? value.some((image) => hasKeyOf(image, DOCKER_SAVE_KEYS)) : hasKeyOf(value, DOCUMENT_KEYS)) return undefined;
  const known = typeof value === 'object' && value !== null && !Array.isArray(value) ? knownLayerDocument(value) : undefined;
  return known ?? 'JSON with none of the keys an image manifest, index, config or OCI layout has (schemaVersion, architecture and os, imageLayoutVersion)';
}

/**
 * Hashes one entry as it streams. The first bytes decide the rest: gzip and
 * zstd entries are also decompressed (their diff_id is the hash of the output), small
 * entries that start like JSON are kept because the manifest naming them as
 * config or index may come later in the archive (bar those that can only be a
 * layer: attestations, SBOMs, signature bundles, any JSON without a document's keys).
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
