/**
 * Real images built by real tools for the end-to-end tests (nothing big is
 * committed): umoci builds an OCI image layer by layer, tar packs the layout
 * into an OCI archive, skopeo converts it into a docker-archive (or an OCI
 * archive with zstd layers), gzip wraps either. Needs Debian's umoci, skopeo
 * and zstd (installed by the test setup).
 */
import { execFileSync } from 'node:child_process';
import { lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tar from 'tar-stream';

export interface ImageSpec {
  readonly name: string;
  readonly tag: string;
  /** Layers in order: files to write, and paths to delete (a whiteout in that layer). */
  readonly layers: readonly { files?: Record<string, string | Buffer>; delete?: readonly string[] }[];
  readonly exposedPort?: string;
  readonly entrypoint?: readonly string[];
  readonly user?: string;
  readonly extraTags?: readonly string[];
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
