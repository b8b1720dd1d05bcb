import { LABEL_BUDGET_BYTES, LabelBudget, type ImageStored, type ImageSummary, type KeyValue } from '@orbit/schemas';

/** One other platform of a multi-platform image whose labels or annotations are not the described platform's. */
export interface PlatformLabelsView {
  readonly platform: string;
  readonly digest: string;
  readonly labels: readonly KeyValue[];
  readonly annotations: readonly KeyValue[];
}

/**
 * A version's `labels` meta, what its view shows of what the image says of itself, as Harbor shows an artifact's
 * labels and annotations: each list sorted by key (UTF-8 bytes), keys and values as the image has them.
 */
export interface LabelsView {
  /** The platform `labels` and `annotations` are of: the one the version describes (linux/amd64, else the first). */
  readonly platform: string;
  /** Its config's labels (Dockerfile LABEL, buildx --label). */
  readonly labels: readonly KeyValue[];
  /** Its manifest's annotations. */
  readonly annotations: readonly KeyValue[];
  /** The multi-platform index's annotations; null for a single-platform image. */
  readonly indexAnnotations: readonly KeyValue[] | null;
  /** The index's other platforms whose labels or annotations differ; one not listed has the described platform's. */
  readonly platforms: readonly PlatformLabelsView[];
  /** Entries left out to keep all of them within `limitBytes` (keys and values, as UTF-8): 0 when every one is here. */
  readonly leftOut: number;
  readonly limitBytes: number;
}

/** As `docker buildx --platform` names the platform the summary describes: its index entry's, with its variant. */
function describedPlatform(image: ImageSummary): string {
  const entry = image.index?.manifests.find((manifest) => manifest.digest === image.manifestDigest);
  const variant = entry?.variant ? `/${entry.variant}` : '';
  return `${image.os}/${image.architecture}${variant}`;
}

/**
 * The view of an image's labels and annotations, within LABEL_BUDGET_BYTES in all: the described config's labels
 * first, then its manifest's annotations, the index's, and each other platform's. A pure function of the event, so a
 * live projection and a rebuild keep the same entries. Undefined for an event written before the validator read
 * annotations (image.annotations absent): nothing is known, which the meta's absence says.
 */
export function labelsViewOf(image: ImageSummary): LabelsView | undefined {
  const read = image.annotations;
  if (read === undefined || read === null) return undefined;
  const budget = new LabelBudget(LABEL_BUDGET_BYTES);
  const labels = budget.keep(image.config.labels);
  const annotations = budget.keep(read.manifest);
  const indexAnnotations = read.index === null ? null : budget.keep(read.index);
  const platforms = read.platforms.map((platform) => ({
    platform: platform.platform, digest: platform.digest, labels: budget.keep(platform.labels), annotations: budget.keep(platform.annotations),
  }));
  return { platform: describedPlatform(image), labels, annotations, indexAnnotations, platforms, leftOut: read.leftOut + budget.leftOut, limitBytes: LABEL_BUDGET_BYTES };
}

/** The `labels` meta of a stored version; nothing for an ImageStored from before annotations were read (the key stays absent). */
export function labelsMetaOf(event: ImageStored): { labels?: LabelsView } {
  const view = labelsViewOf(event.image);
  return view === undefined ? {} : { labels: view };
}
