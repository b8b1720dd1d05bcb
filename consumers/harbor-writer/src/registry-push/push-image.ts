import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import {
  canonicalDockerManifest, digestInEntryName, feedWritable, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, normalizeEntryPath, PushRefusedError, readCapped, RegistryPush, sha256Of, tagManifest,
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
async function sendFromArchive(push: RegistryPush, archive: Readable, image: PushableImage, missing: Map<string, number | undefined>): Promise<Buffer | null> {
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
  const push = new RegistryPush(target.client, target.registry);
  const reference = `${target.name}@${image.manifestDigest}`;
  const result = (tag: string | null, alreadyThere: boolean): PushResult =>
    ({ reference, ...push.counts, tagged: tag !== null, tagReference: tag === null ? null : `${target.name}:${tag}`, alreadyThere });

  if (await push.manifestAt(image.manifestDigest) !== undefined) {
    rememberBlobs(target, image);
    return {
      // Pushed before (a redelivery, a replay): at most its tag is missing, and failing to add it fails nothing.
      commit: async () => result(await tagManifest(push, target, image.manifestDigest, () => manifestHeld(push, target, image.manifestDigest), log).catch((error: unknown) => {
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
      const tag = await tagManifest(push, target, image.manifestDigest, async () => manifest, log);
      if (tag === null) await push.putManifest(image.manifestDigest, manifest, image.manifestDigest);
      log.info({ reference, tag, ...push.counts }, 'image pushed to the registry');
      return result(tag, false);
    },
  };
}

/** Missing blobs another repository of the registry was seen holding are mounted from there, and no longer missing. */
async function mountKnownBlobs(push: RegistryPush, target: PushTargetClient, missing: Map<string, number | undefined>): Promise<void> {
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
  return await new RegistryPush(target.client, target.registry).manifestAt(digest) !== undefined;
}

/** The bytes the registry holds for manifest `digest`, to put under a tag as they are. */
async function manifestHeld(push: RegistryPush, target: PushTargetClient, digest: string): Promise<Buffer> {
  const response = await push.expect(await target.client.request(`/manifests/${digest}`, { method: 'GET', headers: { accept: MANIFEST_ACCEPT } }), [200], `manifest ${digest}`);
  const bytes = await readCapped(response, MAX_MANIFEST_BYTES);
  if (bytes === null || sha256Of(bytes) !== digest) throw new PushRefusedError(`${target.registry} serves manifest ${digest} with other bytes`);
  return bytes;
}

/** Both halves at once: the image is pullable as `name@manifestDigest` (and `name:tag`) when this returns. */
export async function pushImage(openArchive: () => Promise<Readable>, image: PushableImage, target: PushTargetClient, log: Logger): Promise<PushResult> {
  return (await sendImageBlobs(openArchive, image, target, log)).commit();
}
