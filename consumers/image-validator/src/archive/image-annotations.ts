import { jsonBytes, MAX_IMAGE_FACTS_BYTES } from '@orbit/lib';
import { LABEL_BUDGET_BYTES, LabelBudget, sortedEntries, type ImageAnnotations, type ImageSummary, type KeyValue, type PlatformAnnotations } from '@orbit/schemas';
import { uncarriedKeysOf } from './json-shapes.js';
import type { PlatformConfig } from './platform-configs.js';

/** What the archive says of the image beside the described config's labels, as read, before any is left out. */
export interface AnnotationsRead {
  /** The described manifest's annotations. */
  readonly manifest: Readonly<Record<string, string>>;
  /** The kept index's annotations; null for a single-platform image. */
  readonly index: Readonly<Record<string, string>> | null;
  /** Every runnable platform of the kept index, the described one too. */
  readonly platforms: readonly PlatformConfig[];
}

type Described = { readonly digest: string; readonly labels: Readonly<Record<string, string>> };
type StringMap = Readonly<Record<string, string>>;

/**
 * Each map read once, whatever asks for it: listing a map of 300k labels takes ~0.1 s (Object.entries ~0.4 s), and
 * platforms sharing such a config had theirs sorted twice per comparison and again under every budget tried (15.8 s
 * for four platforms).
 */
const sortedMaps = new WeakMap<StringMap, readonly KeyValue[]>();
const sortedTexts = new WeakMap<StringMap, string>();

/** The map's entries in key order (sortedEntries), once per map. */
export function sortedOnce(map: StringMap): readonly KeyValue[] {
  const known = sortedMaps.get(map);
  if (known !== undefined) return known;
  const sorted = sortedEntries(map);
  sortedMaps.set(map, sorted);
  return sorted;
}

/** The map as one text, in key order, the keys it could not carry too (two maps differing only in those differ). */
function sortedText(map: StringMap): string {
  const known = sortedTexts.get(map);
  if (known !== undefined) return known;
  const text = JSON.stringify([sortedOnce(map), uncarriedKeysOf(map)]);
  sortedTexts.set(map, text);
  return text;
}

/** Equal key for key; maps of different sizes are told apart before their texts are made. */
function sameMap(left: StringMap, right: StringMap): boolean {
  if (left === right) return true;
  if (sortedOnce(left).length !== sortedOnce(right).length) return false;
  return sortedText(left) === sortedText(right);
}

/**
 * The platforms other than the described one whose labels or annotations are not its own: a buildx image whose
 * platforms share one Dockerfile mostly has none, and repeating the same labels for each would only take room.
 */
function differingPlatforms(read: AnnotationsRead, described: Described): PlatformAnnotations[] {
  return read.platforms
    .filter((platform) => platform.digest !== described.digest)
    .filter((platform) => !sameMap(platform.facts.labels, described.labels) || !sameMap(platform.annotations, read.manifest))
    .map((platform) => ({ platform: platform.platform, digest: platform.digest, labels: platform.facts.labels, annotations: platform.annotations }));
}

/** Where a map of the summary came from, for a note naming a key it could not carry. */
interface NamedMap {
  readonly where: string;
  readonly map: StringMap;
}

/** Every label and annotation map the summary carries, the described config's labels first. */
function carriedMaps(read: AnnotationsRead, described: Described, differing: readonly PlatformAnnotations[]): NamedMap[] {
  return [
    { where: 'the config\'s labels', map: described.labels },
    { where: 'the manifest\'s annotations', map: read.manifest },
    ...(read.index === null ? [] : [{ where: 'the index\'s annotations', map: read.index }]),
    ...differing.flatMap((platform) => [
      { where: `${platform.platform}'s labels`, map: platform.labels },
      { where: `${platform.platform}'s annotations`, map: platform.annotations },
    ]),
  ];
}

