/**
 * Where an archive came from, as its handler knows from the command (an upload by reference is pulled by Orbit),
 * never from the archive: an uploaded one could claim anything in an annotation, and the reference itself is the
 * owner's to know (the gateway's OWNER_ONLY_FACTS strips pulledFrom), while notes go to every role holder.
 */
export type ArchiveOrigin = 'upload' | 'registry';

/**
 * Written into index.json by the registry pull from 8176e21 until it was found to carry the reference to role holders;
 * ignored wherever it is, named only so that tests can show it is.
 */
export const PULLED_FROM = 'dev.orbit.pulled-from';

/** How a note names what lists the image's referrers: index.json for an uploaded archive, the registry (unnamed) for a pulled one. */
export function referrersListedBy(origin: ArchiveOrigin): string {
  return origin === 'registry' ? 'the source registry also has' : 'index.json also lists';
}
