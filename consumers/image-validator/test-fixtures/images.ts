/**
 * Builds real image archives in memory for the validator's tests: layer tars
 * with tar-stream, gzip with zlib, zstd with the reference `zstd` command,
 * digests with node:crypto. Small images
 * only; the big-stream helper lives in big-stream.ts. Entries are plain
 * arrays so a test can reorder, drop or corrupt them before packing.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export type EntryType = 'file' | 'symlink' | 'link' | 'directory' | 'fifo' | 'character-device' | 'block-device';

export interface TarEntry {
  readonly name: string;
  readonly data?: Buffer;
  readonly type?: EntryType;
  readonly linkname?: string;
}

export interface LayerSpec {
  readonly files: Readonly<Record<string, string>>;
  /** Paths this layer deletes: written as `.wh.<name>` whiteout entries. */
  readonly deletes?: readonly string[];
  readonly gzip?: boolean;
  /** zstd-compress the layer (with these extra `zstd` arguments, e.g. a level). */
  readonly zstd?: boolean | readonly string[];
}

export interface ImageSpec {
  readonly layers: readonly LayerSpec[];
  readonly architecture?: string;
  readonly os?: string;
  /** Merged into the config's `config` object. */
  readonly runConfig?: Readonly<Record<string, unknown>>;
  readonly repoTags?: readonly string[];
}

export interface BuiltBlob {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly mediaType: string;
}

export interface BuiltLayer extends BuiltBlob {
  readonly diffId: string;
}

export interface BuiltImage {
  readonly spec: ImageSpec;
  readonly config: BuiltBlob;
  readonly layers: readonly BuiltLayer[];
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function hexOf(digest: string): string {
  return digest.slice('sha256:'.length);
}

export async function packTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const done = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  })();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    await new Promise<void>((resolve, reject) => {
      const header = { name: entry.name, type, linkname: entry.linkname, mode: type === 'directory' ? 0o755 : 0o644, mtime: new Date(0) };
      pack.entry(header, entry.data ?? Buffer.alloc(0), (error) => (error ? reject(error) : resolve()));
    });
  }
  pack.finalize();
  return done;
}

/** Bytes compressed by the reference zstd encoder (Debian's `zstd`). */
export function zstdOf(bytes: Buffer, args: readonly string[] = []): Buffer {
  return execFileSync('zstd', ['-c', '-q', ...args], { input: bytes, maxBuffer: 1024 ** 3 });
}

/** A layer tar with its files and whiteouts (`dir/.wh.name` deletes `dir/name`). */
export async function buildLayer(spec: LayerSpec): Promise<BuiltLayer> {
  const entries: TarEntry[] = Object.entries(spec.files).map(([name, content]) => ({ name, data: Buffer.from(content) }));
  for (const path of spec.deletes ?? []) {
    const slash = path.lastIndexOf('/');
    entries.push({ name: `${path.slice(0, slash + 1)}.wh.${path.slice(slash + 1)}`, data: Buffer.alloc(0) });
  }
  const tarBytes = await packTar(entries);
  const bytes = spec.gzip ? gzipSync(tarBytes) : spec.zstd ? zstdOf(tarBytes, spec.zstd === true ? [] : spec.zstd) : tarBytes;
  const mediaType = `application/vnd.oci.image.layer.v1.tar${spec.gzip ? '+gzip' : spec.zstd ? '+zstd' : ''}`;
  return { bytes, digest: sha256(bytes), diffId: sha256(tarBytes), mediaType };
}

export function configJson(spec: ImageSpec, diffIds: readonly string[]): Buffer {
  return Buffer.from(JSON.stringify({
    architecture: spec.architecture ?? 'amd64',
    os: spec.os ?? 'linux',
    created: '2026-11-22T10:00:00Z',
    config: { Env: ['PATH=/usr/local/bin:/usr/bin'], Cmd: ['/app/run'], WorkingDir: '/app', ...spec.runConfig },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map(() => ({ created: '2026-11-22T10:00:00Z', created_by: 'test' })),
  }));
}

