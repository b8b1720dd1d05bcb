import { z } from 'zod';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, MAX_REFERRERS_PAGES, nextReferrersPage, PullRefusedError, readCapped, RegistryUnavailableError, sha256Of, unavailableAnswer, type RegistryClient } from '@orbit/lib';
import { artifactShape, descriptorShape, MEDIA_TYPES, type Descriptor } from '../archive/json-shapes.js';
import { isRunnableImage } from '../archive/layers.js';
import { DEFAULT_RETAINED_JSON_BYTES, DEFAULT_VALIDATION_LIMITS } from '../archive/limits.js';

const listingShape = z.looseObject({ manifests: z.array(descriptorShape) });
/** What a fetched referrer must hold for its blobs to be pulled: the archive's referrer shape, config and layers required, subject not (cosign's tags name none). */
const referrerShape = artifactShape.required({ config: true, layers: true }).extend({ subject: descriptorShape.optional() });

/** A referrer fetched from the registry, to be written into the pulled layout's index.json beside the image. */
export interface PulledReferrer {
  readonly digest: string;
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly artifactType?: string;
  /** cosign's tag for it, when that is how it was found. */
  readonly tag?: string;
  readonly blobs: readonly Descriptor[];
}

export interface ReferrerLimits {
  /** Referrers fetched at most (an image with hundreds of signatures keeps the rest at its registry). */
  readonly count: number;
  /** Their blobs add up to at most this many bytes. */
  readonly bytes: number;
  /**
   * Their manifests and small configs, which the validator keeps in memory as JSON that may be a manifest or
   * config, add up to at most this many bytes (their layers, SBOMs and signatures, it lets go as it reads them).
   */
  readonly documentBytes: number;
  /** Referrers of referrers (a signature of the SBOM) down to this depth. */
  readonly depth: number;
  /** Seconds the lookup may take before it stops with what it found (each request may take the client's answer timeout). */
  readonly seconds: number;
}

/** Half the JSON the validator keeps for the referrers, the rest for the image's own index, manifests and configs. */
export const DEFAULT_REFERRER_LIMITS: ReferrerLimits = { count: 32, bytes: 64 * 1024 * 1024, documentBytes: DEFAULT_RETAINED_JSON_BYTES / 2, depth: 3, seconds: 60 };

/** The bytes of a referrer the validator keeps as JSON: its manifest, and a config small enough to be read as one. */
const documentBytesOf = (referrer: PulledReferrer): number =>
  referrer.bytes.length + referrer.blobs.slice(0, 1).reduce((sum, config) => sum + (config.size <= DEFAULT_VALIDATION_LIMITS.maxJsonBytes ? config.size : 0), 0);

const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'] as const;

/** The registry's answer to a HEAD of `path` when it is a 200; a busy or failing registry ends the lookup (RegistryUnavailableError). */
async function says200(client: RegistryClient, path: string, accept: string): Promise<Response | undefined> {
  const response = await client.request(path, { method: 'HEAD', headers: { accept } });
  if (response.status === 429 || response.status >= 500) throw await unavailableAnswer(client.base, response, path);
  await response.body?.cancel();
  return response.status === 200 ? response : undefined;
}

/**
 * A registry's answer, or undefined when it has none to give (404 and other
 * refusals); a busy or failing registry ends the lookup. A manifest is
 * looked for with HEAD first: Docker Hub counts every manifest GET against
 * the pull rate limit, and most images have no cosign tags to find.
 */
async function answered(client: RegistryClient, path: string, accept: string): Promise<Buffer | undefined> {
  return (await answeredWhole(client, path, accept))?.bytes;
}

