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
/** The hash of the first spelling, which versions stored before owner paths were recorded were pushed under (see pushedOwnerPathOf). */
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
const NONE_RESERVED: ReadonlySet<string> = new Set();

/**
 * The owner's path component in Orbit's registries (`<registry>/<owner>/<chart>`): the username when it is one
 * already, else its letters and digits lower-cased, dashes between, and the first 16 hex of its SHA-256, so
 * `Ada`, `ada` and `ada@example.com` stay three owners. One owner's repositories are theirs alone: a tag in
 * them is never another owner's image.
 */
export function ownerPathOf(username: string): string {
  return spelledOwnerPath(username, OWNER_HASH_HEX, HASHED_TAIL, RESERVED_OWNER_PATHS);
}

/**
 * The owner path versions recorded without one were pushed under from 2026-12-05 20:54 UTC (564b6ff) until owner paths
 * were recorded (2026-12-06): 8 hex of the hash, `charts` hashed too. Only those versions' own pushes (a transfer, a
 * re-push) go there, so a name found to share it takes nothing over.
 */
export function legacyOwnerPathOf(username: string): string {
  return spelledOwnerPath(username, LEGACY_OWNER_HASH_HEX, LEGACY_HASHED_TAIL, RESERVED_OWNER_PATHS);
}

/** The first spelling as it was from 2026-12-04 18:07 UTC (0ff7fcf) to 564b6ff: legacyOwnerPathOf's, but `charts` stayed `charts`. */
function firstOwnerPathOf(username: string): string {
  return spelledOwnerPath(username, LEGACY_OWNER_HASH_HEX, LEGACY_HASHED_TAIL, NONE_RESERVED);
}

/**
 * When the harbor-writer began pushing under owner paths (0ff7fcf, 2026-12-04 18:07:24 UTC): a version stored before
 * was pushed at `<prefix>/<chart name>` although its metadata row names its owner (rows have since b2df259), and its
 * chart pins it there.
 */
const OWNER_PATHS_SINCE = Date.parse('2026-12-04T18:07:24.000Z');
/** When a user named `charts` began to be hashed (564b6ff, 2026-12-05 20:54:57 UTC): their versions before were pushed under `charts/`. */
const CHARTS_HASHED_SINCE = Date.parse('2026-12-05T20:54:57.000Z');

/**
 * The owner path a version was pushed under, which its charts pin and every later push of it (a transfer, a re-push)
 * keeps; null when it was pushed at the registry path's top (`<prefix>/<chart name>`). From its row (a metadata row, a
 * chart row): the `ownerPath` it records (null recorded for the top), else, in a row older than that attribute, what
 * the code of the row's time pushed under: nothing before owners were recorded or before 0ff7fcf, the 8-hex first
 * spelling after (with `charts` unhashed until 564b6ff). A row whose time cannot be read counts as the latest of those.
 */
export function pushedOwnerPathOf(row: OwnerPathRecord): string | null {
  const { ownerPath, owner, createdTimestampUTC } = row;
  if (isRecorded(row)) return typeof ownerPath === 'string' ? ownerPath : null;
  if (owner === undefined) return null;
  const created = typeof createdTimestampUTC === 'string' ? Date.parse(createdTimestampUTC) : Number.NaN;
  if (Number.isNaN(created)) return legacyOwnerPathOf(owner);
  if (created < OWNER_PATHS_SINCE) return null;
  return created < CHARTS_HASHED_SINCE ? firstOwnerPathOf(owner) : legacyOwnerPathOf(owner);
}

/** What a row says of where its version was pushed: the attributes pushedOwnerPathOf reads. */
export interface OwnerPathRecord {
  /** A path; null recorded for the top; absent in rows older than the attribute. */
  readonly ownerPath: unknown;
  /** The owner the row names (a metadata row's `username`, a chart row's `owner`). */
  readonly owner: string | undefined;
  readonly createdTimestampUTC: unknown;
}

const isRecorded = ({ ownerPath }: OwnerPathRecord): boolean => ownerPath === null || (typeof ownerPath === 'string' && ownerPath !== '');

/**
 * Every path a version of `owner` stored before owner paths were recorded may have been pushed under (the top, null,
 * and each earlier spelling): what a row without `ownerPath` can stand for, whatever its time says.
 */
export function earlierOwnerPathsOf(owner: string): ReadonlyArray<string | null> {
  return [...new Set([null, firstOwnerPathOf(owner), legacyOwnerPathOf(owner)])];
}

/**
 * Where else than pushedOwnerPathOf says a row's version may have been pushed: none when the row records it or names no
 * owner; else the other earlier paths, since the times it goes by are the commits' and an installation may have run the
 * older code past them.
 */
export function otherOwnerPathsOf(row: OwnerPathRecord): ReadonlyArray<string | null> {
  if (isRecorded(row) || row.owner === undefined) return [];
  const pushed = pushedOwnerPathOf(row);
  return earlierOwnerPathsOf(row.owner).filter((path) => path !== pushed);
}

function spelledOwnerPath(username: string, hashHex: number, hashedTail: RegExp, reserved: ReadonlySet<string>): string {
  if (PLAIN_OWNER.test(username) && username.length <= MAX_OWNER_PATH && !hashedTail.test(username) && !reserved.has(username)) return username;
  const slug = username.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+/, '').slice(0, MAX_OWNER_PATH - hashHex - 1).replace(/-+$/, '');
  const hash = createHash('sha256').update(username, 'utf8').digest('hex').slice(0, hashHex);
  return `${slug === '' ? 'user' : slug}-${hash}`;
}

/**
 * The owner path in `repository` (`<registryPrefix>/<owner path>/<chart name>`, where an image was pushed); null when
 * it was pushed at the prefix's top (`<registryPrefix>/<chart name>`, before owners had paths); undefined when it is not
 * laid out under that prefix at all (pushed under another).
 */
export function ownerPathIn(repository: string, registryPrefix: string, chartName: string): string | null | undefined {
  const prefix = `${registryPrefix.replace(/\/+$/, '')}/`;
  if (repository === `${prefix}${chartName}`) return null;
  if (!repository.startsWith(prefix) || !repository.endsWith(`/${chartName}`)) return undefined;
  const owner = repository.slice(prefix.length, repository.length - chartName.length - 1);
  return owner !== '' && !owner.includes('/') ? owner : undefined;
}

/**
 * `<owner path>/<chart name>`: where a version lives under a registry prefix (ORBIT_IMAGE_REGISTRY, an environment's).
 * A version pushed before owners had paths (owner path null) lives at the prefix's top, as `<chart name>` alone.
 */
export function repositoryPathUnder(ownerPath: string | null, chartName: string): string {
  return ownerPath === null ? chartName : `${ownerPath}/${chartName}`;
}
