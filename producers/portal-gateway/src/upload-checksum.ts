import type { IncomingHttpHeaders } from 'node:http';
import { parseDictionary, type Dictionary } from 'structured-headers';
import { badRequest, type RequestRefusedError } from './errors.js';
import type { FieldProblem } from './metadata.js';

/**
 * The header a streamed upload pins its archive's SHA-256 by: Artifactory's name for it (its deploy takes the same),
 * 64 hex digits of the archive part's bytes, not of the whole form.
 */
export const CHECKSUM_HEADER = 'X-Checksum-Sha256';

/** The field a refusal of that header names, as other headers' (`header.content-type`). */
export const CHECKSUM_HEADER_FIELD = `header.${CHECKSUM_HEADER.toLowerCase()}`;

/**
 * A SHA-256 as a client may pin one: 64 hex digits of either case (Artifactory and sha256sum write lower, some tools
 * upper), or the `sha256:` digest form ECR's layerDigests and OCI clients send. Written without flags, so OpenAPI
 * publishes it as it is (a completion's sha256, X-Checksum-Sha256).
 */
export const SHA256_PATTERN = '^([sS][hH][aA]256:)?[0-9a-fA-F]{64}$';

const sha256Form = new RegExp(SHA256_PATTERN);

/** A pinned SHA-256 (SHA256_PATTERN) as Orbit keeps it: the 64 hex digits, lower case. Undefined when it is none. */
export function normalisedSha256(written: string): string | undefined {
  return sha256Form.test(written) ? written.slice(-64).toLowerCase() : undefined;
}

const SHA256_FORMS = '64 hex digits (either case), or sha256:<64 hex digits>';

/** A completion's `sha256` field: absent or null pins nothing; anything but a SHA-256 is a 400 naming the field. */
export function completionSha256(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const sha256 = typeof value === 'string' ? normalisedSha256(value) : undefined;
  if (sha256 === undefined) throw badRequest(`sha256 must be the SHA-256 of the archive PUT, as ${SHA256_FORMS}; got ${JSON.stringify(value)?.slice(0, 80)}`, 'sha256');
  return sha256;
}

/**
 * What a completion pins the staged archive by: its body's `sha256`, or X-Checksum-Sha256 (an Artifactory-style client
 * pins by header; it was dropped unread, found by a bug reread). Both, differing: a 400 naming the header.
 */
export function completionPin(bodyValue: unknown, headers: IncomingHttpHeaders): string | null {
  const fromBody = completionSha256(bodyValue);
  const fromHeader = declaredSha256(headers);
  if (fromBody !== null && fromHeader !== null && fromBody !== fromHeader) {
    throw badRequest(`${CHECKSUM_HEADER} (${fromHeader}) and the body's sha256 (${fromBody}) pin different archives: send one, or both the same`, CHECKSUM_HEADER_FIELD);
  }
  return fromBody ?? fromHeader;
}

/**
 * The archive's SHA-256 a streamed upload pinned by X-Checksum-Sha256, if it sent one; a value that is no SHA-256
 * (two headers, which Node joins with a comma, among them) is a 400 naming the header.
 */
export function declaredSha256(headers: IncomingHttpHeaders): string | null {
  const value = headers[CHECKSUM_HEADER.toLowerCase()];
  if (value === undefined) return null;
  const written = Array.isArray(value) ? value.join(', ') : value;
  const sha256 = normalisedSha256(written.trim());
  if (sha256 === undefined) throw badRequest(`${CHECKSUM_HEADER} must be the archive's SHA-256, as ${SHA256_FORMS} (one header); got ${JSON.stringify(written.slice(0, 80))}`, CHECKSUM_HEADER_FIELD);
  return sha256;
}

/** The headers that may carry the whole body's digest, by the name Node gives them, and as a person writes them. */
const BODY_DIGEST_HEADERS = { 'content-digest': 'Content-Digest', 'repr-digest': 'Repr-Digest', digest: 'Digest' } as const;

type BodyDigestHeader = keyof typeof BODY_DIGEST_HEADERS;

/**
 * The digests of the whole body Orbit checks: RFC 9530's active algorithms (its deprecated ones, md5 and sha among
 * them, are refused as unchecked), by the name the RFCs give them and Node's hash of it.
 */
const CHECKED_ALGORITHMS = { 'sha-256': 'sha256', 'sha-512': 'sha512' } as const;

/** A hash of the whole body as Node names it (createHash). */
export type BodyHash = (typeof CHECKED_ALGORITHMS)[keyof typeof CHECKED_ALGORITHMS];

/** A digest of the whole request body that the client sent, and the header that carried it. */
export interface DeclaredBodyDigest {
  readonly header: BodyDigestHeader;
  /** The header as a person writes it, for messages. */
  readonly name: (typeof BODY_DIGEST_HEADERS)[BodyDigestHeader];
  readonly algorithm: BodyHash;
  /** Hex, lower case. */
  readonly hex: string;
}

