import { once } from 'node:events';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { z } from 'zod';
import { descriptorShape, firstIssue, IMAGE_CONFIG_TYPES, INDEX_TYPES, isForeignLayer, MEDIA_TYPES, PULL_NOTE, type Descriptor } from '../archive/index.js';
import { choosePlatform, isAttestation, isPlatform, platformName, PREFERRED_PLATFORM } from '../platforms.js';
import { claimedPlatformConfig } from './claimed-platform.js';
import type { PullDeadline } from './pull-deadline.js';
import { pullReferrers, type PulledReferrer } from './referrers.js';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, PullRefusedError, RegistryClient, RegistryUnavailableError, requireContentDigest, sha256Of, type RegistryClientOptions } from '@orbit/lib';

const { ociIndex: OCI_INDEX, ociManifest: OCI_MANIFEST } = MEDIA_TYPES;

/**
 * Far more than any multi-platform image lists (a dozen platforms and their
 * attestations), and few enough that an index of thousands of entries is
 * not fetched manifest by manifest into memory: past it, the platform this
 * cluster runs is taken alone, by what the index says of each entry.
 */
const MAX_INDEX_ENTRIES = 64;

/** Up to this many platforms (and attestations) of an index, each one's referrers are looked for too: five requests each. */
const MAX_PLATFORM_REFERRER_LOOKUPS = 16;

// The archive's descriptor shape, so a pulled image is read as strictly as an uploaded one.
const indexShape = z.looseObject({ mediaType: z.string().optional(), manifests: z.array(descriptorShape).min(1) });
const manifestShape = z.looseObject({ mediaType: z.string().optional(), artifactType: z.string().optional(), config: descriptorShape, layers: z.array(descriptorShape).min(1) });
type IndexEntry = Descriptor;
type ImageIndex = z.infer<typeof indexShape>;
type ImageManifest = z.infer<typeof manifestShape>;

export interface PullTarget {
  readonly tag: string | null;
  readonly digest: string | null;
  /** Refuse images whose blobs add up to more than this. */
  readonly maxBytes: number;
  /**
   * Why an image index is pulled for the cluster's platform alone, as docker pull does, instead of whole: Docker Hub
   * counts one pull per platform manifest fetched (its anonymous limit is 10 an hour), so a busybox of a dozen
   * platforms spent them all at once. Undefined: whole (up to MAX_INDEX_ENTRIES and the size limit).
   */
  readonly onePlatformBecause?: string;
  /**
   * The whole pull's deadline: told the bytes the manifests declare, and of each blob's bytes as they come; its
   * signal ends the blob being read. The client's requests end with it when the client was made with its signal.
   */
  readonly deadline?: PullDeadline;
}

export interface PullResult {
  /** The digest the reference resolved to: the image index's for a multi-platform image. */
  readonly manifestDigest: string;
  readonly bytes: number;
}

/** A document as the registry sent it: written byte for byte, so its digest holds. */
interface Document {
  readonly digest: string;
  readonly bytes: Buffer;
}

interface PulledManifest extends Document {
  readonly manifest: ImageManifest;
}

/** What a reference resolved to: the document index.json names, and the image manifests below it (itself, for a single image). */
interface Resolved {
  readonly top: Document & { readonly mediaType: string };
  readonly manifests: readonly PulledManifest[];
  /** Why an index was not pulled whole, for the validator to pass on (PULL_NOTE). */
  readonly note?: string;
  /** Blobs already fetched while resolving (the one platform's config), written as they are. */
  readonly fetched?: readonly Document[];
}

/** A manifest's bytes, refused past the size registries themselves keep to, and the digest the registry says they have. */
async function manifestAnswerAt(client: RegistryClient, reference: string): Promise<{ bytes: Buffer; contentDigest: string | null }> {
  const { bytes, contentDigest } = await client.getBoundedAnswer(`/manifests/${reference}`, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES);
  if (bytes === null) throw new PullRefusedError('BAD_MANIFEST', `the registry's manifest ${reference} is over ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB, the most registries keep; it is no image manifest`);
  return { bytes, contentDigest };
}

/** A manifest asked for by digest: its bytes are held to that digest, which says more than any header. */
async function manifestAt(client: RegistryClient, reference: string): Promise<Buffer> {
  return (await manifestAnswerAt(client, reference)).bytes;
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new PullRefusedError('BAD_MANIFEST', `the registry's ${what} is not JSON`);
  }
}

