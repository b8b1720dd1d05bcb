import { MAX_MANIFEST_BYTES, readCapped } from './bounded-body.js';
import type { RegistryClient } from './client.js';
import { OCI_INDEX_TYPE, manifestMediaType, sha256Of } from './image-manifest.js';
import { MANIFEST_ACCEPT, PushRefusedError, type RegistryPush } from './push.js';

/** The tag the distribution spec's referrers tag scheme gives the index of `subject`'s referrers: `sha256-<hex>`. */
export const referrersTagOf = (subject: string): string => subject.replace(':', '-');

/** An entry of a referrers listing (the API's answer, or the tag-scheme index). */
export interface ReferrerDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A referrer put into the repository, whose manifest bytes can be had when it must be listed. */
export interface PutReferrer {
  readonly digest: string;
  manifest(): Promise<Buffer>;
}

/**
 * What a referrers listing says of a manifest, as the distribution spec
 * words it: its media type and size, its artifact type (else its config's
 * media type) and its annotations.
 */
export function referrerDescriptorOf(manifest: Buffer): ReferrerDescriptor {
  const document = JSON.parse(manifest.toString('utf8')) as { artifactType?: unknown; config?: { mediaType?: unknown }; annotations?: unknown };
  const artifactType = typeof document.artifactType === 'string' ? document.artifactType : typeof document.config?.mediaType === 'string' ? document.config.mediaType : undefined;
  const annotations = isTextRecord(document.annotations) ? document.annotations : undefined;
  return {
    mediaType: manifestMediaType(manifest), digest: sha256Of(manifest), size: manifest.length,
    ...(artifactType === undefined ? {} : { artifactType }), ...(annotations === undefined ? {} : { annotations }),
  };
}

function isTextRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === 'string');
}

/**
 * The descriptors a referrers index lists; undefined when `bytes` is none:
 * no OCI index, or one of an image's platforms (a multi-platform image
 * someone tagged so).
 */
function listedIn(bytes: Buffer): ReferrerDescriptor[] | undefined {
  try {
    const { mediaType, manifests } = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if ((mediaType !== undefined && mediaType !== OCI_INDEX_TYPE) || !Array.isArray(manifests)) return undefined;
    const entries = manifests as { digest?: unknown; platform?: unknown }[];
    if (entries.some((entry) => typeof entry?.digest !== 'string' || entry.platform !== undefined)) return undefined;
    return entries as ReferrerDescriptor[];
  } catch {
    return undefined;
  }
}

/** Pages of a referrers listing followed at most: a registry linking page after page for ever must not hold a pull or a check. */
export const MAX_REFERRERS_PAGES = 100;

