import { isAttestation, normalizedCpu, platformName } from '../platforms.js';
import type { Descriptor } from './json-shapes.js';
import { reject } from './rejections.js';

const REF_NAME = 'org.opencontainers.image.ref.name';
/** Entries named one by one in a refusal; an index.json of hundreds is summed up after these. */
const NAMED_AT_MOST = 6;

/** `sha256:… (ref name beta)`: an index entry as a refusal names it, by the name `skopeo copy oci-archive:x.tar:beta` would load it by. */
function entryLabel(digest: string, refNames: readonly string[]): string {
  return refNames.length === 0 ? digest : `${digest} (ref name ${refNames.join(', ')})`;
}

/** Each digest once, in the order listed, with the ref names its entries carry. */
function labelsOf(entries: readonly Descriptor[]): string[] {
  const names = new Map<string, string[]>();
  for (const entry of entries) {
    const listed = names.get(entry.digest) ?? [];
    const name = entry.annotations?.[REF_NAME];
    if (name !== undefined && name !== '' && !listed.includes(name)) listed.push(name);
    names.set(entry.digest, listed);
  }
  const labels = [...names].map(([digest, refNames]) => entryLabel(digest, refNames));
  return labels.length <= NAMED_AT_MOST ? labels : [...labels.slice(0, NAMED_AT_MOST), `${labels.length - NAMED_AT_MOST} more`];
}

/**
 * The platform as a node matches it, os.version and os.features included: amd64 and amd64/v1, arm and arm/v7 are one
 * platform to containerd; Windows builds (10.0.20348.*, 10.0.17763.*) are not. Undefined for an attestation or an
 * entry without a platform, which no node picks by platform.
 */
function platformKey(entry: Descriptor): string | undefined {
  const platform = entry.platform;
  if (platform === undefined || isAttestation(entry)) return undefined;
  const cpu = normalizedCpu(platform.architecture, platform.variant);
  const osVersion: unknown = platform['os.version'];
  const features: unknown = platform['os.features'];
  return JSON.stringify([platform.os.toLowerCase(), cpu.architecture, cpu.variant, typeof osVersion === 'string' ? osVersion : '', Array.isArray(features) ? [...features].map(String).sort() : []]);
}

/**
 * Refuses an index that lists two different images for one platform when only one of its images is validated (an
 * index.json of unrelated images, or an index the archive does not hold whole): Orbit validates the one a node
 * would pick, but the archive is stored and served whole, so the other rides along unchecked and loads by its ref
 * name (found by a review: `skopeo copy oci-archive:dl.tar:beta` loaded an image whose layer wrote
 * ../../etc/cron.d/evil). `entries` are those whose manifests the archive holds: one it lacks cannot be loaded.
 */
export function refuseSamePlatformImages(entries: readonly Descriptor[], where: string): void {
  const byPlatform = new Map<string, Descriptor[]>();
  for (const entry of entries) {
    const key = platformKey(entry);
    if (key !== undefined) byPlatform.set(key, [...(byPlatform.get(key) ?? []), entry]);
  }
  for (const claimants of byPlatform.values()) {
    const [first] = claimants;
    if (first === undefined || new Set(claimants.map((entry) => entry.digest)).size < 2) continue;
    reject('BAD_MANIFEST', `${where} lists ${new Set(claimants.map((entry) => entry.digest)).size} different images for ${platformName(first)}: ${labelsOf(claimants).join(', ')}; `
      + 'Orbit would validate one of them, while the archive is stored and loaded whole with the others in it (not "first one wins"): upload one image per archive');
  }
}

/**
 * The refusal of an index naming several different images of which some have no platform, naming each by digest and
 * ref name: with nothing to choose a platform by, no one image is the archive's.
 */
export function unplacedImagesProblem(images: readonly Descriptor[], where: string): string {
  const digests = new Set(images.map((entry) => entry.digest)).size;
  const unplaced = new Set(images.filter((entry) => entry.platform === undefined).map((entry) => entry.digest)).size;
  const which = unplaced === digests ? 'none of them with a platform' : `${unplaced} of them without a platform`;
  return `${where} names ${digests} different images (${labelsOf(images).join(', ')}), ${which}, so no one image is the archive's; upload one image per archive`;
}
