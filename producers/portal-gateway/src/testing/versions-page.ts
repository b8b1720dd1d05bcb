import type { ImageView, VersionsPage, VersionsQuery } from '../ports.js';
import { visibleImage } from '../read-access.js';

/** ImageReader.versionsPage over one image held in memory, as MySQL answers it: for route tests' fake readers. */
export function versionsPageOf(image: ImageView | undefined, page: VersionsQuery): VersionsPage | undefined {
  const seen = visibleImage(image, page.viewer, page.readable);
  if (!image || !seen) return undefined;
  // Positions count from 1 in upload order, as post IDs grow; newest first.
  const positioned = seen.versions.map((version) => ({ version, at: image.versions.indexOf(version) + 1 })).reverse();
  const after = positioned.filter(({ at }) => page.before === undefined || at < page.before);
  const chosen = after.slice(0, page.limit);
  const last = chosen.at(-1);
  return { versions: chosen.map(({ version }) => version), ...(after.length > page.limit && last ? { next: last.at } : {}) };
}
