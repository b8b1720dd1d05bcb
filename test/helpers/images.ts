/**
 * Real images built by real tools for the end-to-end tests (nothing big is
 * committed): umoci builds an OCI image layer by layer, tar packs the layout
 * into an OCI archive, skopeo converts it into a docker-archive (or an OCI
 * archive with zstd layers), gzip wraps either. Needs Debian's umoci, skopeo
 * and zstd (installed by the test setup).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tar from 'tar-stream';
import type { ImageIndexFacts, IndexedBlob, IndexedManifest } from '@orbit/schemas';

export interface ImageSpec {
  readonly name: string;
  readonly tag: string;
  /** Layers in order: files to write, and paths to delete (a whiteout in that layer). */
  readonly layers: readonly { files?: Record<string, string | Buffer>; delete?: readonly string[] }[];
  readonly exposedPort?: string;
  readonly entrypoint?: readonly string[];
  readonly user?: string;
  readonly extraTags?: readonly string[];
  /** The config's architecture (umoci's default: the machine's, amd64 here). */
  readonly architecture?: string;
}

export interface BuiltImage {
  readonly dir: string;
  readonly ociArchive: string;
  readonly dockerArchive: string;
  /** The OCI layout reference (`oci:<layout>:<tag>`) for further skopeo copies. */
  readonly layoutRef: string;
  /** An OCI archive of the same image with every layer recompressed as zstd (skopeo --dest-compress-format zstd). */
  zstdOciArchive(): string;
  gzip(file: string): string;
  cleanup(): void;
}

/**
 * Every file and directory of a bundle gets one fixed time before it is
 * packed: layers carry mtimes, so the same files written a second apart made
 * different layers, and two images meant to share a base layer (the
 * cross-repository mount tests) shared none when a loaded machine built them
 * across a second boundary.
 */
const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');

function pinTimes(path: string): void {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) pinTimes(child);
    lutimesSync(child, FIXED_MTIME, FIXED_MTIME);
  }
  lutimesSync(path, FIXED_MTIME, FIXED_MTIME);
}

