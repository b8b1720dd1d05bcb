/*
 * The digests of a whole request body that a client may send beside it: RFC 9530's Content-Digest and Repr-Digest,
 * and RFC 3230's Digest, read into what the upload checks the bytes it receives against (upload-checksum.ts).
 */

import type { IncomingHttpHeaders } from 'node:http';
import { parseDictionary, type Dictionary } from 'structured-headers';
import { badRequest, type RequestRefusedError } from './errors.js';

/** The headers that may carry the whole body's digest, by the name Node gives them, and as a person writes them. */
const BODY_DIGEST_HEADERS = { 'content-digest': 'Content-Digest', 'repr-digest': 'Repr-Digest', digest: 'Digest', 'content-md5': 'Content-MD5' } as const;

type BodyDigestHeader = keyof typeof BODY_DIGEST_HEADERS;

/**
 * The digests of the whole body Orbit checks: RFC 9530's active algorithms (its deprecated ones, md5 and sha among
 * them, are refused as unchecked), by the name the RFCs give them and Node's hash of it.
 */
const CHECKED_ALGORITHMS = { 'sha-256': 'sha256', 'sha-512': 'sha512' } as const;

/** A hash of the whole body as Node names it (createHash): md5 for Content-MD5 alone. */
export type BodyHash = (typeof CHECKED_ALGORITHMS)[keyof typeof CHECKED_ALGORITHMS] | 'md5';

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
const DIGEST_BYTES: Readonly<Record<BodyHash, number>> = { sha256: 32, sha512: 64, md5: 16 };
const BASE64_OF: Readonly<Record<BodyHash, RegExp>> = { sha256: /^[A-Za-z0-9+/]{43}=$/, sha512: /^[A-Za-z0-9+/]{86}==$/, md5: /^[A-Za-z0-9+/]{22}==$/ };

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
    ...contentMd5Of(headers['content-md5']),
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

/** How a family of digest headers names the algorithms Orbit checks, and writes a digest of them. */
interface DigestSpelling {
  readonly checked: string;
  readonly form: string;
}

const RFC_9530_SPELLING: DigestSpelling = { checked: 'sha-256 and sha-512', form: STRUCTURED_DIGEST_FORM };
// RFC 3230's names are upper case, and SHA-512 is taken as well (the message offered SHA-256 alone: a quality reread).
const RFC_3230_SPELLING: DigestSpelling = { checked: 'SHA-256 and SHA-512', form: 'SHA-256=<base64> or SHA-512=<base64>' };

/** The refusal of a digest header that names no algorithm Orbit checks, in the spelling of that header's RFC. */
const noneChecked = (name: string, field: string, named: readonly string[], spelling: DigestSpelling): RequestRefusedError =>
  badRequest(`${name} names ${named.join(', ')}, none of which Orbit checks (${spelling.checked}): the body would go unchecked; send ${spelling.form}, or leave the header out`, field);

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
  if (keys.length > 0) throw noneChecked(name, `header.${header}`, keys, RFC_9530_SPELLING);
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
  if (algorithms.length > 0) throw noneChecked('Digest', 'header.digest', algorithms, RFC_3230_SPELLING);
  return [];
}

/**
 * RFC 1864's Content-MD5: the base64 of the whole body's 16-byte MD5, as S3 takes it (a wrong one is its BadDigest).
 * It was left unread, and a client that pinned its body by it had it taken unchecked (found by a review).
 */
function contentMd5Of(value: string | string[] | undefined): DeclaredBodyDigest[] {
  if (value === undefined) return [];
  const written = (Array.isArray(value) ? value.join(', ') : value).trim();
  if (!BASE64_OF.md5.test(written)) {
    throw badRequest(`Content-MD5 must be the base64 of the whole body's 16-byte MD5 (RFC 1864: 22 characters and ==, one header); got ${JSON.stringify(written.slice(0, 80))}`, 'header.content-md5');
  }
  return [{ header: 'content-md5', name: BODY_DIGEST_HEADERS['content-md5'], algorithm: 'md5', hex: Buffer.from(written, 'base64').toString('hex') }];
}
