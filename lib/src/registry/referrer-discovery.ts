import type { BlobDescriptor } from './image-manifest.js';
import { sha256Of } from './image-manifest.js';
import { PushRefusedError } from './push.js';
import type { ReferrerDescriptor } from './referrers.js';

/** How far a copy of an image's referrers goes before it refuses, rather than copy some and leave the rest unsaid. */
export interface ReferrerCopyLimits {
  /** Manifests copied at most (referrers, and the manifests a referrer index lists). */
  readonly count: number;
  /** Referrers of referrers (a signature of the SBOM) down to this depth; 1: only the image's own. */
  readonly depth: number;
  /** Their blobs add up to at most this many bytes. */
  readonly bytes: number;
  /**
   * The manifests themselves add up to at most this many bytes: they are held
   * in memory until the copy ends (4 MiB each may be), beside every other
   * transfer the harbor-writer handles at once.
   */
  readonly manifestBytes: number;
}

/**
 * Well past what signing and SBOM tools attach (cosign: a signature, an
 * attestation and an SBOM per image; notation: one signature per key), and
 * bounded so a registry listing without end cannot hold a transfer.
 */
export const DEFAULT_REFERRER_COPY_LIMITS: ReferrerCopyLimits = { count: 128, depth: 4, bytes: 1024 * 1024 * 1024, manifestBytes: 64 * 1024 * 1024 };

/** What discovery reads of the registry the referrers are at. */
export interface ReferrerSource {
  /** What the registry lists as referrers of `subject` (referrers API, else the tag-scheme index). */
  listed(subject: string): Promise<readonly ReferrerDescriptor[]>;
  /** The bytes of the manifest `reference` (a digest or a tag) names; undefined when it names none. */
  manifest(reference: string): Promise<Buffer | undefined>;
}

/** A manifest to copy as it is: its bytes and the blobs it names. */
export interface CopiedManifest {
  readonly digest: string;
  readonly bytes: Buffer;
  readonly blobs: readonly BlobDescriptor[];
}

/** A referrer found at the source, with what must be copied before it. */
export interface FoundReferrer extends CopiedManifest {
  /** The manifest it is about: its `subject`, or the image whose cosign tag named it. */
  readonly subject: string;
  /** cosign's tag for it (`sha256-<hex>.sig`), when that is how it is found; null: by its subject. */
  readonly tag: string | null;
  /** A referrer that is an index: the manifests it lists, each put before it. */
  readonly children: readonly CopiedManifest[];
}

export interface DiscoveredReferrers {
  /** Each after its subject: the order they can be put in. */
  readonly referrers: readonly FoundReferrer[];
  /** Digests listed as referrers that are none (gone from the registry, or about another manifest: a stale tag-scheme index). */
  readonly stale: readonly string[];
}

/** cosign's tags for the signature, attestation and SBOM of a manifest: found by name, they carry no `subject`. */
const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'] as const;

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

type Candidate = { readonly digest: string; readonly tag: null } | { readonly digest: null; readonly tag: string };

interface ParsedManifest {
  readonly subject: string | undefined;
  readonly blobs: readonly BlobDescriptor[];
  /** An index's manifests; undefined for an image manifest. */
  readonly manifests: readonly BlobDescriptor[] | undefined;
}

/**
 * Every referrer of `subjects` at the source, and theirs in turn, each once:
 * cosign's tags and the registry's listing of each subject. Stale listings
 * are skipped (nothing to copy). Past `limits` (too many, too deep, too
 * large), or on a manifest that cannot be copied as it is (not a manifest,
 * other bytes than its digest), it refuses (PushRefusedError): a signature
 * the target environment's admission controller never gets is worse than a
 * transfer that says why it stopped.
 */
export async function discoverReferrers(source: ReferrerSource, subjects: readonly string[], limits: ReferrerCopyLimits = DEFAULT_REFERRER_COPY_LIMITS): Promise<DiscoveredReferrers> {
  const seen = new Set(subjects);
  const referrers: FoundReferrer[] = [];
  const stale: string[] = [];
  const budget = new Budget(limits);
  let level = [...subjects];
  for (let depth = 1; level.length > 0; depth += 1) {
    const next: string[] = [];
    for (const subject of level) {
      for (const candidate of await candidatesOf(source, subject)) {
        if (candidate.digest !== null && seen.has(candidate.digest)) continue;
        const found = await referrerAt(source, subject, candidate, limits);
        if (found === undefined) {
          if (candidate.digest !== null) stale.push(candidate.digest);
          continue;
        }
        if (seen.has(found.digest)) continue;
        if (depth > limits.depth) throw new PushRefusedError(`${found.digest}, a referrer of ${subject}, is deeper than ${limits.depth} referrers of referrers below the image; it was not copied`);
        seen.add(found.digest);
        budget.take(found);
        referrers.push(found);
        next.push(found.digest);
      }
    }
    level = next;
  }
  return { referrers, stale };
}

/** What the copy has taken so far of its limits. */
class Budget {
  private manifests = 0;
  private bytes = 0;
  private manifestBytes = 0;
  constructor(private readonly limits: ReferrerCopyLimits) {}

  take(referrer: FoundReferrer): void {
    for (const manifest of [...referrer.children, referrer]) {
      this.manifests += 1;
      this.bytes += manifest.blobs.reduce((sum, blob) => sum + blob.size, 0);
      this.manifestBytes += manifest.bytes.length;
    }
    if (this.manifests > this.limits.count) throw new PushRefusedError(`the image has more than ${this.limits.count} referrer manifests; none past them was copied (${referrer.digest} among them)`);
    if (this.bytes > this.limits.bytes) throw new PushRefusedError(`the image's referrers add up to more than ${this.limits.bytes} bytes of blobs (with ${referrer.digest}); not copied`);
    if (this.manifestBytes > this.limits.manifestBytes) {
      throw new PushRefusedError(`the image's referrer manifests add up to more than ${this.limits.manifestBytes} bytes (with ${referrer.digest}); not copied`);
    }
  }
}

