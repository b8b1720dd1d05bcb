import type { Descriptor } from './json-shapes.js';

/**
 * The annotation on index.json's entry in which the registry pull names the reference it pulled (`registry/repo:tag`):
 * the archive is validated by code that sees only the archive, and notes about what index.json lists beside the
 * image (its referrers) should name where they came from, not a file the uploader never wrote.
 */
export const PULLED_FROM = 'dev.orbit.pulled-from';

/** How a note names what lists the image's referrers: `index.json also lists` for an uploaded archive, `<reference> also has` for a pulled one. */
export function referrersListedBy(top: Descriptor): string {
  const reference = top.annotations?.[PULLED_FROM];
  return reference === undefined || reference === '' ? 'index.json also lists' : `${reference} also has`;
}