export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const layers = await Promise.all(spec.layers.map(buildLayer));
  const bytes = configJson(spec, layers.map((layer) => layer.diffId));
  return { spec, layers, config: { bytes, digest: sha256(bytes), mediaType: 'application/vnd.oci.image.config.v1+json' } };
}

export function ociManifestJson(image: BuiltImage): Buffer {
  const descriptor = (blob: BuiltBlob) => ({ mediaType: blob.mediaType, digest: blob.digest, size: blob.bytes.length });
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptor(image.config),
    layers: image.layers.map(descriptor),
  }));
}

export function blobEntry(bytes: Buffer): TarEntry {
  return { name: `blobs/sha256/${hexOf(sha256(bytes))}`, data: bytes };
}

export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** An OCI image layout: oci-layout, index.json (one entry per tag), blobs. */
export function ociEntries(image: BuiltImage, options: { tags?: readonly string[]; prefix?: string } = {}): TarEntry[] {
  const manifest = ociManifestJson(image);
  const tags = options.tags ?? image.spec.repoTags ?? ['latest'];
  const index = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: tags.map((tag) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length,
      annotations: { 'org.opencontainers.image.ref.name': tag },
    })),
  });
  const prefix = options.prefix ?? '';
  return [
    { name: `${prefix}oci-layout`, data: json({ imageLayoutVersion: '1.0.0' }) },
    { name: `${prefix}index.json`, data: index },
    ...[manifest, image.config.bytes, ...image.layers.map((layer) => layer.bytes)].map(blobEntry).map((entry) => ({ ...entry, name: `${prefix}${entry.name}` })),
  ];
}

/** `docker save` before 25: `<id>/layer.tar`, `<config hex>.json`, manifest.json last. */
export function legacyDockerEntries(image: BuiltImage): TarEntry[] {
  const layerPaths = image.layers.map((layer, index) => `${hexOf(sha256(`${layer.diffId}/${index}`))}/layer.tar`);
  const configName = `${hexOf(image.config.digest)}.json`;
  return [
    ...image.layers.flatMap((layer, index): TarEntry[] => {
      const path = layerPaths[index] ?? `${index}/layer.tar`;
      const folder = path.slice(0, path.indexOf('/'));
      return [{ name: `${folder}/`, type: 'directory' }, { name: `${folder}/VERSION`, data: Buffer.from('1.0') }, { name: path, data: layer.bytes }];
    }),
    { name: configName, data: image.config.bytes },
    { name: 'manifest.json', data: json([{ Config: configName, RepoTags: image.spec.repoTags ?? null, Layers: layerPaths }]) },
  ];
}

/** `docker save` since 25: an OCI layout plus a manifest.json pointing into blobs/. */
export function docker25Entries(image: BuiltImage): TarEntry[] {
  return [
    ...ociEntries(image, { tags: (image.spec.repoTags ?? []).map((tag) => tag.slice(tag.lastIndexOf(':') + 1)) }),
    {
      name: 'manifest.json',
      data: json([{ Config: `blobs/sha256/${hexOf(image.config.digest)}`, RepoTags: image.spec.repoTags ?? [], Layers: image.layers.map((layer) => `blobs/sha256/${hexOf(layer.digest)}`) }]),
    },
  ];
}

/** A stream of `bytes` in chunks of `chunkSize`, the way a socket would deliver it. */
export function streamOf(bytes: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from((function* chunks() {
    for (let offset = 0; offset < bytes.length; offset += chunkSize) yield bytes.subarray(offset, offset + chunkSize);
  })());
}

export async function archiveOf(entries: readonly TarEntry[], options: { gzip?: boolean } = {}): Promise<Buffer> {
  const bytes = await packTar(entries);
  return options.gzip ? gzipSync(bytes) : bytes;
}