/** The document as an image index (OCI index or Docker manifest list), undefined when it is an image manifest. */
function indexOf(parsed: unknown): ImageIndex | undefined {
  const index = indexShape.safeParse(parsed);
  return index.success && !manifestShape.safeParse(parsed).success ? index.data : undefined;
}

/**
 * What kind of artifact a manifest is, when its config is no image config: its artifactType when it names one (oras
 * push --artifact-type writes the empty config, application/vnd.oci.empty.v1+json, which says nothing of what it is),
 * else the config's media type. Undefined for an image.
 */
function artifactKind(manifest: { readonly artifactType?: string | undefined; readonly config?: { readonly mediaType?: string | undefined } | undefined }): string | undefined {
  const configType = manifest.config?.mediaType;
  if (configType === undefined || IMAGE_CONFIG_TYPES.has(configType)) return undefined;
  return manifest.artifactType === undefined ? `config media type ${configType}` : `artifact type ${manifest.artifactType}, config media type ${configType}`;
}

/** Refused before any blob is fetched: a multi-GB model or chart pushed by ORAS or Helm is no image to download first. */
function requireImageConfig(manifest: ImageManifest, what: string): void {
  const kind = artifactKind(manifest);
  if (kind !== undefined) throw new PullRefusedError('BAD_MANIFEST', `${what} is not a container image but an artifact (${kind}); nothing was downloaded`);
}

/** Docker's schema 1 manifest (deprecated since 2017): no config blob, and a digest of its payload without signatures. */
function isSchema1(parsed: unknown): boolean {
  return (parsed as { schemaVersion?: unknown } | null)?.schemaVersion === 1;
}

/** A reference that resolved to one image manifest: refused unless it is a runnable image. */
function singleImage(parsed: unknown, asked: string): ImageManifest {
  const manifest = manifestShape.safeParse(parsed);
  if (!manifest.success) {
    // Docker's schema 1 (deprecated since 2017) has no config blob: nothing to check the layers against.
    if (isSchema1(parsed)) {
      throw new PullRefusedError('BAD_MANIFEST', `${asked} has a Docker schema 1 manifest, which is not supported; push it again with a current tool (it then gets a schema 2 or OCI manifest)`);
    }
    const layerless = layerlessProblem(parsed);
    if (layerless !== undefined) throw new PullRefusedError('BAD_MANIFEST', `${asked} ${layerless.problem}; nothing was downloaded`);
    throw new PullRefusedError('BAD_MANIFEST', `${asked}: the registry sent no image manifest (${firstIssue(manifest.error)})`);
  }
  requireImageConfig(manifest.data, asked);
  return manifest.data;
}

// A manifest with its config and an empty layer list: what `oras push` of no file, or an image built FROM scratch with nothing added, sends.
const layerlessShape = z.looseObject({ artifactType: z.string().optional(), config: descriptorShape, layers: z.array(z.unknown()).max(0) });

/**
 * Why a manifest that lists no layers is not pulled, in those words (found by a review: it was "the registry sent no
 * image manifest (layers: Too small: expected array to have >=1 items)"): an artifact as an artifact, anything else
 * as an image with nothing to run. Undefined for any other document.
 */
function layerlessProblem(parsed: unknown): { readonly artifact: boolean; readonly problem: string } | undefined {
  const layerless = layerlessShape.safeParse(parsed);
  if (!layerless.success) return undefined;
  const kind = artifactKind(layerless.data);
  if (kind !== undefined) return { artifact: true, problem: `is not a container image but an artifact (${kind})` };
  return { artifact: false, problem: 'is an image manifest that lists no layers: no container can run from it (a runtime needs at least one filesystem layer)' };
}

function nestedIndex(entry: IndexEntry): string {
  return `it lists another image index (${entry.digest}), which is not pulled: reference the inner one or one of its platforms by digest`;
}

/** The index's entries, each digest once (an index may list one manifest under two names), and at least one image among them. */
function entriesOf(index: ImageIndex, asked: string): IndexEntry[] {
  const entries = index.manifests.filter((entry, at) => index.manifests.findIndex((other) => other.digest === entry.digest) === at);
  if (entries.every(isAttestation)) throw new PullRefusedError('BAD_MANIFEST', `${asked} is an image index of attestations only, with no image to run`);
  return entries;
}

