import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import {
  canonicalDockerManifest, digestInEntryName, feedWritable, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, normalizeEntryPath, PushRefusedError, readCapped, RegistryPush, sha256Of, tagManifest,
  type Logger, type RegistryClient,
} from '@orbit/lib';
import { pinnedDigestOf, type ImageIndexFacts } from '@orbit/schemas';
import { archiveTar, type ArchiveCompression } from './archive-tar.js';
import type { BlobSources } from './blob-sources.js';
import { everyManifestHeld, placeReferrers, type PlacedReferrers, type PushableReferrer } from './place-referrers.js';

export type { PushableReferrer } from './place-referrers.js';

/** What a push needs of the validated image: the ImageSummary's digests and sizes. */
export interface PushableImage {
  readonly compression: ArchiveCompression;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layers: readonly { readonly digest: string; readonly sizeBytes: number }[];
  /** A multi-platform image: the whole index is pushed, every manifest it lists, and it is what the reference names. */
  readonly index?: Pick<ImageIndexFacts, 'digest' | 'manifests'> | null | undefined;
  /** SBOMs, signatures and the like the archive held about the image: put after it, each after its subject. */
  readonly referrers?: readonly PushableReferrer[] | null | undefined;
}

/** The manifests a push puts, those an index lists first and the index last (a registry refuses an index naming manifests it lacks). */
const manifestsOf = (image: PushableImage): string[] => (image.index ? [...image.index.manifests.map((entry) => entry.digest), image.index.digest] : [image.manifestDigest]);

/** The image's manifests, then its referrers'. */
const everyManifestOf = (image: PushableImage): string[] => [...manifestsOf(image), ...(image.referrers ?? []).map((referrer) => referrer.digest)];

/** Every blob the image's manifests name, each once. */
export const blobDigestsOf = (image: PushableImage): string[] => [...blobsOf(image).keys()];