/** The target of a Link header's `rel="next"` (RFC 8288: `<url>; rel="next", <url>; rel="prev"`), if any. */
function nextLinkIn(header: string): string | undefined {
  for (const [, target, params = ''] of header.matchAll(/<([^>]*)>([^<]*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
    if ((rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/).includes('next')) return target;
  }
  return undefined;
}

/**
 * Where the rest of a referrers listing is: a registry that cannot list them
 * all in one answer must link the next page (`Link: <…>; rel="next"`),
 * relative to the URL that answered (the answer's own, else `asked`, an
 * absolute URL). Undefined on the last page, and for a page at another
 * origin: only the registry itself was checked as a place to go, and a link
 * is no redirect, which would be.
 */
export function nextReferrersPage(client: RegistryClient, asked: string, answer: Pick<Response, 'headers' | 'url'>): string | undefined {
  const target = nextLinkIn(answer.headers.get('link') ?? '');
  if (target === undefined) return undefined;
  try {
    const next = new URL(target, answer.url || asked);
    return next.origin === new URL(client.base).origin ? next.href : undefined;
  } catch {
    return undefined;
  }
}

/** How the referrers of a subject came to be listed. */
export type ReferrersListing = 'referrers-api' | 'tag-scheme' | 'tag-scheme-unchanged';

/**
 * What the registry lists as referrers of a subject: its API's first page
 * (`next`: where the rest is), or the tag-scheme index (undefined: the tag
 * names something else).
 */
type Listing = { readonly kind: 'api'; readonly listed: readonly ReferrerDescriptor[]; readonly next: string | undefined } | { readonly kind: 'tag'; readonly tag: string; readonly listed: readonly ReferrerDescriptor[] | undefined };

/** Answers of a registry that has the path, for all they say, but cannot answer now. */
const BUSY_OR_AWAY: ReadonlySet<number> = new Set([429, 502, 503, 504]);

async function listingOf(push: RegistryPush, client: RegistryClient, subject: string): Promise<Listing> {
  const asked = `${client.base}/referrers/${subject}`;
  const api = await client.request(asked, { method: 'GET', headers: { accept: OCI_INDEX_TYPE } });
  // Anything but an index means no API: 404 as the spec says, 400/405 or even 500 from registries that route the path nowhere.
  // A registry with the API that only failed this once gets a tag-scheme index besides, which its clients do not need but no client minds.
  // Busy or away (429, 502-504) says nothing of the API: tried again, as the push is, since a transfer that read no
  // referrers there carried no signature and said nothing.
  if (BUSY_OR_AWAY.has(api.status)) await push.expect(api, [200], `the referrers of ${subject}`);
  if (api.status === 200 && (api.headers.get('content-type') ?? '').includes(OCI_INDEX_TYPE)) {
    const answer = await readCapped(api, MAX_MANIFEST_BYTES);
    return { kind: 'api', listed: (answer === null ? undefined : listedIn(answer)) ?? [], next: nextReferrersPage(client, asked, api) };
  }
  await api.body?.cancel();
  const tag = referrersTagOf(subject);
  // Asked for as any manifest: a registry answers 404 to an Accept the manifest there does not match, and what is there must be seen.
  const held = await push.expect(await client.request(`/manifests/${tag}`, { method: 'GET', headers: { accept: MANIFEST_ACCEPT } }), [200, 404], `the referrers index ${tag}`);
  if (held.status !== 200) {
    await held.body?.cancel();
    return { kind: 'tag', tag, listed: [] };
  }
  const bytes = await readCapped(held, MAX_MANIFEST_BYTES);
  if (bytes === null) throw new PushRefusedError(`the referrers index ${tag} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  return { kind: 'tag', tag, listed: listedIn(bytes) };
}

/** The referrers the API lists from its second page (`next`) on, up to MAX_REFERRERS_PAGES pages in all. */
async function laterPages(push: RegistryPush, client: RegistryClient, subject: string, next: string | undefined): Promise<ReferrerDescriptor[]> {
  const listed: ReferrerDescriptor[] = [];
  for (let page = next, pages = 1; page !== undefined && pages < MAX_REFERRERS_PAGES; pages += 1) {
    const answer = await push.expect(await client.request(page, { method: 'GET', headers: { accept: OCI_INDEX_TYPE } }), [200], `page ${pages + 1} of the referrers of ${subject}`);
    const bytes = await readCapped(answer, MAX_MANIFEST_BYTES);
    listed.push(...(bytes === null ? undefined : listedIn(bytes)) ?? []);
    page = nextReferrersPage(client, page, answer);
  }
  return listed;
}

/**
 * What the registry lists as referrers of `subject`: its referrers API, every
 * page of it, else the tag-scheme index (none when that tag names something else).
 */
export async function referrersOf(push: RegistryPush, client: RegistryClient, subject: string): Promise<ReferrerDescriptor[]> {
  const listing = await listingOf(push, client, subject);
  const rest = listing.kind === 'api' ? await laterPages(push, client, subject, listing.next) : [];
  return [...listing.listed ?? [], ...rest];
}

/** The digests the registry lists as referrers of `subject` (its referrers API, every page of it, else the tag-scheme index). */
export async function referrersListedAt(push: RegistryPush, client: RegistryClient, subject: string): Promise<Set<string>> {
  return new Set((await referrersOf(push, client, subject)).map((entry) => entry.digest));
}

/**
 * Read-add-put rounds of a tag-scheme index before giving up: each put is
 * read back, and a round is needed again only when another writer's put,
 * made from what it read before ours, dropped one of ours.
 */
const MAX_LISTING_ROUNDS = 4;

/**
 * Makes the `referrers` just put discoverable as referrers of `subject`. A
 * registry that serves the referrers API (OCI 1.1: Harbor 2.8+, Zot, ECR,
 * go-containerregistry) lists them itself from their `subject` field. One that
 * answers 404 there (docker-registry 2.x, distribution 3.0 and 3.1, older
 * Artifactory) is what the spec's fallback is for: the index tagged
 * `sha256-<subject hex>` lists them, beside whatever other clients listed
 * there before (it is read, added to, and put back; nothing already listed is
 * dropped), and a tag naming anything else is never moved. The registry has
 * no conditional put, so the index is read again after each put and the
 * referrers a concurrent writer's put dropped are added again; that writer,
 * doing the same, adds back its own.
 */
export async function listReferrers(push: RegistryPush, client: RegistryClient, subject: string, referrers: readonly PutReferrer[]): Promise<ReferrersListing> {
  const descriptors = new Map<string, ReferrerDescriptor>();
  let changed = false;
  for (let round = 0; round < MAX_LISTING_ROUNDS; round += 1) {
    const listing = await listingOf(push, client, subject);
    if (listing.kind === 'api') return 'referrers-api';
    const { tag, listed } = listing;
    if (listed === undefined) throw new PushRefusedError(`the tag ${tag} names a manifest that is no referrers index; it is left as it is`);
    const known = new Set(listed.map((entry) => entry.digest));
    const added: ReferrerDescriptor[] = [];
    for (const referrer of referrers) {
      if (known.has(referrer.digest)) continue;
      known.add(referrer.digest);
      const descriptor = descriptors.get(referrer.digest) ?? referrerDescriptorOf(await referrer.manifest());
      descriptors.set(referrer.digest, descriptor);
      added.push(descriptor);
    }
    if (added.length === 0) return changed ? 'tag-scheme' : 'tag-scheme-unchanged';
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: [...listed, ...added] }));
    await push.putManifest(tag, index, sha256Of(index));
    changed = true;
  }
  throw new PushRefusedError(`the referrers index ${referrersTagOf(subject)} was rewritten by other writers ${MAX_LISTING_ROUNDS} times in a row, each time without the referrers put here; images:push lists them again later`);
}