/** An entry of an index: its manifest when it is one, and why the index cannot be pulled whole because of it (null: it can). */
interface PulledEntry {
  readonly entry: IndexEntry;
  readonly pulled: PulledManifest | null;
  readonly unkept: string | null;
  /** The registry answered 404 for its manifest or one of its blobs: the index cannot be copied whole, and this platform cannot be pulled. */
  readonly absent?: PullRefusedError;
  /** Another image index, not pulled: the platform this cluster runs may be inside it. */
  readonly nested?: true;
}

/** Layers a registry does not serve (Windows base layers, fetched from their `urls`): an index listing them cannot be copied whole. */
const isForeign = (layer: Descriptor): boolean => isForeignLayer(layer.mediaType ?? '') || 'urls' in layer;

/**
 * One entry's manifest, checked against the digest the index gives it.
 * Attestations (provenance, SBOM) are kept as they are: their config and
 * layers are in-toto documents, not an image, and they belong to the image.
 * An entry that is another index, an artifact, or an image with foreign
 * layers is not refused: it only keeps the index from being pulled whole.
 */
async function entryManifest(client: RegistryClient, entry: IndexEntry, asked: string): Promise<PulledEntry> {
  const what = `the entry ${entry.digest} (${platformName(entry)}) of ${asked}`;
  // What keeps the index from being pulled whole ends up in the archive's note, which role holders read: no reference in it.
  const unkeptEntry = `the entry ${entry.digest} (${platformName(entry)})`;
  if (entry.mediaType !== undefined && INDEX_TYPES.has(entry.mediaType)) return { entry, pulled: null, unkept: nestedIndex(entry), nested: true };
  let bytes: Buffer;
  try {
    bytes = await manifestAt(client, entry.digest);
  } catch (error) {
    // A pull-through cache or a half-replicated repository lists platforms it does not have: another one may still be pulled.
    if (!(error instanceof PullRefusedError && error.reasonCode === 'REFERENCE_NOT_FOUND')) throw error;
    return { entry, pulled: null, unkept: `its registry does not have the manifest of ${platformName(entry)}`, absent: error };
  }
  if (sha256Of(bytes) !== entry.digest) throw new PullRefusedError('BAD_MANIFEST', `the registry's manifest for ${what} does not match that digest`);
  const parsed = parseJson(bytes, `manifest ${entry.digest}`);
  if (indexOf(parsed)) return { entry, pulled: null, unkept: nestedIndex(entry), nested: true };
  const manifest = manifestShape.safeParse(parsed);
  if (!manifest.success) {
    const layerless = layerlessProblem(parsed);
    // An artifact of no layers beside the images keeps the index from being pulled whole, as any other artifact does.
    if (layerless?.artifact) return { entry, pulled: null, unkept: `${unkeptEntry} ${layerless.problem}` };
    throw new PullRefusedError('BAD_MANIFEST', `${what} ${layerless?.problem ?? `is no image manifest (${firstIssue(manifest.error)})`}`);
  }
  const pulled = { digest: entry.digest, bytes, manifest: manifest.data };
  if (isAttestation(entry)) return { entry, pulled, unkept: null };
  const kind = artifactKind(manifest.data);
  if (kind !== undefined) return { entry, pulled, unkept: `${unkeptEntry} is not a container image but an artifact (${kind})` };
  const foreign = manifest.data.layers.find(isForeign);
  if (foreign) return { entry, pulled, unkept: `${unkeptEntry} has a layer its registry does not serve (${foreign.mediaType ?? 'with urls'})` };
  return { entry, pulled, unkept: null };
}

/**
 * The reference's manifest, and for an image index every manifest it lists,
 * all fetched and checked before any blob. The index is pulled whole when
 * it can be (every entry an image or an attestation whose blobs the
 * registry serves, all of them within the size limit); otherwise, as
 * `docker pull` does, the platform this cluster runs (linux/amd64, else the
 * first image), alone.
 */
