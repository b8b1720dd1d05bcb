/**
 * What every chart's Chart.yaml says of itself, and the gateway's Helm index copies into each entry (as `helm repo
 * index` would): one place, so a tool that reads the index alone sees what the chart says without fetching it.
 */
export const CHART_TYPE = 'application';
/** The PDB's unhealthyPodEvictionPolicy is on by default from 1.27; older API servers would silently drop it. */
export const CHART_KUBE_VERSION = '>=1.27.0-0';

export interface ChartIdentity {
  readonly imageUID: string;
  /** The digest pods pull the image by (pinnedDigestOf the image); none is written when absent or blank. */
  readonly digest?: string | null | undefined;
  /** The category the image was uploaded with; none is written when absent or blank. */
  readonly category?: string | null | undefined;
}

/** A chart's annotations: they tie a chart found on its own back to the image it was made for. */
export function chartAnnotationsOf({ imageUID, digest, category }: ChartIdentity): Record<string, string> {
  return {
    'orbit/image-uid': imageUID,
    ...(digest ? { 'orbit/image-digest': digest } : {}),
    ...(category ? { 'orbit/image-category': category } : {}),
  };
}