/** Bytes of each checked digest, and its base64 (RFC 4648 §4, padded): 32 bytes are 44 characters, 64 are 88. */
const DIGEST_BYTES: Readonly<Record<BodyHash, number>> = { sha256: 32, sha512: 64 };
const BASE64_OF: Readonly<Record<BodyHash, RegExp>> = { sha256: /^[A-Za-z0-9+/]{43}=$/, sha512: /^[A-Za-z0-9+/]{86}==$/ };

/**
 * The body's digests from RFC 9530's Content-Digest or Repr-Digest (`sha-256=:<base64>:`, a structured-field
 * dictionary; the gateway takes no Content-Encoding, so the representation is the content) and RFC 3230's Digest
 * (`SHA-256=<base64>`), which curl, Java's and Python's HTTP libraries can send: SHA-256 and SHA-512, one of each at
 * most. All are of the whole content, a form's boundaries and metadata part included, not of the archive alone (that
 * is X-Checksum-Sha256). Members of other algorithms are left unread beside a checked one (RFC 9530 §2); a header
 * naming none Orbit checks is a 400 (the client meant to pin the body, and unread it would go unchecked: a review),
 * as is a member that is not its algorithm's length, a header that does not parse, or two differing values.
 */
export function declaredBodyDigests(headers: IncomingHttpHeaders): readonly DeclaredBodyDigest[] {
  const found = [
    ...structuredDigestsOf('content-digest', headers['content-digest']),
    ...structuredDigestsOf('repr-digest', headers['repr-digest']),
    ...legacyDigestsOf(headers.digest),
  ];
  const kept: DeclaredBodyDigest[] = [];
  for (const digest of found) {
    const earlier = kept.find((held) => held.algorithm === digest.algorithm);
    if (earlier === undefined) kept.push(digest);
    else if (earlier.hex !== digest.hex) {
      throw badRequest(`${earlier.name} and ${digest.name} give the body different ${digest.algorithm} digests: send one`, `header.${earlier.header}`);
    }
  }
  return kept;
}

const STRUCTURED_DIGEST_FORM = 'sha-256=:<base64 of the 32 bytes>: or sha-512=:<base64 of the 64 bytes>:';

/** An algorithm name a client wrote for SHA-256 or SHA-512 that the RFCs spell otherwise (sha256, SHA512, id-sha-256). */
function namesCheckedOtherwise(algorithm: string): boolean {
  const bare = algorithm.trim().toLowerCase();
  return !(bare in CHECKED_ALGORITHMS) && ['sha256', 'sha512'].includes(bare.replace(/^id-/, '').replaceAll('-', ''));
}

/** The refusal of a digest header that names no algorithm Orbit checks. */
const noneChecked = (name: string, field: string, named: readonly string[], form: string): RequestRefusedError =>
  badRequest(`${name} names ${named.join(', ')}, none of which Orbit checks (sha-256 and sha-512): the body would go unchecked; send ${form}, or leave the header out`, field);

/**
 * Content-Digest's or Repr-Digest's checked members, read by an RFC 8941/9651 parser: a quoted parameter may hold a
 * comma, and keys are lower-case tokens, so `SHA-256=:…:` is no dictionary at all. It is refused 400, not ignored as
 * an unknown algorithm: a client that meant to pin the body would otherwise have it taken unchecked. A key written
 * twice is the last one's (RFC 8941 §4.2.2), as any structured-field parser reads it.
 */
function structuredDigestsOf(header: 'content-digest' | 'repr-digest', value: string | string[] | undefined): DeclaredBodyDigest[] {
  if (value === undefined) return [];
  const name = BODY_DIGEST_HEADERS[header];
  const written = Array.isArray(value) ? value.join(', ') : value;
  const refused = (why: string): RequestRefusedError =>
    badRequest(`${name} ${why}: its digest is written ${STRUCTURED_DIGEST_FORM} (RFC 9530; keys lower case); got ${JSON.stringify(written.slice(0, 80))}`, `header.${header}`);
  let dictionary: Dictionary;
  try {
    dictionary = parseDictionary(written);
  } catch (error) {
    throw refused(`is not a structured-field dictionary (${error instanceof Error ? error.message : String(error)})`);
  }
  const digests: DeclaredBodyDigest[] = [];
  for (const [key, algorithm] of Object.entries(CHECKED_ALGORITHMS)) {
    const member = dictionary.get(key);
    if (member === undefined) continue;
    const [bytes] = member;
    if (!(bytes instanceof ArrayBuffer) || bytes.byteLength !== DIGEST_BYTES[algorithm]) throw refused(`has a ${key} that is not a byte sequence of ${DIGEST_BYTES[algorithm]} bytes`);
    digests.push({ header, name, algorithm, hex: Buffer.from(bytes).toString('hex') });
  }
  if (digests.length > 0) return digests;
  const keys = [...dictionary.keys()];
  // sha256 or id-sha-256 for sha-256: the client meant to pin the body, and unread it would go unchecked (a probe).
  const meant = keys.find(namesCheckedOtherwise);
  if (meant !== undefined) throw refused(`names ${meant}, which is not how RFC 9530 names ${meant.includes('512') ? 'SHA-512 (sha-512)' : 'SHA-256 (sha-256)'}`);
  if (keys.length > 0) throw noneChecked(name, `header.${header}`, keys, STRUCTURED_DIGEST_FORM);
  return [];
}