/** As `answered`, with the answer's headers (a referrers page links the next). */
async function answeredWhole(client: RegistryClient, path: string, accept: string): Promise<{ bytes: Buffer; response: Response } | undefined> {
  if (path.startsWith('/manifests/sha256-') && await says200(client, path, accept) === undefined) return undefined;
  const response = await client.request(path, { method: 'GET', headers: { accept } });
  if (response.status === 429 || response.status >= 500) throw await unavailableAnswer(client.base, response, path);
  if (response.status !== 200) {
    await response.body?.cancel();
    return undefined;
  }
  try {
    const bytes = await readCapped(response, MAX_MANIFEST_BYTES, AbortSignal.timeout(client.answerTimeoutMs));
    return bytes === null ? undefined : { bytes, response };
  } catch (error) {
    // Cut short or stalled: the registry is failing, which ends the lookup like any other failure.
    throw new RegistryUnavailableError(client.base, error, true);
  }
}

/**
 * What the registry lists as referrers of `subject`: its referrers API, page
 * after page as they are taken (`inTime` before each), else the tag-scheme
 * index `sha256-<hex>`. A page that is no listing ends the listing there.
 */
async function* listedReferrers(client: RegistryClient, subject: string, inTime: () => void): AsyncGenerator<Descriptor> {
  let page: string | undefined = `${client.base}/referrers/${subject}`;
  let pages = 0;
  while (page !== undefined && pages < MAX_REFERRERS_PAGES) {
    if (pages > 0) inTime();
    const answer = await answeredWhole(client, page, MEDIA_TYPES.ociIndex);
    const listing = answer === undefined ? undefined : listingShape.safeParse(parseOrNull(answer.bytes));
    if (!answer || !listing?.success) break;
    pages += 1;
    yield* listing.data.manifests;
    page = nextReferrersPage(client, page, answer.response);
  }
  // A registry with the API lists there what the tag-scheme index would (a stale one, at most).
  if (pages > 0) return;
  const index = await answered(client, `/manifests/${subject.replace(':', '-')}`, MEDIA_TYPES.ociIndex);
  const listing = index === undefined ? undefined : listingShape.safeParse(parseOrNull(index));
  if (listing?.success) yield* listing.data.manifests;
}

