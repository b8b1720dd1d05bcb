import type { EnvironmentName } from '@orbit/lib';
import type { ImageView, StoredObjectRef } from './ports.js';

/** A stored object's location as ViewPort keeps it (s3Location, chartLocation), or undefined when it is not one. */
export const locationOf = (value: unknown): StoredObjectRef | undefined => {
  const location = value as Partial<StoredObjectRef> | null | undefined;
  return typeof location?.bucket === 'string' && typeof location.key === 'string' ? { bucket: location.bucket, key: location.key, versionId: location.versionId ?? null } : undefined;
};

type PromotionFacts = { readonly s3Location?: unknown; readonly chartLocation?: unknown; readonly chartSha256?: unknown };

const promotionIn = (version: Readonly<Record<string, unknown>>, environment: EnvironmentName): PromotionFacts | undefined =>
  environment === 'Development' ? undefined : ((version['promotions'] ?? {}) as Record<string, PromotionFacts | undefined>)[environment];

const sha256Of = (value: unknown): string | undefined => (typeof value === 'string' && /^[0-9a-f]{64}$/.test(value) ? value : undefined);

/** Where an environment's copy of a version lies: its Development copy, or the copy its promotion into the environment made. */
export function copyIn(version: Readonly<Record<string, unknown>>, environment: EnvironmentName): StoredObjectRef | undefined {
  if (environment === 'Development') return locationOf(version['s3Location']);
  return locationOf(promotionIn(version, environment)?.s3Location);
}

/**
 * The packaged chart an environment serves of a version, with its SHA-256
 * when ViewPort holds one: the chart its promotion packaged when the
 * environment pulls from a registry of its own, else the version's.
 */
export function chartIn(version: Readonly<Record<string, unknown>>, environment: EnvironmentName): { location: StoredObjectRef; sha256?: string } | undefined {
  const promotion = promotionIn(version, environment);
  const own = locationOf(promotion?.chartLocation);
  if (own) return { location: own, ...withSha256(promotion?.chartSha256) };
  const upload = locationOf(version['chartLocation']);
  return upload && { location: upload, ...withSha256(version['chartSha256']) };
}

const withSha256 = (value: unknown): { sha256?: string } => {
  const sha256 = sha256Of(value);
  return sha256 ? { sha256 } : {};
};

/**
 * How a version's stored archive downloads: the upload's own bytes, so an
 * archive uploaded gzip'd or zstd'd as a whole is named and typed so (found by
 * a probe: it came as `.tar`, `application/x-tar`).
 */
export function archiveDownloadOf(version: Readonly<Record<string, unknown>>): { readonly suffix: string; readonly contentType: string } {
  switch (version['archiveCompression']) {
    case 'GZIP': return { suffix: '.tar.gz', contentType: 'application/gzip' };
    case 'ZSTD': return { suffix: '.tar.zst', contentType: 'application/zstd' };
    default: return { suffix: '.tar', contentType: 'application/x-tar' };
  }
}

/**
 * A version's facts only its owner sees: the reference it was pulled from may
 * name a private registry (and a repository or tag that says more than the
 * version does), as the upload's `reference` is left out of the events a role
 * holder reads (event-payload-view.ts). What a deployer pulls and checks, the
 * digest and imageReference, stays.
 */
const OWNER_ONLY_FACTS = ['pulledFrom'] as const;

/** A fact of OWNER_ONLY_FACTS. */
type OwnerOnlyFact = (typeof OWNER_ONLY_FACTS)[number];

/** Whether a version holds any fact only its owner may see: a page without one needs no look at whose image it is. */
export const holdsOwnerOnlyFacts = (versions: readonly Readonly<Record<string, unknown>>[]): boolean =>
  versions.some((version) => OWNER_ONLY_FACTS.some((fact) => Object.hasOwn(version, fact)));

/** `version` as a caller sees it: whole when they own its image, else without OWNER_ONLY_FACTS. */
export function versionShownTo<T extends Readonly<Record<string, unknown>>>(version: T, owned: boolean): T | Omit<T, OwnerOnlyFact> {
  if (owned || !holdsOwnerOnlyFacts([version])) return version;
  // Named one by one, so that the type says which facts are gone: OWNER_ONLY_FACTS has one.
  const { pulledFrom: _ownerOnly, ...shown } = version;
  return shown;
}

/** `image` as `viewer` sees its versions: see versionShownTo. */
export function imageShownTo(image: ImageView, viewer: string): ImageView {
  const owned = image.owner === viewer;
  return owned ? image : { ...image, versions: image.versions.map((version) => versionShownTo(version, false)) };
}