/** Keys the archive gave that no map can carry (UNCARRIED_KEYS): how many, and a note naming each and where it was. */
function uncarried(maps: readonly NamedMap[]): { readonly count: number; readonly note?: string } {
  const found = maps.flatMap(({ where, map }) => uncarriedKeysOf(map).map((key) => `"${key}" of ${where}`));
  if (found.length === 0) return { count: 0 };
  return {
    count: found.length,
    note: `the key ${found.join(', the key ')} is left out of the image's labels and annotations (and counted in leftOut): `
      + 'readers of the image\'s facts in JavaScript take a key of that name for the object\'s prototype, so none of them could keep it',
  };
}

function keptWithin(read: AnnotationsRead, differing: readonly PlatformAnnotations[], bytes: number, uncarriedCount: number): ImageAnnotations {
  // Each map sorted once (sortedOnce), whatever budget is tried: the walk is the projector's (LabelBudget).
  const budget = new LabelBudget(bytes);
  const kept = (map: StringMap): Record<string, string> => Object.fromEntries(budget.keepSorted(sortedOnce(map)).map(({ key, value }) => [key, value]));
  const manifest = kept(read.manifest);
  const index = read.index === null ? null : kept(read.index);
  const platforms = differing.map((platform) => ({ ...platform, labels: kept(platform.labels), annotations: kept(platform.annotations) }));
  return { manifest, index, platforms, leftOut: budget.leftOut + uncarriedCount };
}

/** The annotations within `bytes` of keys and values: the described manifest's first, then the index's, then each platform's. */
export function boundedAnnotations(read: AnnotationsRead, described: Described, bytes: number): ImageAnnotations {
  const differing = differingPlatforms(read, described);
  return keptWithin(read, differing, bytes, uncarried(carriedMaps(read, described, differing)).count);
}

/** None of them kept, every entry counted as left out (no sort needed to count): what an image whose other facts fill their room carries. */
function noneKept(read: AnnotationsRead, differing: readonly PlatformAnnotations[], uncarriedCount: number): ImageAnnotations {
  const maps = [read.manifest, ...(read.index === null ? [] : [read.index]), ...differing.flatMap((platform) => [platform.labels, platform.annotations])];
  const entries = maps.reduce((sum, map) => sum + sortedOnce(map).length, 0);
  return { manifest: {}, index: read.index === null ? null : {}, platforms: [], leftOut: entries + uncarriedCount };
}

/**
 * The summary with its annotations, never more than fits: at most LABEL_BUDGET_BYTES of them, and less when the rest
 * of the facts leave less room under MAX_IMAGE_FACTS_BYTES (JSON escapes may take up to six bytes a character, so the
 * room is halved until it fits). An image is never refused for its annotations (imageFactsProblem measures the
 * summary whole): those that do not fit are left out and counted. One whose other facts leave not even room to say
 * so carries none (null to a reader), as an event from before annotations were read: not known, rather than refused.
 * A key no reader can carry (UNCARRIED_KEYS) is left out, counted and named in a note, whatever the room.
 */
export function withAnnotations(summary: ImageSummary, read: AnnotationsRead): ImageSummary {
  const described = { digest: summary.manifestDigest, labels: summary.config.labels };
  const differing = differingPlatforms(read, described);
  const lost = uncarried(carriedMaps(read, described, differing));
  const noted = lost.note === undefined ? summary : { ...summary, validationNotes: [...(summary.validationNotes ?? []), lost.note] };
  const nothing = { ...noted, annotations: noneKept(read, differing, lost.count) };
  const room = MAX_IMAGE_FACTS_BYTES - jsonBytes(nothing);
  if (room < 0) return noted;
  for (let bytes = Math.min(LABEL_BUDGET_BYTES, room); bytes > 0; bytes = Math.floor(bytes / 2)) {
    const annotated = { ...noted, annotations: keptWithin(read, differing, bytes, lost.count) };
    if (jsonBytes(annotated) <= MAX_IMAGE_FACTS_BYTES) return annotated;
  }
  return nothing;
}