async function resolve(client: RegistryClient, target: PullTarget, reference: string, asked: string): Promise<Resolved> {
  const { bytes, contentDigest } = await manifestAnswerAt(client, reference);
  const digest = sha256Of(bytes);
  if (target.digest && digest !== target.digest) throw new PullRefusedError('BAD_MANIFEST', `the registry's manifest does not match ${target.digest}`);
  const parsed = parseJson(bytes, 'manifest');
  // By tag nothing else vouches for the bytes: the registry's own word on them must hold. Not for Docker's schema 1,
  // whose digest is of the payload without its signatures (it is refused as schema 1 below, by its name).
  if (!target.digest && !isSchema1(parsed)) requireContentDigest(contentDigest, bytes, asked);
  const index = indexOf(parsed);
  if (!index) {
    const manifest = singleImage(parsed, asked);
    return { top: { digest, bytes, mediaType: manifest.mediaType ?? OCI_MANIFEST }, manifests: [{ digest, bytes, manifest }] };
  }
  const listed = entriesOf(index, asked);
  if (listed.length > MAX_INDEX_ENTRIES) return oneOfMany(client, listed, asked, `Orbit pulls an index whole only up to ${MAX_INDEX_ENTRIES} manifests`);
  if (target.onePlatformBecause !== undefined) return oneOfMany(client, listed, asked, target.onePlatformBecause);
  let entries: PulledEntry[] = [];
  // One after the other: a token registry answers the first request's challenge once, not once per parallel request.
  for (const entry of listed) entries.push(await entryManifest(client, entry, asked));
  const manifests = entries.flatMap(({ pulled }) => (pulled ? [pulled] : []));
  const total = totalOf(manifests);
  if (entries.every(({ unkept }) => unkept === null) && total <= target.maxBytes) {
    refuseUnplacedImages(entries, asked);
    // A pull-through cache or a half-replicated repository lists platforms whose blobs it does not have: docker pull takes its own.
    const unserved = await unservedBlobs(client, manifests);
    // The index's own mediaType field, which a Docker manifest list always has; an OCI index may leave it out.
    // A platform listed twice is not noted here: the validator reads the same index in the archive and says so once.
    if (unserved.size === 0) return { top: { digest, bytes, mediaType: index.mediaType ?? OCI_INDEX }, manifests };
    entries = entries.map((pulledEntry) => {
      const blob = pulledEntry.pulled && blobsOf(pulledEntry.pulled.manifest).find((candidate) => unserved.has(candidate.digest));
      if (!blob) return pulledEntry;
      // Absent like a manifest: still a candidate, so that linux/amd64 missing a blob fails instead of turning arm64.
      const absent = new PullRefusedError('REFERENCE_NOT_FOUND', `blob ${blob.digest} of ${platformName(pulledEntry.entry)} (${pulledEntry.entry.digest}) of ${asked} was not found at its registry`);
      return { ...pulledEntry, unkept: `its registry does not have blob ${blob.digest} of ${platformName(pulledEntry.entry)}`, absent };
    });
  }
  const unkept = entries.flatMap(({ unkept: why }) => (why ? [why] : []));
  // A platform whose manifest or blob is absent stays a candidate, as docker pull chooses from the index: linux/amd64 absent fails, never turns arm64.
  const images = entries.filter(({ entry, pulled, unkept, absent }) => ((pulled !== null && unkept === null) || absent !== undefined) && !isAttestation(entry));
  const choice = choosePlatform(images.map(({ entry }) => entry), PREFERRED_PLATFORM);
  const chosenEntry = images.find(({ entry }) => entry === choice);
  if (chosenEntry?.absent) throw chosenEntry.absent;
  const chosen = chosenEntry?.pulled;
  if (!chosen || !choice) throw new PullRefusedError('BAD_MANIFEST', `${asked} is an image index listing no image Orbit can pull: ${unkept.join('; ')}`);
  // The first image instead of linux/amd64 while an inner index went unread would be a guess (found by a probe: arm/v7
  // was kept from an index whose inner index held linux/amd64, which runtimes pick), and its archive is refused as well.
  const inner = entries.find((candidate) => candidate.nested);
  if (inner && !isPlatform(choice)) {
    throw new PullRefusedError('BAD_MANIFEST', `${asked} has no ${PREFERRED_PLATFORM.os}/${PREFERRED_PLATFORM.architecture} image of its own, and lists another image index (${inner.entry.digest}), which may hold one and is not pulled: reference the inner index, or one platform, by digest`);
  }
  const why = unkept.length > 0 ? unkept.join('; ') : `its platforms' blobs add up to ${total} bytes, over the limit of ${target.maxBytes}`;
  return onePlatform(client, choice, chosen, `the reference named an image index of ${listed.map(platformName).join(', ')}; only ${platformName(choice)} was pulled, because ${why}${leftUnsaid(listed, choice)}`);
}

