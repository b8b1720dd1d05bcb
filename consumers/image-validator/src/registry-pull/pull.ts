import { createHash } from 'node:crypto';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { z } from 'zod';
import { firstIssue, IMAGE_CONFIG_TYPES, sha256Digest } from '../archive/index.js';
import { choosePlatform } from '../platforms.js';
import { MAX_MANIFEST_BYTES, PullRefusedError, RegistryClient, RegistryUnavailableError, type RegistryClientOptions } from '@orbit/lib';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const descriptor = z.object({ mediaType: z.string().optional(), digest: sha256Digest, size: z.number().int().nonnegative() }).passthrough();
const platformed = descriptor.extend({
  platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const indexShape = z.object({ manifests: z.array(platformed).min(1) });
const manifestShape = z.object({ config: descriptor, layers: z.array(descriptor).min(1) });

export interface PullTarget {
  readonly tag: string | null;
  readonly digest: string | null;
  readonly platform?: { os: string; architecture: string };
  /** Refuse images whose blobs add up to more than this. */
  readonly maxBytes: number;
}

export interface PullResult {
  readonly manifestDigest: string;
  readonly bytes: number;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A manifest's bytes, refused past the size registries themselves keep to. */
async function manifestAt(client: RegistryClient, reference: string): Promise<Buffer> {
  const bytes = await client.getBounded(`/manifests/${reference}`, MANIFEST_TYPES, MAX_MANIFEST_BYTES);
  if (bytes === null) throw new PullRefusedError('BAD_MANIFEST', `the registry's manifest ${reference} is over ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB, the most registries keep; it is no image manifest`);
  return bytes;
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new PullRefusedError('BAD_MANIFEST', `the registry's ${what} is not JSON`);
  }
}

/**
 * Pulls an image through the OCI distribution API and writes it to `sink`
 * as an OCI image-layout archive (oci-layout, index.json, blobs/sha256/…),
 * streaming each layer: the same archive an upload would be, so the one
 * validator checks both. Digests are verified there, not twice.
 */
export async function pullAsOciArchive(client: RegistryClient, target: PullTarget, sink: Writable): Promise<PullResult> {
  const reference = target.digest ?? target.tag;
  if (!reference) throw new PullRefusedError('BAD_MANIFEST', 'a reference needs a tag or a digest');
  let manifestBytes = await manifestAt(client, reference);
  if (target.digest && sha256(manifestBytes) !== target.digest) throw new PullRefusedError('BAD_MANIFEST', `the registry's manifest does not match ${target.digest}`);
  let parsed = parseJson(manifestBytes, 'manifest');
  const index = indexShape.safeParse(parsed);
  if (index.success && !manifestShape.safeParse(parsed).success) {
    const chosen = choosePlatform(index.data.manifests, target.platform);
    if (!chosen) throw new PullRefusedError('BAD_MANIFEST', 'the image index lists no manifests');
    manifestBytes = await manifestAt(client, chosen.digest);
    if (sha256(manifestBytes) !== chosen.digest) throw new PullRefusedError('BAD_MANIFEST', `the platform manifest does not match ${chosen.digest}`);
    parsed = parseJson(manifestBytes, 'manifest');
  }
  const manifest = manifestShape.safeParse(parsed);
  const asked = `${client.repositoryName}${target.digest ? '@' : ':'}${reference}`;
  if (!manifest.success) {
    // Docker's schema 1 (deprecated since 2017) has no config blob: nothing to check the layers against.
    if ((parsed as { schemaVersion?: unknown } | null)?.schemaVersion === 1) {
      throw new PullRefusedError('BAD_MANIFEST', `${asked} has a Docker schema 1 manifest, which is not supported; push it again with a current tool (it then gets a schema 2 or OCI manifest)`);
    }
    throw new PullRefusedError('BAD_MANIFEST', `${asked}: the registry sent no image manifest (${firstIssue(manifest.error)})`);
  }
  // Refused before any blob is fetched: a multi-GB model or chart pushed by ORAS or Helm is no image to download first.
  const configType = manifest.data.config.mediaType;
  if (configType !== undefined && !IMAGE_CONFIG_TYPES.has(configType)) {
    throw new PullRefusedError('BAD_MANIFEST', `${asked} is not a container image but an artifact (config media type ${configType}); nothing was downloaded`);
  }
  const total = manifest.data.config.size + manifest.data.layers.reduce((sum, layer) => sum + layer.size, 0);
  if (total > target.maxBytes) throw new PullRefusedError('TOO_LARGE', `the image is ${total} bytes; the limit is ${target.maxBytes}`);

  const pack = tar.pack();
  const written = pipeline(pack, sink);
  const manifestDigest = sha256(manifestBytes);
  const put = (name: string, bytes: Buffer): Promise<void> => new Promise((resolve, reject) => pack.entry({ name, size: bytes.length }, bytes, (error) => (error ? reject(error) : resolve())));
  try {
    await put('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    await put(`blobs/sha256/${manifestDigest.slice(7)}`, manifestBytes);
    for (const blob of [manifest.data.config, ...manifest.data.layers]) {
      const response = await client.get(`/blobs/${blob.digest}`);
      if (!response.body) throw new PullRefusedError('REGISTRY_ERROR', `blob ${blob.digest} has no body`);
      const entry = pack.entry({ name: `blobs/sha256/${blob.digest.slice(7)}`, size: blob.size });
      const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
      // A body may take as long as it needs, but not stall: undici would wait 300 s between two chunks, holding every upload behind this one.
      // Staging that takes no bytes for as long (S3 stalled) ends the attempt the same way, and the pull is tried again.
      const idleMs = client.answerTimeoutMs;
      const stalled = (): void => { source.destroy(new Error(`blob ${blob.digest} sent nothing for ${idleMs / 1000} s`)); };
      const idle = setTimeout(stalled, idleMs);
      let received = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          idle.refresh();
          received += chunk.length;
          if (received > blob.size) return done(new PullRefusedError('REGISTRY_ERROR', `blob ${blob.digest} is longer than the ${blob.size} bytes its descriptor says`));
          done(null, chunk);
        },
      });
      try {
        await pipeline(source, meter, entry);
      } catch (error) {
        if (error instanceof PullRefusedError) throw error;
        // Cut short: a dropped connection or a stall, worth another try (the digests are checked by the validator anyway).
        if (received < blob.size) throw new RegistryUnavailableError(client.base, error, true);
        throw error;
      } finally {
        clearTimeout(idle);
      }
    }
    const mediaType = (parsed as { mediaType?: string }).mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
    await put('index.json', Buffer.from(JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType, digest: manifestDigest, size: manifestBytes.length, ...(target.tag ? { annotations: { 'org.opencontainers.image.ref.name': target.tag } } : {}) }],
    })));
    pack.finalize();
  } catch (error) {
    // End the sink too, so its consumer (an S3 upload) sees the failure instead of waiting.
    pack.destroy(error instanceof Error ? error : new Error(String(error)));
    await written.catch(() => undefined);
    throw error;
  }
  await written;
  return { manifestDigest, bytes: total };
}

export { RegistryClient, type RegistryClientOptions };