/** cosign's tags of `subject` first (the order cosign verifies in does not matter), then what the registry lists. */
async function candidatesOf(source: ReferrerSource, subject: string): Promise<Candidate[]> {
  const tags = COSIGN_SUFFIXES.map((suffix): Candidate => ({ digest: null, tag: `${subject.replace(':', '-')}.${suffix}` }));
  const listed = (await source.listed(subject)).filter((entry) => typeof entry.digest === 'string').map((entry): Candidate => ({ digest: entry.digest, tag: null }));
  return [...tags, ...listed];
}

/** The referrer a candidate names, with its bytes; undefined when there is none (no such tag, a stale listing). */
async function referrerAt(source: ReferrerSource, subject: string, candidate: Candidate, limits: ReferrerCopyLimits): Promise<FoundReferrer | undefined> {
  if (candidate.digest !== null && !DIGEST.test(candidate.digest)) throw new PushRefusedError(`the referrers of ${subject} list "${candidate.digest.slice(0, 80)}", which is no digest`);
  const reference = candidate.digest ?? candidate.tag;
  const bytes = await source.manifest(reference);
  if (bytes === undefined) return undefined;
  const digest = checkedDigest(reference, candidate.digest, bytes);
  const parsed = parseReferrerManifest(bytes, digest);
  // A listing is about the subject its entries name; a tag-scheme index kept after its referrer was replaced may name others.
  if (candidate.digest !== null && parsed.subject !== subject) return undefined;
  const children = parsed.manifests === undefined ? [] : await childrenOf(source, digest, parsed.manifests, limits);
  return { digest, bytes, blobs: parsed.blobs, subject, tag: candidate.tag, children };
}

/**
 * The manifests a referrer index lists, each an image manifest at the source (an index of indexes is not copied).
 * Held to `limits` as they are read, not after: an index may list more than the copy would ever hold.
 */
async function childrenOf(source: ReferrerSource, index: string, manifests: readonly BlobDescriptor[], limits: ReferrerCopyLimits): Promise<CopiedManifest[]> {
  if (manifests.length >= limits.count) throw new PushRefusedError(`the referrer index ${index} lists ${manifests.length} manifests, past the ${limits.count} referrer manifests copied; not copied`);
  const children: CopiedManifest[] = [];
  let held = 0;
  for (const { digest } of manifests) {
    const bytes = await source.manifest(digest);
    held += bytes?.length ?? 0;
    if (held > limits.manifestBytes) throw new PushRefusedError(`the manifests the referrer index ${index} lists add up to more than ${limits.manifestBytes} bytes; not copied`);
    if (bytes === undefined) throw new PushRefusedError(`the referrer index ${index} lists ${digest}, which its registry does not hold; it cannot be copied whole`);
    checkedDigest(digest, digest, bytes);
    const parsed = parseReferrerManifest(bytes, digest);
    if (parsed.manifests !== undefined) throw new PushRefusedError(`the referrer index ${index} lists another index (${digest}); it was not copied`);
    children.push({ digest, bytes, blobs: parsed.blobs });
  }
  return children;
}

/** The digest of `bytes`, which must be `expected` when the manifest was asked for by digest (the copy keeps digests as they are). */
function checkedDigest(reference: string, expected: string | null, bytes: Buffer): string {
  const digest = sha256Of(bytes);
  if (expected !== null && digest !== expected) throw new PushRefusedError(`the registry serves manifest ${reference} with other bytes (${digest})`);
  return digest;
}

/** The blobs (config, layers) or manifests a manifest names, and its subject; refuses what is no OCI or Docker manifest. */
export function parseReferrerManifest(bytes: Buffer, digest: string): ParsedManifest {
  let document: { config?: unknown; layers?: unknown; manifests?: unknown; blobs?: unknown; subject?: { digest?: unknown } };
  try {
    document = JSON.parse(bytes.toString('utf8')) as typeof document;
  } catch {
    throw new PushRefusedError(`referrer ${digest} is no JSON manifest; it cannot be copied`);
  }
  const subject = typeof document.subject?.digest === 'string' ? document.subject.digest : undefined;
  if (Array.isArray(document.manifests) && document.layers === undefined) return { subject, blobs: [], manifests: descriptorsIn(document.manifests, digest) };
  // The OCI 1.1 release candidates' artifact manifest: blobs, no config; copied as it is, for the target to take or refuse.
  if (Array.isArray(document.blobs) && document.layers === undefined) return { subject, blobs: descriptorsIn(document.blobs, digest), manifests: undefined };
  if (document.config === undefined || !Array.isArray(document.layers)) throw new PushRefusedError(`referrer ${digest} is neither an image manifest nor an index; it cannot be copied`);
  return { subject, blobs: descriptorsIn([document.config, ...document.layers as unknown[]], digest), manifests: undefined };
}

function descriptorsIn(entries: readonly unknown[], digest: string): BlobDescriptor[] {
  return entries.map((entry) => {
    const { digest: named, size } = (entry ?? {}) as { digest?: unknown; size?: unknown };
    if (typeof named !== 'string' || !DIGEST.test(named) || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new PushRefusedError(`referrer ${digest} names a descriptor without a valid digest and size; it cannot be copied`);
    }
    return { digest: named, size };
  });
}
