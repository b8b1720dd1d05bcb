import { chartFileName } from '../helm-index.js';
import { planOverview } from '../image-overview.js';
import { environmentsOfVersion, type ImageView, type OverviewQuery, type VersionsPage, type VersionsQuery, type ViewerQuery } from '../ports.js';
import { descriptionOf, visibleImage } from '../read-access.js';

/** ImageReader.versionsPage over one image held in memory, as MySQL answers it: for route tests' fake readers. */
export function versionsPageOf(image: ImageView | undefined, page: VersionsQuery): VersionsPage | undefined {
  const seen = visibleImage(image, page.viewer, page.readable);
  if (!image || !seen) return undefined;
  // Positions count from 1 in upload order, as post IDs grow; newest first.
  const positioned = seen.versions.map((version) => ({ version, at: image.versions.indexOf(version) + 1 })).reverse();
  const anchored = positioned.find(({ version }) => page.beforeVersion !== undefined && version['imageVersion'] === page.beforeVersion);
  const before = anchored?.at ?? page.before;
  const after = positioned.filter(({ at }) => before === undefined || at < before);
  const chosen = after.slice(0, page.limit);
  const last = chosen.at(-1);
  return { versions: chosen.map(({ version }) => version), ...(after.length > page.limit && last ? { next: last.at } : {}) };
}

/** ImageReader.getVersion over one image held in memory: the image with that version alone (or none). */
export function oneVersionOf(image: ImageView | undefined, imageVersion: string): ImageView | undefined {
  if (!image) return undefined;
  const versions = image.versions.filter((version) => version['imageVersion'] === imageVersion);
  return { ...image, versions, environments: [...new Set(versions.flatMap(environmentsOfVersion))] };
}

/** ImageReader.overview over one image held in memory, as MySQL answers it (positions count from 1 in upload order). */
export function overviewOf(image: ImageView | undefined, query: OverviewQuery): ImageView | undefined {
  if (!image) return undefined;
  const owned = image.owner === query.viewer;
  const plan = planOverview(owned, image.versions.map((version, index) => ({ at: index + 1, environments: environmentsOfVersion(version) })), query.readable, query.newest);
  if (!plan) return undefined;
  const versions = plan.shown.map((at) => image.versions[at - 1] as Record<string, unknown>);
  return { ...image, versions, versionCount: plan.versionCount, environments: plan.environments, description: owned ? image.description : descriptionOf(versions.at(-1)) };
}

/** ImageReader.outline over one image held in memory: the image as the viewer sees it, each version its name and environments alone. */
export function outlineOf(image: ImageView | undefined, query: ViewerQuery): ImageView | undefined {
  const seen = visibleImage(image, query.viewer, query.readable);
  return seen && { ...seen, description: '', versions: seen.versions.map((version) => ({ imageVersion: version['imageVersion'], environments: environmentsOfVersion(version) })) };
}

/** ImageReader.getChart over one image held in memory: the image with the versions whose chart file is `fileName` alone. */
export function chartOf(image: ImageView | undefined, fileName: string): ImageView | undefined {
  if (!image) return undefined;
  const versions = image.versions.filter((version) => chartFileName(version) === fileName);
  return { ...image, versions, environments: [...new Set(versions.flatMap(environmentsOfVersion))] };
}

/** ImageReader.charted over images held in memory: the owner's with a version in the environment, each with those versions alone. */
export function chartedOf(images: readonly ImageView[], owner: string, environment: string): ImageView[] {
  return images
    .filter((image) => image.owner === owner)
    .map((image) => ({ ...image, versions: image.versions.filter((version) => environmentsOfVersion(version).includes(environment)) }))
    .filter((image) => image.versions.length > 0)
    .sort((a, b) => (a.imageName === b.imageName ? (a.imageUID < b.imageUID ? -1 : 1) : a.imageName < b.imageName ? -1 : 1));
}
