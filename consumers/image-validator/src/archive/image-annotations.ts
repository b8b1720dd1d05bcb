import { jsonBytes, MAX_IMAGE_FACTS_BYTES } from '@orbit/lib';
import { LABEL_BUDGET_BYTES, LabelBudget, sortedEntries, type ImageAnnotations, type ImageSummary, type PlatformAnnotations } from '@orbit/schemas';
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

const sameMap = (left: Readonly<Record<string, string>>, right: Readonly<Record<string, string>>): boolean =>
  JSON.stringify(sortedEntries(left)) === JSON.stringify(sortedEntries(right));

/**
 * The platforms other than the described one whose labels or annotations are not its own: a buildx image whose
 * platforms share one Dockerfile mostly has none, and repeating the same labels for each would only take room.
 */
function differingPlatforms(read: AnnotationsRead, described: { readonly digest: string; readonly labels: Readonly<Record<string, string>> }): PlatformAnnotations[] {
  return read.platforms
    .filter((platform) => platform.digest !== described.digest)
    .filter((platform) => !sameMap(platform.facts.labels, described.labels) || !sameMap(platform.annotations, read.manifest))
    .map((platform) => ({ platform: platform.platform, digest: platform.digest, labels: platform.facts.labels, annotations: platform.annotations }));
}

/** The annotations within `bytes` of keys and values: the described manifest's first, then the index's, then each platform's. */
export function boundedAnnotations(read: AnnotationsRead, described: { readonly digest: string; readonly labels: Readonly<Record<string, string>> }, bytes: number): ImageAnnotations {
  const budget = new LabelBudget(bytes);
  const manifest = budget.keepMap(read.manifest);
  const index = read.index === null ? null : budget.keepMap(read.index);
  const platforms = differingPlatforms(read, described).map((platform) => ({ ...platform, labels: budget.keepMap(platform.labels), annotations: budget.keepMap(platform.annotations) }));
  return { manifest, index, platforms, leftOut: budget.leftOut };
}

/** None of them kept, every entry counted as left out: what an image whose other facts fill their room carries. */
function noneKept(read: AnnotationsRead, described: { readonly digest: string; readonly labels: Readonly<Record<string, string>> }): ImageAnnotations {
  const all = boundedAnnotations(read, described, 0);
  return { manifest: {}, index: read.index === null ? null : {}, platforms: [], leftOut: all.leftOut };
}

/**
 * The summary with its annotations, never more than fits: at most LABEL_BUDGET_BYTES of them, and less when the rest
 * of the facts leave less room under MAX_IMAGE_FACTS_BYTES (JSON escapes may take up to six bytes a character, so the
 * room is halved until it fits). An image is never refused for its annotations (imageFactsProblem measures the
 * summary whole): those that do not fit are left out and counted. One whose other facts leave not even room to say
 * so carries none (null to a reader), as an event from before annotations were read: not known, rather than refused.
 */
export function withAnnotations(summary: ImageSummary, read: AnnotationsRead): ImageSummary {
  const described = { digest: summary.manifestDigest, labels: summary.config.labels };
  const nothing = { ...summary, annotations: noneKept(read, described) };
  const room = MAX_IMAGE_FACTS_BYTES - jsonBytes(nothing);
  if (room < 0) return summary;
  for (let bytes = Math.min(LABEL_BUDGET_BYTES, room); bytes > 0; bytes = Math.floor(bytes / 2)) {
    const annotated = { ...summary, annotations: boundedAnnotations(read, described, bytes) };
    if (jsonBytes(annotated) <= MAX_IMAGE_FACTS_BYTES) return annotated;
  }
  return nothing;
}
