import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import {
  canonicalDockerManifest, digestInEntryName, feedWritable, manifestMediaType, MAX_MANIFEST_BYTES, normalizeEntryPath, OrbitError, PullRefusedError, readCapped, RegistryUnavailableError, sha256Of,
  type Logger, type RegistryClient,
} from '@orbit/lib';
import { archiveTar, type ArchiveCompression } from './archive-tar.js';
import type { BlobSources } from './blob-sources.js';

/** What a push needs of the validated image: the ImageSummary's digests and sizes. */
export interface PushableImage {
  readonly compression: ArchiveCompression;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layers: readonly { readonly digest: string; readonly sizeBytes: number }[];
}

/** The registry refused the push for a reason waiting will not mend (401/403, 4xx, a manifest it will not take). */
export class PushRefusedError extends OrbitError {
  readonly reasonCode = 'REGISTRY_PUSH_REFUSED';
  constructor(message: string) {
    super('ORBIT_ERR_PUSH_REFUSED', message);
  }
}

/**
 * A push the registry will not take as it stands: refused outright, or (from
 * the shared client) no credentials it takes, or no such host. Anything else
 * (RegistryUnavailableError) is tried again.
 */
export function isPushRefusal(error: unknown): error is PushRefusedError | PullRefusedError {
  return error instanceof PushRefusedError || error instanceof PullRefusedError;
}