/**
 * An index of several different images, some naming no platform, refused in a reference's words before any blob is
 * fetched: no one image is the reference's, and its archive would be refused for it anyway, told to "upload one image
 * per archive" (found by a review). Only for an index pulled whole: alone, the first image is what containerd takes.
 */
function refuseUnplacedImages(entries: readonly PulledEntry[], asked: string): void {
  const images = entries.filter(({ entry, pulled }) => pulled !== null && !isAttestation(entry));
  const unplaced = images.filter(({ entry }) => entry.platform === undefined).length;
  if (images.length < 2 || unplaced === 0) return;
  const which = unplaced === images.length ? 'none of them with a platform' : `${unplaced} of them without a platform`;
  throw new PullRefusedError('BAD_MANIFEST', `${asked} is an image index of ${images.length} different images (${images.map(({ entry }) => entry.digest).join(', ')}), ${which}, `
    + 'so no one image is the reference\'s (a node picks an image of an index by its platform); reference one of them by digest, or push an index whose entries name their platforms; nothing was downloaded');
}

/**
 * What the note would otherwise leave out (found by a review): that the index
 * has no image of the cluster's platform, so the first one stands in for it,
 * and that its attestations were dropped with the other platforms.
 */
function leftUnsaid(listed: readonly IndexEntry[], choice: IndexEntry): string {
  const preferred = `${PREFERRED_PLATFORM.os}/${PREFERRED_PLATFORM.architecture}`;
  const missing = isPlatform(choice) ? '' : `; it lists no ${preferred} image, the platform Orbit takes for the cluster's nodes, so the first image, ${platformName(choice)}, was taken instead`;
  const attestations = listed.filter(isAttestation).length;
  const dropped = attestations === 0 ? '' : `; its ${attestations === 1 ? 'attestation' : `${attestations} attestations`} (BuildKit provenance or SBOM) ${attestations === 1 ? 'was' : 'were'} not pulled either`;
  return `${missing}${dropped}`;
}

/** The index's `choice` alone, once its config is seen to be the platform the index lists it as. */
async function onePlatform(client: RegistryClient, choice: IndexEntry, pulled: PulledManifest, note: string): Promise<Resolved> {
  const config = await claimedPlatformConfig(client, choice, pulled.manifest.config);
  return { top: { digest: pulled.digest, bytes: pulled.bytes, mediaType: pulled.manifest.mediaType ?? OCI_MANIFEST }, manifests: [pulled], note, fetched: config ? [config] : [] };
}

/**
 * An index whose entries are not all fetched (`because`): the platform this
 * cluster runs (linux/amd64, else the first image), chosen by the platforms
 * the index gives, alone, as when the whole index is over the size limit.
 */
async function oneOfMany(client: RegistryClient, listed: readonly IndexEntry[], asked: string, because: string): Promise<Resolved> {
  const choice = choosePlatform(listed.filter((entry) => !isAttestation(entry)), PREFERRED_PLATFORM);
  if (!choice) throw new PullRefusedError('BAD_MANIFEST', `${asked} is an image index listing no image`);
  const { pulled, unkept, absent, nested } = await entryManifest(client, choice, asked);
  if (absent) throw absent;
  if (nested && !isPlatform(choice)) throw new PullRefusedError('BAD_MANIFEST', `${asked} has no ${PREFERRED_PLATFORM.os}/${PREFERRED_PLATFORM.architecture} image of its own, and ${nestedIndex(choice)}`);
  if (!pulled || unkept !== null) throw new PullRefusedError('BAD_MANIFEST', `${asked} is an image index of ${listed.length} manifests, and its ${platformName(choice)}, the one pulled because ${because}, cannot be: ${unkept ?? 'it is no image'}`);
  return onePlatform(client, choice, pulled, `the reference named an image index of ${listed.length} manifests; only ${platformName(choice)} was pulled, because ${because}${leftUnsaid(listed, choice)}`);
}

const blobsOf = (manifest: ImageManifest): Descriptor[] => [manifest.config, ...manifest.layers];