/** Every blob the image's manifests name, each once, with its size where a manifest says it. */
function blobsOf(image: PushableImage): Map<string, number | undefined> {
  const blobs = new Map<string, number | undefined>();
  const entries = image.index?.manifests.map((entry) => ({ configDigest: entry.configDigest, layers: entry.blobs })) ?? [image];
  for (const entry of entries) {
    for (const layer of entry.layers) blobs.set(layer.digest, layer.sizeBytes);
    if (!blobs.has(entry.configDigest)) blobs.set(entry.configDigest, undefined);
  }
  for (const referrer of image.referrers ?? []) for (const blob of referrer.blobs) blobs.set(blob.digest, blob.sizeBytes);
  return blobs;
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
  /** Referrers of the image in the repository and listed as such (put now or before). */
  readonly referrers: number;
  /** Referrers the registry refused (or whose listing it refused): the image is pushed without them. */
  readonly referrersRefused: number;
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
async function sendFromArchive(push: RegistryPush, archive: Readable, image: PushableImage, missing: Map<string, number | undefined>): Promise<Map<string, Buffer>> {
  // Read as the validator reads it, v7 headers (no magic) included; tar-stream takes the option, its typings leave it out.
  const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  const feeding = feedWritable(extract, archiveTar(archive, image.compression)).catch((error: unknown) => {
    extract.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  const wanted = new Set(everyManifestOf(image));
  const manifests = new Map<string, Buffer>();
  try {
    for await (const entry of extract) {
      const bytes = entry as unknown as AsyncIterable<Buffer>;
      const { header } = entry;
      // Spelt as the validator reads it (`./blobs//sha256/<hex>` is `blobs/sha256/<hex>`); it refused what does not normalize.
      const path = normalizeEntryPath(header.name);
      const regular = header.type === 'file' || header.type === 'contiguous-file';
      const named = regular && path.ok ? digestInEntryName(path.path) : null;
      const size = header.size ?? 0;
      if (named !== null && wanted.has(named) && size <= MAX_MANIFEST_BYTES) {
        manifests.set(named, await collect(bytes));
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
  return manifests;
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
  const pinned = pinnedDigestOf(image);
  const reference = `${target.name}@${pinned}`;
  const result = (tag: string | null, alreadyThere: boolean, placed: PlacedReferrers): PushResult =>
    ({ reference, ...push.counts, tagged: tag !== null, tagReference: tag === null ? null : `${target.name}:${tag}`, alreadyThere, referrers: placed.listed, referrersRefused: placed.refused });
  const referrers = image.referrers ?? [];

  if (await push.manifestAt(pinned) !== undefined && await everyManifestHeld(push, referrers)) {
    await rememberBlobs(target, image, log);
    return {
      // Pushed before (a redelivery, a replay): at most its tag is missing, and failing to add it fails nothing.
      commit: async () => {
        const tag = await tagManifest(push, target, pinned, () => manifestHeld(push, target, pinned), log).catch((error: unknown) => {
          log.warn({ reference, err: error }, 'the image is in the registry; its tag could not be added');
          return null;
        });
        // everyManifestHeld just saw each one there: only their tags and listings are left to check.
        const held = new Set(referrers.map((referrer) => referrer.digest));
        return result(tag, true, await placeReferrers(push, target, referrers, (digest) => manifestHeld(push, target, digest), log, held));
      },
    };
  }

  const missing = blobsOf(image);
  for (const digest of [...missing.keys()]) if (await push.blobSize(digest) !== undefined) missing.delete(digest);
  await mountKnownBlobs(push, target, missing, log);
  const held = missing.size === 0 ? await manifestsFromMountSource(target, image, log) : undefined;
  const stored = held ?? await sendFromArchive(push, await openArchive(), image, missing);
  if (missing.size > 0) throw new PushRefusedError(`the stored archive holds no bytes for ${[...missing.keys()].join(', ')}`);
  await rememberBlobs(target, image, log);
  if (!image.index && !stored.has(image.manifestDigest)) {
    stored.set(image.manifestDigest, canonicalDockerManifest(
      { digest: image.configDigest, size: push.sizes.get(image.configDigest) ?? Number.NaN },
      image.layers.map((layer) => ({ digest: layer.digest, size: layer.sizeBytes })),
    ));
  }
  const checked = (digest: string): { digest: string; bytes: Buffer } => {
    const bytes = stored.get(digest);
    if (bytes === undefined) throw new PushRefusedError(`the stored archive holds no manifest ${digest}`);
    if (sha256Of(bytes) !== digest) {
      throw new PushRefusedError(`the manifest rebuilt from the archive has digest ${sha256Of(bytes)}, not the ${digest} the validator reported`);
    }
    return { digest, bytes };
  };
  const manifests = manifestsOf(image).map(checked);
  const referrerBytes = new Map(referrers.map((referrer) => [referrer.digest, checked(referrer.digest).bytes]));
  // manifestsOf lists the index (or the image's one manifest) last: it is put last, under its tag, once the registry holds what it names.
  const top = manifests.pop();
  if (top === undefined) throw new PushRefusedError('the image names no manifest');
  return {
    commit: async () => {
      for (const { digest, bytes } of manifests) if (await push.manifestAt(digest) === undefined) await push.putManifest(digest, bytes, digest);
      const tag = await tagManifest(push, target, pinned, async () => top.bytes, log);
      if (tag === null) await push.putManifest(pinned, top.bytes, pinned);
      const placed = await placeReferrers(push, target, referrers, async (digest) => referrerBytes.get(digest) ?? manifestHeld(push, target, digest), log);
      log.info({ reference, tag, ...push.counts, ...(image.index ? { platforms: image.index.manifests.length } : {}), ...(referrers.length > 0 ? { referrers: placed.listed } : {}) }, 'image pushed to the registry');
      return result(tag, false, placed);
    },
  };
}

/** Missing blobs another repository of the registry was seen holding are mounted from there, and no longer missing. */
async function mountKnownBlobs(push: RegistryPush, target: PushTargetClient, missing: Map<string, number | undefined>, log: Logger): Promise<void> {
  const sources = target.blobSources;
  if (!sources || missing.size === 0) return;
  for (const [digest, from] of await sources.sourcesOf(target.registry, missing.keys(), target.repository, log)) {
    if (await push.mountBlob(digest, from)) missing.delete(digest);
    else await sources.forget(target.registry, digest, from, log);
  }
}

/**
 * Every blob is in the repository already, mounted from another of the
 * registry's repositories (a promotion into another project of it): the
 * manifests are copied from the repository the image's config came from when
 * that one holds them, so the archive is not read at all (Harbor's "copy
 * artifact"). Undefined when it does not, or answers other bytes: the archive
 * then says.
 */
async function manifestsFromMountSource(target: PushTargetClient, image: PushableImage, log: Logger): Promise<Map<string, Buffer> | undefined> {
  const from = (await target.blobSources?.sourcesOf(target.registry, [image.configDigest], target.repository, log))?.get(image.configDigest);
  if (from === undefined) return undefined;
  const manifests = new Map<string, Buffer>();
  for (const digest of everyManifestOf(image)) {
    const response = await target.client.request(`/v2/${from}/manifests/${digest}`, { method: 'GET', headers: { accept: MANIFEST_ACCEPT } });
    if (response.status !== 200) {
      await response.body?.cancel();
      return undefined;
    }
    const bytes = await readCapped(response, MAX_MANIFEST_BYTES);
    if (bytes === null || sha256Of(bytes) !== digest) return undefined;
    manifests.set(digest, bytes);
  }
  return manifests;
}

/** Every blob of the image is in the repository now: later pushes of other repositories may mount them from it. */
async function rememberBlobs(target: PushTargetClient, image: PushableImage, log: Logger): Promise<void> {
  await target.blobSources?.remember(target.registry, blobsOf(image).keys(), target.repository, log);
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

/** Both halves at once: the image is pullable as `name@<its index or manifest digest>` (and `name:tag`) when this returns. */
export async function pushImage(openArchive: () => Promise<Readable>, image: PushableImage, target: PushTargetClient, log: Logger): Promise<PushResult> {
  return (await sendImageBlobs(openArchive, image, target, log)).commit();
}