/**
 * RFC 3230's Digest: comma-separated `algorithm=value` pairs, the algorithm's name of any case, the value bare
 * base64. No structured field, so not read by the parser above.
 */
function legacyDigestsOf(value: string | string[] | undefined): DeclaredBodyDigest[] {
  if (value === undefined) return [];
  const members = (Array.isArray(value) ? value.join(',') : value).split(',').map((member) => member.trim()).filter(Boolean);
  const digests: DeclaredBodyDigest[] = [];
  for (const [key, algorithm] of Object.entries(CHECKED_ALGORITHMS)) {
    const named = members.filter((member) => member.toLowerCase().startsWith(`${key}=`));
    const [member] = named;
    if (member === undefined) continue;
    const written = member.slice(key.length + 1);
    if (named.length > 1 || !BASE64_OF[algorithm].test(written)) {
      throw badRequest(`Digest's ${key} must be written once, as ${key.toUpperCase()}=<base64 of the ${DIGEST_BYTES[algorithm]} bytes>; got ${JSON.stringify(member.slice(0, 80))}`, 'header.digest');
    }
    digests.push({ header: 'digest', name: BODY_DIGEST_HEADERS.digest, algorithm, hex: Buffer.from(written, 'base64').toString('hex') });
  }
  if (digests.length > 0) return digests;
  const algorithms = members.map((written) => written.split('=', 1)[0] ?? '');
  const meant = algorithms.find(namesCheckedOtherwise);
  if (meant !== undefined) throw badRequest(`Digest names ${meant}, which is not how RFC 3230 names SHA-256 or SHA-512 (SHA-256=<base64>, SHA-512=<base64>): the body would go unchecked`, 'header.digest');
  if (algorithms.length > 0) throw noneChecked('Digest', 'header.digest', algorithms, 'SHA-256=<base64>');
  return [];
}

/** What a streamed upload pinned its bytes by: the archive's SHA-256 (X-Checksum-Sha256), the whole body's (Content-Digest, Repr-Digest, Digest). */
export interface Pins {
  readonly archive: string | null;
  readonly body: readonly DeclaredBodyDigest[];
}

/** The pins of a call, read before its body so that a malformed one costs no upload. */
export const pinsOf = (headers: IncomingHttpHeaders): Pins => ({ archive: declaredSha256(headers), body: declaredBodyDigests(headers) });

/** A pin the bytes received do not hold to: the refusal's message and the field it names. */
export interface BrokenPin {
  readonly message: string;
  readonly problem: FieldProblem;
}

/**
 * What differs from its pin, if anything; nothing when every pin holds. `archiveSha256` is the archive part's
 * SHA-256 (null: no archive came), `bodyDigests` the whole body's hex digests by hash (hashed only for the pins that
 * asked for them).
 */
export function brokenPin(pins: Pins, archiveSha256: string | null, bodyDigests: Readonly<Partial<Record<BodyHash, string>>>): BrokenPin | undefined {
  if (pins.archive !== null && archiveSha256 !== pins.archive) {
    return {
      message: `the archive received hashes to sha256 ${String(archiveSha256)}, but ${CHECKSUM_HEADER} gave ${pins.archive}`,
      problem: { field: CHECKSUM_HEADER_FIELD, message: `differs from the sha256 of the archive received (${String(archiveSha256)})` },
    };
  }
  for (const pin of pins.body) {
    const received = bodyDigests[pin.algorithm];
    if (received === pin.hex) continue;
    return {
      message: `the body received hashes to ${pin.algorithm} ${String(received)}, but ${pin.name} gave ${pin.hex} (as hex)`,
      problem: { field: `header.${pin.header}`, message: `differs from the ${pin.algorithm} of the body received (${String(received)})` },
    };
  }
  return undefined;
}

/** The hashes of the whole body that its pins ask for, one each. */
export const bodyHashesOf = (pins: Pins): readonly BodyHash[] => [...new Set(pins.body.map((pin) => pin.algorithm))];

/** X-Checksum-Sha256 on an upload that sends no archive: refused rather than dropped, so the client does not take it to be checked. */
export const checksumWithoutArchive = (): RequestRefusedError =>
  badRequest(`${CHECKSUM_HEADER} pins an archive's bytes, and a registry reference sends none: send it with a multipart upload of the archive, or leave it out`, CHECKSUM_HEADER_FIELD);