/** Every blob of every manifest, each digest once: the platforms of one image often share their base layers. */
function distinctBlobs(manifests: readonly PulledManifest[]): Descriptor[] {
  const blobs = new Map<string, Descriptor>();
  for (const { manifest } of manifests) {
    for (const blob of blobsOf(manifest)) if (!blobs.has(blob.digest)) blobs.set(blob.digest, blob);
  }
  return [...blobs.values()];
}

/** HEADs at once: the manifests before them were fetched, so the registry's token is already there. */
const BLOB_CHECKS_AT_ONCE = 8;

/**
 * The blobs of these manifests the registry answers 404 for, to HEAD and then
 * to GET: a pull-through cache may fetch a blob from upstream only when it is
 * downloaded, answering HEAD 404 until then. Any other answer counts as
 * served: the pull itself then says what is wrong, as for one image.
 */
async function unservedBlobs(client: RegistryClient, manifests: readonly PulledManifest[]): Promise<Set<string>> {
  const unserved = new Set<string>();
  const blobs = distinctBlobs(manifests);
  for (let start = 0; start < blobs.length; start += BLOB_CHECKS_AT_ONCE) {
    await Promise.all(blobs.slice(start, start + BLOB_CHECKS_AT_ONCE).map(async (blob) => {
      if (await answers404(client, blob, 'HEAD') && await answers404(client, blob, 'GET')) unserved.add(blob.digest);
    }));
  }
  return unserved;
}

/** Whether the registry answers 404 for the blob; a GET's body is not read (the status is all that is wanted). */
async function answers404(client: RegistryClient, blob: Descriptor, method: 'HEAD' | 'GET'): Promise<boolean> {
  const response = await client.request(`/blobs/${blob.digest}`, { method });
  await response.body?.cancel();
  return response.status === 404;
}

const totalOf = (manifests: readonly PulledManifest[]): number => distinctBlobs(manifests).reduce((sum, blob) => sum + blob.size, 0);

/** Times a blob download cut short is taken up where it stopped (a Range request) before the pull is tried again whole. */
const BLOB_RESUMES = 5;

/**
 * Streams one blob into the archive. A body may take as long as it needs,
 * but not stall nor drip: undici would wait 300 s between two chunks, and a
 * registry sending a byte every 20 s held its upload for hours (found by a
 * probe). Each answer timeout must bring minBlobBytesPerWindow. Staging that
 * takes no bytes for as long (S3 stalled) ends the attempt the same way. A
 * download cut short or stalled is taken up where it stopped, as docker and
 * containerd do, when the registry answers a Range request (206); else the
 * pull is tried again whole.
 */