function run(command: string, args: readonly string[], cwd?: string): void {
  execFileSync(command, [...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const dir = mkdtempSync(join(tmpdir(), 'orbit-image-'));
  const layout = join(dir, 'layout');
  const ref = `${layout}:${spec.tag}`;
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', ref]);
  for (const [index, layer] of spec.layers.entries()) {
    const bundle = join(dir, `bundle-${index}`);
    run('umoci', ['unpack', '--rootless', '--image', ref, bundle]);
    for (const [path, content] of Object.entries(layer.files ?? {})) {
      const target = join(bundle, 'rootfs', path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
    for (const path of layer.delete ?? []) rmSync(join(bundle, 'rootfs', path), { recursive: true, force: true });
    pinTimes(join(bundle, 'rootfs'));
    run('umoci', ['repack', '--image', ref, bundle]);
  }
  const config = ['config', '--image', ref];
  if (spec.exposedPort) config.push('--config.exposedports', spec.exposedPort);
  if (spec.entrypoint) for (const part of spec.entrypoint) config.push('--config.entrypoint', part);
  if (spec.user) config.push('--config.user', spec.user);
  if (spec.architecture) config.push('--architecture', spec.architecture);
  run('umoci', config);
  run('umoci', ['gc', '--layout', layout]);
  const ociArchive = join(dir, 'image-oci.tar');
  run('tar', ['-cf', ociArchive, '-C', layout, '.']);
  const dockerArchive = join(dir, 'image-docker.tar');
  const tags = (spec.extraTags ?? []).flatMap((tag) => ['--additional-tag', `${spec.name}:${tag}`]);
  run('skopeo', ['copy', '--quiet', ...tags, `oci:${ref}`, `docker-archive:${dockerArchive}:${spec.name}:${spec.tag}`]);
  return {
    dir, ociArchive, dockerArchive, layoutRef: `oci:${ref}`,
    zstdOciArchive(): string {
      const file = join(dir, 'image-oci-zstd.tar');
      run('skopeo', ['copy', '--quiet', '--dest-compress-format', 'zstd', `oci:${ref}`, `oci-archive:${file}:${spec.tag}`]);
      return file;
    },
    gzip(file: string): string {
      run('gzip', ['-k', '-f', file]);
      return `${file}.gz`;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface MultiPlatformImage {
  /** An OCI archive of the whole index, written by skopeo copy --all (so by another tool than Orbit, checking every digest). */
  readonly ociArchive: string;
  /** The image index's digest, what a multi-platform image is pulled by. */
  readonly indexDigest: string;
  /** Each platform's manifest digest, in the index's order. */
  readonly manifestDigests: readonly string[];
  cleanup(): void;
}

const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * One multi-platform image of single-platform ones (built with their
 * `architecture`), as docker buildx --platform or crane index append make
 * it: an OCI image index listing each image's manifest with its platform,
 * in an archive skopeo copies whole.
 */
export function buildMultiPlatformImage(platforms: readonly { image: BuiltImage; architecture: string }[], tag: string): MultiPlatformImage {
  const dir = mkdtempSync(join(tmpdir(), 'orbit-multi-'));
  const layout = join(dir, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const manifests = platforms.map(({ image, architecture }) => {
    const blobs = join(image.dir, 'layout', 'blobs', 'sha256');
    for (const name of readdirSync(blobs)) copyFileSync(join(blobs, name), join(layout, 'blobs', 'sha256', name));
    const [entry] = (JSON.parse(readFileSync(join(image.dir, 'layout', 'index.json'), 'utf8')) as { manifests: { mediaType: string; digest: string; size: number }[] }).manifests;
    return { mediaType: entry!.mediaType, digest: entry!.digest, size: entry!.size, platform: { os: 'linux', architecture } };
  });
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  const indexDigest = `sha256:${sha256Hex(index)}`;
  writeFileSync(join(layout, 'blobs', 'sha256', sha256Hex(index)), index);
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: indexDigest, size: index.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  const ociArchive = join(dir, 'multi-oci.tar');
  run('skopeo', ['copy', '--quiet', '--all', `oci:${layout}:${tag}`, `oci-archive:${ociArchive}:${tag}`]);
  // What skopeo wrote, not what it was given: the digests the archive itself names.
  const member = (name: string): Buffer => execFileSync('tar', ['-xOf', ociArchive, name], { maxBuffer: 16 * 1024 * 1024 });
  const written = (JSON.parse(member('index.json').toString('utf8')) as { manifests: { digest: string }[] }).manifests[0]!.digest;
  const listed = JSON.parse(member(`blobs/sha256/${written.slice(7)}`).toString('utf8')) as { manifests: { digest: string }[] };
  if (written !== indexDigest) console.warn(`skopeo rewrote the index ${indexDigest} as ${written}`);
  return { ociArchive, indexDigest: written, manifestDigests: listed.manifests.map((entry) => entry.digest), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A multi-platform OCI archive's digests as the validator reports them, read from the archive itself: its first platform, and the whole index. */
export async function multiPlatformSummaryOf(file: string): Promise<{ manifestDigest: string; configDigest: string; layers: IndexedBlob[]; index: ImageIndexFacts }> {
  const entries = await tarEntries(file);
  const json = <T>(name: string): T => JSON.parse(entries.get(name)!.toString('utf8')) as T;
  const blobOf = <T>(digest: string): T => json<T>(`blobs/sha256/${digest.slice(7)}`);
  const [top] = json<{ manifests: { digest: string }[] }>('index.json').manifests;
  const listed = blobOf<{ mediaType: string; manifests: { digest: string; mediaType: string; size: number; platform: { os: string; architecture: string } }[] }>(top!.digest);
  const manifests = listed.manifests.map((entry): IndexedManifest => {
    const manifest = blobOf<{ config: { digest: string }; layers: { digest: string; size: number }[] }>(entry.digest);
    return {
      digest: entry.digest, mediaType: entry.mediaType, sizeBytes: entry.size, os: entry.platform.os, architecture: entry.platform.architecture, variant: null, attestation: false,
      configDigest: manifest.config.digest, blobs: manifest.layers.map((layer) => ({ digest: layer.digest, sizeBytes: layer.size })),
    };
  });
  const first = manifests[0]!;
  return { manifestDigest: first.digest, configDigest: first.configDigest, layers: [...first.blobs], index: { digest: top!.digest, mediaType: listed.mediaType, manifests } };
}

/** Every entry of a tar file by its name as written, read whole (test archives are small). */
export async function tarEntries(file: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    stream.on('end', () => { found.set(header.name, Buffer.concat(chunks)); next(); });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(readFileSync(file));
  });
  return found;
}
