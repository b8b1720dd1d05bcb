import { createHash } from 'node:crypto';

/** Helm appends "-<chart>" style suffixes to release names; 53 leaves room for them inside the 63 of a DNS label. */
export const MAX_CHART_NAME = 53;

function dnsSlug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // accents fall off so "Café" becomes "cafe" rather than "caf"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '') // DNS-1035 (Service names) needs a leading letter, stricter than DNS-1123
    .slice(0, MAX_CHART_NAME)
    .replace(/-+$/, '');
}

/**
 * Chart (and default release) name: a DNS label of at most 53 characters that
 * starts with a letter. A name with nothing usable in it falls back to the
 * image UID, so two such images still get different charts.
 */
export function chartNameOf(imageName: string, imageUID: string): string {
  const slug = dnsSlug(imageName);
  if (slug !== '') return slug;
  const uidPart = imageUID.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 8);
  return `image-${uidPart === '' ? 'unnamed' : uidPart}`;
}

/** A username that spells exactly its own path component: lower-case letters and digits, single dashes between. */
const PLAIN_OWNER = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** What `ownerPathOf` appends to a spelling it changed: a name ending like it is hashed too, so none can pose as another's. */
const HASHED_TAIL = /-[0-9a-f]{8}$/;
const MAX_OWNER_PATH = 48;
/**
 * Spellings an owner cannot have as they are: `<prefix>/charts/<chart>` holds the charts of versions stored before
 * owners had paths of their own, and a user named `charts` would have put images into those chart repositories
 * (helm pull without --version then broke on an image tag there; found by a review with helm 3.16).
 */
const RESERVED_OWNER_PATHS: ReadonlySet<string> = new Set(['charts']);

/**
 * The owner's path component in Orbit's registries (`<registry>/<owner>/<chart>`): the username when it is one
 * already, else its letters and digits lower-cased, dashes between, and the first 8 hex of its SHA-256, so
 * `Ada`, `ada` and `ada@example.com` stay three owners. One owner's repositories are theirs alone: a tag in
 * them is never another owner's image.
 */
export function ownerPathOf(username: string): string {
  if (PLAIN_OWNER.test(username) && username.length <= MAX_OWNER_PATH && !HASHED_TAIL.test(username) && !RESERVED_OWNER_PATHS.has(username)) return username;
  const slug = username.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+/, '').slice(0, MAX_OWNER_PATH - 9).replace(/-+$/, '');
  const hash = createHash('sha256').update(username, 'utf8').digest('hex').slice(0, 8);
  return `${slug === '' ? 'user' : slug}-${hash}`;
}

/** `<owner>/<chart name>`: where an image lives under a registry prefix (ORBIT_IMAGE_REGISTRY, an environment's). */
export function repositoryPathOf(owner: string, imageName: string, imageUID: string): string {
  return `${ownerPathOf(owner)}/${chartNameOf(imageName, imageUID)}`;
}