async function writeBlob(client: RegistryClient, pack: tar.Pack, blob: Descriptor, deadline: PullDeadline | undefined): Promise<void> {
  const path = `/blobs/${blob.digest}`;
  const response = await client.get(path);
  if (!response.body) throw new PullRefusedError('REGISTRY_ERROR', `blob ${blob.digest} has no body`);
  const feed = new PassThrough();
  const written = pipeline(feed, pack.entry({ name: `blobs/sha256/${blob.digest.slice(7)}`, size: blob.size }));
  // The entry's own failure (the archive's sink gone) shows through feed's writes; the rejection is read there.
  written.catch(() => undefined);
  const progress = { received: 0 };
  let body: ReadableStream<Uint8Array> = response.body;
  try {
    for (let resumes = 0; ; resumes += 1) {
      try {
        await copyBody(client, blob, body, feed, progress, deadline);
        break;
      } catch (error) {
        if (error instanceof PullRefusedError || progress.received >= blob.size) throw error;
        // Cut short: a dropped connection or a stall, worth another try (the digests are checked by the validator anyway).
        const resumed = resumes < BLOB_RESUMES ? await resumedBody(client, path, progress.received) : undefined;
        if (resumed === undefined) throw new RegistryUnavailableError(client.base, error, true);
        body = resumed;
      }
    }
    // The body ended as the registry meant it to (a drop or a stall errors instead): short is what it serves, every time.
    if (progress.received < blob.size) throw new PullRefusedError('REGISTRY_ERROR', `blob ${blob.digest} is ${progress.received} bytes, shorter than the ${blob.size} bytes its descriptor says`);
    feed.end();
    await written;
  } catch (error) {
    feed.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

/** The rest of a blob from `from` on, when the registry serves ranges (206 starting there); undefined when it does not. */
async function resumedBody(client: RegistryClient, path: string, from: number): Promise<ReadableStream<Uint8Array> | undefined> {
  try {
    const answer = await client.request(path, { method: 'GET', headers: { range: `bytes=${from}-` } });
    const start = /^bytes (\d+)-/.exec(answer.headers.get('content-range') ?? '')?.[1];
    if (answer.status === 206 && answer.body && Number(start) === from) return answer.body;
    await answer.body?.cancel();
  } catch {
    // Not answering now either: the whole pull is tried again later.
  }
  return undefined;
}

/**
 * One body's bytes into the blob's entry, counted in `progress`: it fails
 * when the blob grows past its size, and when a window of answerTimeoutMs
 * brings fewer than minBlobBytesPerWindow (the entry not taking them counts:
 * staging stalled). The pull's deadline ends it the same way, with its refusal.
 */
async function copyBody(client: RegistryClient, blob: Descriptor, body: ReadableStream<Uint8Array>, feed: PassThrough, progress: { received: number }, deadline: PullDeadline | undefined): Promise<void> {
  const source = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
  const windowMs = client.answerTimeoutMs;
  const needed = client.minBlobBytesPerWindow;
  const slow = new AbortController();
  let inWindow = 0;
  const idle = setInterval(() => {
    if (inWindow >= needed) {
      inWindow = 0;
      return;
    }
    const stalled = new Error(inWindow === 0
      ? `blob ${blob.digest} sent nothing for ${windowMs / 1000} s`
      : `blob ${blob.digest} sent ${inWindow} bytes in ${windowMs / 1000} s, fewer than the ${needed} it must send in that time`);
    slow.abort(stalled);
    source.destroy(stalled);
  }, windowMs);
  // The body's socket is closed at once: a registry dripping just fast enough would otherwise be read until its next chunk.
  const overdue = (): void => {
    slow.abort(deadline?.signal.reason);
    source.destroy(deadline?.signal.reason as Error);
  };
  if (deadline?.signal.aborted) overdue();
  deadline?.signal.addEventListener('abort', overdue, { once: true });
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      inWindow += chunk.length;
      progress.received += chunk.length;
      deadline?.received(chunk.length);
      if (progress.received > blob.size) throw new PullRefusedError('REGISTRY_ERROR', `blob ${blob.digest} is longer than the ${blob.size} bytes its descriptor says`);
      if (!feed.write(chunk)) await once(feed, 'drain', { signal: slow.signal });
    }
  } catch (error) {
    throw slow.signal.aborted ? slow.signal.reason as Error : error;
  } finally {
    clearInterval(idle);
    deadline?.signal.removeEventListener('abort', overdue);
    source.destroy();
  }
}

/**
 * The name of the pulled image's index.json entry. Named always: with its
 * referrers beside it an unnamed image is one of several entries, and skopeo
 * refuses `oci-archive:x.tar` ("more than one image in oci, choose an image")
 * with no name to choose it by. A tag pull keeps the tag, as skopeo and oras
 * name what they copy; a digest pull is named by the digest alone. Never the
 * registry or repository: where an image was pulled from is its owner's to
 * know (the gateway's OWNER_ONLY_FACTS), and a release manager downloads the
 * stored archive, whose ref name is also every role holder's repoTags.
 */
export function refNameOf(tag: string | null, digest: string): string {
  return tag ?? digest;
}

/** The top entry's annotations: its name and why one platform was taken. */
function annotationsOf(refName: string, note: string | undefined): { annotations: Record<string, string> } {
  return { annotations: { 'org.opencontainers.image.ref.name': refName, ...(note ? { [PULL_NOTE]: note } : {}) } };
}