function parseOrNull(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

/**
 * The referrers of `images` at their registry (SBOMs, signatures, attestations:
 * what `oras attach`, notation and cosign put there), fetched so that an
 * image named by reference arrives as an archive with them would: its
 * layout's index.json lists them beside the image, and the validator and
 * the harbor-writer treat them alike. Found through the referrers API, its
 * tag-scheme fallback, and cosign's `sha256-<hex>.sig|.att|.sbom` tags;
 * then their own referrers (a signature of the SBOM). Best effort within
 * `limits`: one that cannot be fetched, names another subject (a stale
 * tag-scheme index), is an index, or could run as an image is left at the
 * registry, and the returned note says how many were; a registry failing
 * or stalling on them ends the lookup with what was found, and says so.
 */
export async function pullReferrers(client: RegistryClient, images: readonly string[], limits: ReferrerLimits = DEFAULT_REFERRER_LIMITS): Promise<{ referrers: PulledReferrer[]; note?: string }> {
  const found = new Map<string, PulledReferrer>();
  let left = 0;
  let bytes = 0;
  let documentBytes = 0;
  const deadline = Date.now() + limits.seconds * 1000;
  const inTime = (): void => {
    if (Date.now() > deadline) throw new LookupStopped(`it took over ${limits.seconds} s`);
  };
  const keep = async (referrer: PulledReferrer): Promise<void> => {
    const size = referrer.blobs.reduce((sum, blob) => sum + blob.size, 0);
    if (found.has(referrer.digest)) return;
    // Every blob must be there before anything is written: a referrer's missing blob must not fail the image's pull.
    const documents = documentBytesOf(referrer);
    if (found.size >= limits.count || bytes + size > limits.bytes || documentBytes + documents > limits.documentBytes || !await holdsBlobs(client, referrer.blobs)) {
      left += 1;
      return;
    }
    bytes += size;
    documentBytes += documents;
    found.set(referrer.digest, referrer);
  };

  let stopped: string | undefined;
  try {
    for (const image of images) {
      for (const suffix of COSIGN_SUFFIXES) {
        inTime();
        const tag = `${image.replace(':', '-')}.${suffix}`;
        const document = await answered(client, `/manifests/${tag}`, MANIFEST_ACCEPT);
        const referrer = document === undefined ? undefined : referrerOf(document);
        if (referrer) await keep({ ...referrer, tag });
      }
    }
    let subjects = [...images];
    for (let depth = 0; depth < limits.depth && subjects.length > 0; depth += 1) {
      const next: string[] = [];
      for (const subject of subjects) {
        inTime();
        for await (const entry of listedReferrers(client, subject, inTime)) {
          if (found.has(entry.digest)) continue;
          inTime();
          const document = await answered(client, `/manifests/${entry.digest}`, MANIFEST_ACCEPT);
          const referrer = document !== undefined && sha256Of(document) === entry.digest ? referrerOf(document, subject) : undefined;
          if (!referrer) {
            left += 1;
            continue;
          }
          await keep(referrer);
          if (found.has(referrer.digest)) next.push(referrer.digest);
        }
      }
      subjects = next;
    }
  } catch (error) {
    // The image is what was asked for; its referrers are extra. A registry that fails, refuses or stalls on them
    // (some answer 500 to a path they do not route) must not hold the image up, nor fail it.
    if (!(error instanceof LookupStopped || error instanceof RegistryUnavailableError || error instanceof PullRefusedError)) throw error;
    stopped = withoutSource(client, error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message);
  }
  const notes = [
    ...(left === 0 ? [] : [`${left} more referrer${left === 1 ? '' : 's'} listed at the registry ${left === 1 ? 'was' : 'were'} left there (past ${limits.count} referrers, ${limits.bytes / 1024 / 1024} MiB, or ${limits.documentBytes / 1024 / 1024} MiB of manifests, not fetchable, about another manifest, an index, or runnable as an image)`]),
    ...(stopped === undefined ? [] : [`looking for referrers at the registry stopped (${stopped}); the image comes with the ${found.size} found before`]),
  ];
  return { referrers: [...found.values()], ...(notes.length === 0 ? {} : { note: notes.join('; ') }) };
}

/**
 * A registry error's words without the registry and repository they name: the note goes into the archive and to every
 * role holder, who are not told where the image was pulled from (the gateway's OWNER_ONLY_FACTS).
 */
export function withoutSource(client: Pick<RegistryClient, 'repositoryName'>, text: string): string {
  const { repositoryName } = client;
  const registry = repositoryName.slice(0, repositoryName.indexOf('/'));
  const unnamed = text.replaceAll(repositoryName, 'the repository');
  return registry === '' ? unnamed : unnamed.replaceAll(registry, 'the registry');
}

/** The lookup ran out of its time. */
class LookupStopped extends Error {}

async function holdsBlobs(client: RegistryClient, blobs: readonly Descriptor[]): Promise<boolean> {
  for (const blob of blobs) {
    const response = await client.request(`/blobs/${blob.digest}`, { method: 'HEAD' });
    if (response.status === 429 || response.status >= 500) throw await unavailableAnswer(client.base, response, `blob ${blob.digest}`);
    await response.body?.cancel();
    if (response.status !== 200) return false;
  }
  return true;
}

/** A referrer's manifest, when it is one this pull can carry: about `subject` (when asked), not an index, not a runnable image. */
function referrerOf(document: Buffer, subject?: string): Omit<PulledReferrer, 'tag'> | undefined {
  const parsed = referrerShape.safeParse(parseOrNull(document));
  if (!parsed.success) return undefined;
  const { mediaType, artifactType, config, layers } = parsed.data;
  if (subject !== undefined && parsed.data.subject?.digest !== subject) return undefined;
  if (isRunnableImage(config, layers)) return undefined;
  return { digest: sha256Of(document), bytes: document, mediaType: mediaType ?? MEDIA_TYPES.ociManifest, ...(artifactType === undefined ? {} : { artifactType }), blobs: [config, ...layers] };
}