export interface PushResult {
  /** `name@digest`, what the charts pin. */
  readonly reference: string;
  readonly blobsSent: number;
  readonly bytesSent: number;
  /** Blobs the registry mounted from another of its repositories instead of being sent. */
  readonly blobsMounted: number;
  /** The tag now names this image; false when it already named another one (tags are never moved). */
  readonly tagged: boolean;
  /** `name:tag` when tagged. */
  readonly tagReference: string | null;
  /** The manifest was already in the repository: nothing was read or sent. */
  readonly alreadyThere: boolean;
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** The first error a registry wrote into its answer (the spec's `{"errors":[{code,message}]}`), for the message. */
async function registrySays(response: Response): Promise<string> {
  const body = await readCapped(response, 16 * 1024).catch(() => null);
  if (!body || body.length === 0) return '';
  try {
    const { errors } = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = errors?.[0];
    if (first) return `: ${String(first.code ?? '')} ${String(first.message ?? '')}`.trimEnd();
  } catch { /* not the spec's error JSON */ }
  return `: ${body.toString('utf8').slice(0, 200).trim()}`;
}

class Push {
  private blobsSent = 0;
  private bytesSent = 0;
  private blobsMounted = 0;
  /** Sizes of the blobs the repository has or was sent, by digest. */
  readonly sizes = new Map<string, number>();

  constructor(private readonly client: RegistryClient, private readonly registry: string) {}

  /** The answer when it is one of `expected`; else retriable for 5xx/429, a refusal for the rest. */
  async expect(response: Response, expected: readonly number[], what: string): Promise<Response> {
    if (expected.includes(response.status)) return response;
    const says = await registrySays(response);
    if (response.status === 429 || response.status >= 500) {
      throw new RegistryUnavailableError(this.registry, new Error(`${what}: HTTP ${response.status}${says}`), true);
    }
    throw new PushRefusedError(`${this.registry} refused ${what} (HTTP ${response.status}${says})`);
  }

  /** HEAD of a blob: its size when the repository has it, undefined when not. */
  async blobSize(digest: string): Promise<number | undefined> {
    const response = await this.expect(await this.client.request(`/blobs/${digest}`, { method: 'HEAD' }), [200, 404], `a look for blob ${digest}`);
    if (response.status === 404) return undefined;
    const size = Number(response.headers.get('content-length') ?? Number.NaN);
    this.sizes.set(digest, size);
    return size;
  }

  /** The digest a manifest reference names in the repository, or undefined when it names nothing. */
  async manifestAt(reference: string): Promise<string | undefined> {
    const response = await this.expect(await this.client.request(`/manifests/${reference}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } }), [200, 404], `a look for manifest ${reference}`);
    if (response.status === 404) return undefined;
    return response.headers.get('docker-content-digest') ?? '';
  }

  /**
   * One blob streamed into an upload session (POST, one PATCH, PUT with the
   * digest: the way docker push does it, which every registry takes).
   * `digest`: the blob's, when its name says it; the registry checks the bytes
   * against it at the PUT, so they are not hashed here. Without one (a legacy
   * docker-archive names its layers by path) the bytes are hashed on the way
   * and `keep` decides from the digest whether the upload is committed (PUT)
   * or cancelled (DELETE).
   */
  async sendBlob(bytes: AsyncIterable<Buffer> | Iterable<Buffer>, size: number, wanted: { readonly digest: string } | { readonly keep: (digest: string) => boolean }): Promise<string | null> {
    const started = await this.expect(await this.client.request('/blobs/uploads/', { method: 'POST', headers: { 'content-length': '0' } }), [202], 'to start a blob upload');
    const session = started.headers.get('location');
    if (!session) throw new PushRefusedError(`${this.registry} started a blob upload without saying where (no Location)`);
    const hash = 'digest' in wanted ? undefined : createHash('sha256');
    let counted = 0;
    // S3 answers in chunks of tens of kilobytes: they go to the socket in megabytes, a write each.
    const body = async function* megabytes(): AsyncGenerator<Buffer> {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const chunk of bytes) {
        hash?.update(chunk);
        counted += chunk.length;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= SEND_CHUNK_BYTES) {
          yield Buffer.concat(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
        }
      }
      if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
    };
    const patched = await this.expect(await this.client.request(session, {
      method: 'PATCH', headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) }, body: body(),
    }), [202, 204], 'the bytes of a blob');
    await patched.body?.cancel();
    const digest = 'digest' in wanted ? wanted.digest : `sha256:${hash?.digest('hex') ?? ''}`;
    const next = patched.headers.get('location') ?? session;
    if (counted !== size || ('keep' in wanted && !wanted.keep(digest))) {
      await this.client.request(next, { method: 'DELETE' }).then((answer) => answer.body?.cancel()).catch(() => undefined);
      if ('digest' in wanted) throw new PushRefusedError(`the archive entry of blob ${digest} holds ${counted} bytes, not ${size}`);
      return null;
    }
    const url = new URL(next, 'http://placeholder');
    url.searchParams.set('digest', digest);
    const committed = /^https?:\/\//i.test(next) ? url.toString() : `${url.pathname}${url.search}`;
    const done = await this.expect(await this.client.request(committed, { method: 'PUT', headers: { 'content-length': '0' } }), [201, 204], `blob ${digest}`);
    await done.body?.cancel();
    this.blobsSent += 1;
    this.bytesSent += size;
    this.sizes.set(digest, size);
    return digest;
  }

  /**
   * Asks the registry to mount `digest` from the repository `from` (201).
   * False when it will not: it opened an upload instead (202; cancelled
   * here), or the caller may not read `from`, or `from` lacks the blob.
   */
  async mountBlob(digest: string, from: string): Promise<boolean> {
    const query = new URLSearchParams({ mount: digest, from });
    let response: Response;
    try {
      response = await this.client.request(`/blobs/uploads/?${query.toString()}`, { method: 'POST', headers: { 'content-length': '0' } });
    } catch (error) {
      // The token service would not grant a read of `from`: the blob is sent instead.
      if (error instanceof PullRefusedError) return false;
      throw error;
    }
    await response.body?.cancel();
    if (response.status === 201) {
      // Its size is needed for a docker-archive's manifest; a registry that cannot say it yet (storage behind) gets the blob sent.
      if (!this.sizes.has(digest) && await this.blobSize(digest) === undefined) return false;
      this.blobsMounted += 1;
      return true;
    }
    if (response.status === 429 || response.status >= 500) await this.expect(response, [201], `to mount blob ${digest}`);
    const session = response.status === 202 ? response.headers.get('location') : null;
    if (session) await this.client.request(session, { method: 'DELETE' }).then((answer) => answer.body?.cancel()).catch(() => undefined);
    return false;
  }

  async putManifest(reference: string, manifest: Buffer, digest: string): Promise<void> {
    const response = await this.expect(await this.client.request(`/manifests/${reference}`, {
      method: 'PUT', headers: { 'content-type': manifestMediaType(manifest) }, body: manifest,
    }), [201, 204], `manifest ${digest}`);
    await response.body?.cancel();
    const stored = response.headers.get('docker-content-digest');
    if (stored && stored !== digest) throw new PushRefusedError(`${this.registry} stored manifest ${digest} as ${stored}`);
  }

  get counts(): { blobsSent: number; bytesSent: number; blobsMounted: number } {
    return { blobsSent: this.blobsSent, bytesSent: this.bytesSent, blobsMounted: this.blobsMounted };
  }
}

const SEND_CHUNK_BYTES = 1024 * 1024;

/** Entries up to this size whose name carries no digest are hashed in memory before anything is sent: configs, small files. */
const SMALL_ENTRY_BYTES = 4 * 1024 * 1024;

async function collect(bytes: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of bytes) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function drain(bytes: AsyncIterable<Buffer>): Promise<void> {
  for await (const _chunk of bytes) { /* not needed */ }
}

/**
 * One pass over the archive: every blob the repository lacks is sent as its
 * entry streams by, and the stored manifest (OCI layouts, docker 25+) is
 * kept. Blobs are found by the digest in their name; a docker-archive may
 * put its config and layers at any path (`<id>/layer.tar`), so other entries
 * are hashed in memory when small, or streamed when their size matches a
 * missing layer, and sent only when their digest is one that is missing.
 */
async function sendFromArchive(push: Push, archive: Readable, image: PushableImage, missing: Map<string, number | undefined>): Promise<Buffer | null> {
  const extract = tar.extract();
  const feeding = feedWritable(extract, archiveTar(archive, image.compression)).catch((error: unknown) => {
    extract.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  let manifest: Buffer | null = null;
  try {
    for await (const entry of extract) {
      const bytes = entry as unknown as AsyncIterable<Buffer>;
      const { header } = entry;
      // Spelt as the validator reads it (`./blobs//sha256/<hex>` is `blobs/sha256/<hex>`); it refused what does not normalize.
      const path = normalizeEntryPath(header.name);
      const regular = header.type === 'file' || header.type === 'contiguous-file';
      const named = regular && path.ok ? digestInEntryName(path.path) : null;
      const size = header.size ?? 0;
      if (named !== null && named === image.manifestDigest && size <= MAX_MANIFEST_BYTES) {
        manifest = await collect(bytes);
      } else if (named !== null && missing.has(named)) {
        await push.sendBlob(bytes, size, { digest: named });
        missing.delete(named);
      } else if (named === null && regular && missing.size > 0 && size <= SMALL_ENTRY_BYTES) {
        // A config (or a small layer) at a path of the writer's choosing: hashed here, sent only when it is one.
        const small = await collect(bytes);
        const digest = sha256Of(small);
        if (missing.has(digest)) {
          await push.sendBlob([small], size, { digest });
          missing.delete(digest);
        }
      } else if (named === null && regular && [...missing.values()].includes(size)) {
        const sent = await push.sendBlob(bytes, size, { keep: (digest) => missing.get(digest) === size });
        if (sent !== null) missing.delete(sent);
      } else {
        await drain(bytes);
      }
    }
  } catch (error) {
    extract.destroy();
    archive.destroy();
    throw error;
  } finally {
    await feeding;
  }
  return manifest;
}

export interface PushTargetClient {
  readonly client: RegistryClient;
  readonly registry: string;
  /** The repository's path in the registry (what `from=` names in a mount). */
  readonly repository: string;
  /** Where this process saw blobs before, to mount them rather than send them again. */
  readonly blobSources?: BlobSources | undefined;
  /** `registry/repository` as the charts write it. */
  readonly name: string;
  /** Tags to give the image, the first one free or already its own (none: by digest only). */
  readonly tags: readonly string[];
}

/** Every blob is in the repository; `commit` puts the manifest (and the tag), which makes the image pullable. */
export interface SentBlobs {
  commit(): Promise<PushResult>;
}

/**
 * The first half of a push: every blob the repository lacks, sent from the
 * stored archive in one pass, and the manifest made ready (the archive's
 * own, or the canonical one a docker-archive implies: the digest the
 * validator reported for it). Blobs without a manifest are invisible, and a
 * registry's garbage collection removes them, so the caller may still give
 * up before `commit`. A manifest already in the repository makes this one
 * HEAD. Throws PushRefusedError (refused), RegistryUnavailableError (try
 * again), PullRefusedError (no credentials the registry takes, or no such host).
 */
export async function sendImageBlobs(openArchive: () => Promise<Readable>, image: PushableImage, target: PushTargetClient, log: Logger): Promise<SentBlobs> {
  const push = new Push(target.client, target.registry);
  const reference = `${target.name}@${image.manifestDigest}`;
  const result = (tag: string | null, alreadyThere: boolean): PushResult =>
    ({ reference, ...push.counts, tagged: tag !== null, tagReference: tag === null ? null : `${target.name}:${tag}`, alreadyThere });

  if (await push.manifestAt(image.manifestDigest) !== undefined) {
    rememberBlobs(target, image);
    return {
      // Pushed before (a redelivery, a replay): at most its tag is missing, and failing to add it fails nothing.
      commit: async () => result(await tagImage(push, target, image.manifestDigest, () => manifestHeld(push, target, image.manifestDigest), log).catch((error: unknown) => {
        log.warn({ reference, err: error }, 'the image is in the registry; its tag could not be added');
        return null;
      }), true),
    };
  }

  const missing = new Map<string, number | undefined>();
  for (const layer of image.layers) missing.set(layer.digest, layer.sizeBytes);
  missing.set(image.configDigest, undefined);
  for (const digest of [...missing.keys()]) if (await push.blobSize(digest) !== undefined) missing.delete(digest);
  await mountKnownBlobs(push, target, missing);
  const held = missing.size === 0 ? await manifestFromMountSource(target, image) : undefined;
  const stored = held ?? await sendFromArchive(push, await openArchive(), image, missing);
  if (missing.size > 0) throw new PushRefusedError(`the stored archive holds no bytes for ${[...missing.keys()].join(', ')}`);
  rememberBlobs(target, image);
  const manifest = stored ?? canonicalDockerManifest(
    { digest: image.configDigest, size: push.sizes.get(image.configDigest) ?? Number.NaN },
    image.layers.map((layer) => ({ digest: layer.digest, size: layer.sizeBytes })),
  );
  if (sha256Of(manifest) !== image.manifestDigest) {
    throw new PushRefusedError(`the manifest rebuilt from the archive has digest ${sha256Of(manifest)}, not the ${image.manifestDigest} the validator reported`);
  }
  return {
    commit: async () => {
      const tag = await tagImage(push, target, image.manifestDigest, async () => manifest, log);
      if (tag === null) await push.putManifest(image.manifestDigest, manifest, image.manifestDigest);
      log.info({ reference, tag, ...push.counts }, 'image pushed to the registry');
      return result(tag, false);
    },
  };
}

/**
 * Tags the image with the first of the target's tags that is free or already
 * its own, and answers that tag (null: none was, and nothing was put). Tags
 * are never moved: one naming another image (another owner's `billing-api`
 * 1.0.0 in the same repository) is left to it, and the next is tried; a
 * registry with immutable tags refusing a put because another image took the
 * tag since the look counts the same.
 */
async function tagImage(push: Push, target: PushTargetClient, digest: string, manifest: () => Promise<Buffer>, log: Logger): Promise<string | null> {
  for (const tag of target.tags) {
    const named = await push.manifestAt(tag);
    if (named === digest) return tag;
    if (named === undefined) {
      try {
        await push.putManifest(tag, await manifest(), digest);
        return tag;
      } catch (error) {
        if (!(error instanceof PushRefusedError)) throw error;
        const now = await push.manifestAt(tag);
        if (now === digest) return tag;
        if (now === undefined) throw error;
      }
    }
    log.warn({ reference: `${target.name}@${digest}`, tag }, 'the tag already names another image; left as it is');
  }
  return null;
}

/** Missing blobs another repository of the registry was seen holding are mounted from there, and no longer missing. */
async function mountKnownBlobs(push: Push, target: PushTargetClient, missing: Map<string, number | undefined>): Promise<void> {
  const sources = target.blobSources;
  if (!sources) return;
  for (const digest of [...missing.keys()]) {
    const from = sources.sourceOf(target.registry, digest, target.repository);
    if (from === undefined) continue;
    if (await push.mountBlob(digest, from)) missing.delete(digest);
    else sources.forget(target.registry, digest, from);
  }
}

/**
 * Every blob is in the repository already, mounted from another of the
 * registry's repositories (a promotion into another project of it): the
 * manifest is copied from the repository its config came from when that one
 * holds it, so the archive is not read at all (Harbor's "copy artifact").
 * Undefined when it does not, or answers other bytes: the archive then says.
 */
async function manifestFromMountSource(target: PushTargetClient, image: PushableImage): Promise<Buffer | undefined> {
  const from = target.blobSources?.sourceOf(target.registry, image.configDigest, target.repository);
  if (from === undefined) return undefined;
  const response = await target.client.request(`/v2/${from}/manifests/${image.manifestDigest}`, { method: 'GET', headers: { accept: MANIFEST_ACCEPT } });
  if (response.status !== 200) {
    await response.body?.cancel();
    return undefined;
  }
  const bytes = await readCapped(response, MAX_MANIFEST_BYTES);
  return bytes !== null && sha256Of(bytes) === image.manifestDigest ? bytes : undefined;
}

/** Every blob of the image is in the repository now: later pushes of other repositories may mount them from it. */
function rememberBlobs(target: PushTargetClient, image: PushableImage): void {
  for (const digest of [image.configDigest, ...image.layers.map((layer) => layer.digest)]) target.blobSources?.remember(target.registry, digest, target.repository);
}

/** Whether the repository holds the manifest `digest`: then the image it names can be pulled. */
export async function holdsManifest(target: PushTargetClient, digest: string): Promise<boolean> {
  return await new Push(target.client, target.registry).manifestAt(digest) !== undefined;
}

/** The bytes the registry holds for manifest `digest`, to put under a tag as they are. */
async function manifestHeld(push: Push, target: PushTargetClient, digest: string): Promise<Buffer> {
  const response = await push.expect(await target.client.request(`/manifests/${digest}`, { method: 'GET', headers: { accept: MANIFEST_ACCEPT } }), [200], `manifest ${digest}`);
  const bytes = await readCapped(response, MAX_MANIFEST_BYTES);
  if (bytes === null || sha256Of(bytes) !== digest) throw new PushRefusedError(`${target.registry} serves manifest ${digest} with other bytes`);
  return bytes;
}

/** Both halves at once: the image is pullable as `name@manifestDigest` (and `name:tag`) when this returns. */
export async function pushImage(openArchive: () => Promise<Readable>, image: PushableImage, target: PushTargetClient, log: Logger): Promise<PushResult> {
  return (await sendImageBlobs(openArchive, image, target, log)).commit();
}