/** oci-layout, the documents as sent, each blob once, then index.json naming the top document and the referrers beside it. */
async function writeArchive(client: RegistryClient, sink: Writable, resolved: Resolved, blobs: readonly Descriptor[], refName: string, referrers: readonly PulledReferrer[], deadline: PullDeadline | undefined): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, sink);
  const put = (name: string, bytes: Buffer): Promise<void> => new Promise((resolve, reject) => pack.entry({ name, size: bytes.length }, bytes, (error) => (error ? reject(error) : resolve())));
  // A tar with one name twice would hold two blobs where the layout expects one.
  const names = new Set<string>();
  try {
    await put('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    for (const document of [resolved.top, ...resolved.manifests, ...(resolved.fetched ?? []), ...referrers]) {
      if (names.has(document.digest)) continue;
      names.add(document.digest);
      await put(`blobs/sha256/${document.digest.slice(7)}`, document.bytes);
    }
    for (const blob of [...blobs, ...referrers.flatMap((referrer) => referrer.blobs)]) {
      if (names.has(blob.digest)) continue;
      names.add(blob.digest);
      await writeBlob(client, pack, blob, deadline);
    }
    const { top } = resolved;
    await put('index.json', Buffer.from(JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length, ...annotationsOf(refName, resolved.note) },
        // As oras cp -r lists them: untagged beside the image, cosign's under their tag.
        ...referrers.map((referrer) => ({
          mediaType: referrer.mediaType, digest: referrer.digest, size: referrer.bytes.length,
          ...(referrer.artifactType === undefined ? {} : { artifactType: referrer.artifactType }),
          ...(referrer.tag === undefined ? {} : { annotations: { 'org.opencontainers.image.ref.name': referrer.tag } }),
        })),
      ],
    })));
    pack.finalize();
  } catch (error) {
    // End the sink too, so its consumer (an S3 upload) sees the failure instead of waiting.
    pack.destroy(error instanceof Error ? error : new Error(String(error)));
    await written.catch(() => undefined);
    throw error;
  }
  await written;
}

/**
 * Pulls an image through the OCI distribution API and writes it to `sink`
 * as an OCI image-layout archive (oci-layout, index.json, blobs/sha256/…),
 * streaming each layer: the same archive an upload would be, so the one
 * validator checks both. Digests are verified there, not twice. A
 * multi-platform image stays one where it can, as `crane copy` keeps it: the
 * index as the registry sent it, every platform and attestation it lists.
 * The image's referrers at the registry (SBOMs, signatures) come along
 * beside it, as `oras cp -r` copies them.
 */
export async function pullAsOciArchive(client: RegistryClient, target: PullTarget, sink: Writable): Promise<PullResult> {
  try {
    return await pullWithin(client, target, sink);
  } catch (error) {
    // Whatever the deadline cut short (a request aborted reads as an outage, a body as a stall) ends with its refusal.
    throw target.deadline?.expired ?? error;
  }
}

async function pullWithin(client: RegistryClient, target: PullTarget, sink: Writable): Promise<PullResult> {
  const reference = target.digest ?? target.tag;
  if (!reference) throw new PullRefusedError('BAD_MANIFEST', 'a reference needs a tag or a digest');
  const asked = `${client.repositoryName}${target.digest ? '@' : ':'}${reference}`;
  const resolved = await resolve(client, target, reference, asked);
  // Refused as the archive's validation would refuse it, before asking for a blob its registry may not serve at all (a 404 read as a missing image).
  const foreign = resolved.manifests.flatMap((pulled) => pulled.manifest.layers).find(isForeign);
  if (foreign) {
    throw new PullRefusedError('UNSUPPORTED_LAYER', `layer ${foreign.digest} of ${asked} is a foreign layer (${foreign.mediaType ?? 'with urls'}), fetched from elsewhere at run time; Orbit serves every layer from its own stores: push the image without them`);
  }
  const blobs = distinctBlobs(resolved.manifests);
  const total = blobs.reduce((sum, blob) => sum + blob.size, 0);
  if (total > target.maxBytes) throw new PullRefusedError('TOO_LARGE', `the image is ${total} bytes; the limit is ${target.maxBytes}`);
  target.deadline?.declare(total);
  // A whole index's platforms have referrers of their own (cosign sign --recursive signs each; an SBOM per platform): looked for while they are few.
  const platforms = resolved.manifests.map((manifest) => manifest.digest).filter((digest) => digest !== resolved.top.digest);
  const { referrers, note } = await pullReferrers(client, [resolved.top.digest, ...(platforms.length <= MAX_PLATFORM_REFERRER_LOOKUPS ? platforms : [])]);
  target.deadline?.declare(total + referrers.flatMap((referrer) => referrer.blobs).reduce((sum, blob) => sum + blob.size, 0));
  const noted = [resolved.note, note].filter((text): text is string => text !== undefined);
  await writeArchive(client, sink, noted.length === 0 ? resolved : { ...resolved, note: noted.join('; ') }, blobs, refNameOf(target.tag, reference), referrers, target.deadline);
  return { manifestDigest: resolved.top.digest, bytes: total };
}

export { RegistryClient, type RegistryClientOptions };
