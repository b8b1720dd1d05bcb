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
/**
 * Hex characters of the username's SHA-256 in a changed spelling: 64 bits. With 8 (32 bits, versions recorded before
 * 2026-12-06), someone free to choose their identity provider's name could search about 2^32 spellings of another's
 * name (case, punctuation: they all slug alike) for one sharing that owner's path, and tag images in their repositories.
 */
const OWNER_HASH_HEX = 16;
/** The hash of the first spelling, which versions recorded without an owner path were pushed under (see legacyOwnerPathOf). */
const LEGACY_OWNER_HASH_HEX = 8;
/** What `ownerPathOf` appends to a spelling it changed, today or before: a name ending like it is hashed too, so none can pose as another's. */
const HASHED_TAIL = /-(?:[0-9a-f]{8}|[0-9a-f]{16})$/;
/** What the first spelling hashed: names ending in 16 hex were plain then, and their versions were pushed under them as they are. */
const LEGACY_HASHED_TAIL = /-[0-9a-f]{8}$/;
const MAX_OWNER_PATH = 48;
/**
 * Spellings an owner cannot have as they are: `<prefix>/charts/<chart>` holds the charts of versions stored before
 * owners had paths of their own, and a user named `charts` would have put images into those chart repositories
 * (helm pull without --version then broke on an image tag there; found by a review with helm 3.16).
 */
const RESERVED_OWNER_PATHS: ReadonlySet<string> = new Set(['charts']);

/**
 * The owner's path component in Orbit's registries (`<registry>/<owner>/<chart>`): the username when it is one
 * already, else its letters and digits lower-cased, dashes between, and the first 16 hex of its SHA-256, so
 * `Ada`, `ada` and `ada@example.com` stay three owners. One owner's repositories are theirs alone: a tag in
 * them is never another owner's image.
 */
export function ownerPathOf(username: string): string {
  return spelledOwnerPath(username, OWNER_HASH_HEX, HASHED_TAIL);
}

/**
 * The owner path versions recorded without one (stored before 2026-12-06) were pushed under: 8 hex of the hash. Only
 * those versions' own pushes (a transfer, a re-push) go there, so a name found to share it takes nothing over.
 */
export function legacyOwnerPathOf(username: string): string {
  return spelledOwnerPath(username, LEGACY_OWNER_HASH_HEX, LEGACY_HASHED_TAIL);
}

/**
 * The owner path a row (a version's metadata row, a chart row) says its version was pushed under: the one it records,
 * else, in a row written before owner paths were recorded, the first spelling of its owner's (legacyOwnerPathOf);
 * undefined for a row from before owners were recorded (pushed at the registry path's top).
 */
export function recordedOwnerPathOf(recorded: unknown, owner: string): string;
export function recordedOwnerPathOf(recorded: unknown, owner: string | undefined): string | undefined;
export function recordedOwnerPathOf(recorded: unknown, owner: string | undefined): string | undefined {
  if (typeof recorded === 'string' && recorded !== '') return recorded;
  return owner === undefined ? undefined : legacyOwnerPathOf(owner);
}

function spelledOwnerPath(username: string, hashHex: number, hashedTail: RegExp): string {
  if (PLAIN_OWNER.test(username) && username.length <= MAX_OWNER_PATH && !hashedTail.test(username) && !RESERVED_OWNER_PATHS.has(username)) return username;
  const slug = username.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+/, '').slice(0, MAX_OWNER_PATH - hashHex - 1).replace(/-+$/, '');
  const hash = createHash('sha256').update(username, 'utf8').digest('hex').slice(0, hashHex);
  return `${slug === '' ? 'user' : slug}-${hash}`;
}

/**
 * The owner path in `repository` (`<registryPrefix>/<owner path>/<chart name>`, where an image was pushed), or
 * undefined when it is not laid out so (pushed before owners had paths, or under another prefix).
 */
export function ownerPathIn(repository: string, registryPrefix: string, chartName: string): string | undefined {
  const prefix = `${registryPrefix.replace(/\/+$/, '')}/`;
  if (!repository.startsWith(prefix) || !repository.endsWith(`/${chartName}`)) return undefined;
  const owner = repository.slice(prefix.length, repository.length - chartName.length - 1);
  return owner !== '' && !owner.includes('/') ? owner : undefined;
}

/** `<owner>/<chart name>`: where an image lives under a registry prefix (ORBIT_IMAGE_REGISTRY, an environment's). */
export function repositoryPathOf(owner: string, imageName: string, imageUID: string): string {
  return `${ownerPathOf(owner)}/${chartNameOf(imageName, imageUID)}`;
}
