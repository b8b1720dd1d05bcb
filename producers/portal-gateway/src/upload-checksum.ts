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

/** The headers that may carry the whole body's SHA-256, by the name Node gives them, and as a person writes them. */
const BODY_DIGEST_HEADERS = { 'content-digest': 'Content-Digest', digest: 'Digest' } as const;

/** A SHA-256 of the whole request body that the client sent, and the header that carried it. */
export interface DeclaredBodyDigest {
  readonly header: keyof typeof BODY_DIGEST_HEADERS;
  /** The header as a person writes it, for messages. */
  readonly name: (typeof BODY_DIGEST_HEADERS)[keyof typeof BODY_DIGEST_HEADERS];
  /** Hex, lower case. */
  readonly sha256: string;
}

/** A SHA-256 in base64 (RFC 4648 §4, padded): 32 bytes are 44 characters ending in one `=`. */
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * The body's SHA-256 from RFC 9530's Content-Digest (`sha-256=:<base64>:`, a structured-field dictionary) or RFC
 * 3230's Digest (`SHA-256=<base64>`), which curl, Java's and Python's HTTP libraries can send. Both are of the whole
 * content, a form's boundaries and metadata part included, not of the archive alone (that is X-Checksum-Sha256).
 * Members of other algorithms are left unread (RFC 9530 §2: an unsupported one is ignored); a sha-256 member that is
 * not 32 bytes, or a header that does not parse, is a 400 naming the header.
 */
export function declaredBodyDigest(headers: IncomingHttpHeaders): DeclaredBodyDigest | null {
  const found = [contentDigestOf(headers['content-digest']), legacyDigestOf(headers.digest)].filter((pin) => pin !== null);
  const [first, second] = found;
  if (first !== undefined && second !== undefined && first.sha256 !== second.sha256) {
    throw badRequest('Content-Digest and Digest give the body different SHA-256s: send one', `header.${first.header}`);
  }
  return first ?? null;
}

const CONTENT_DIGEST_FORM = 'sha-256=:<base64 of the 32 bytes>:';

/** An algorithm name a client wrote for SHA-256 that the RFCs spell otherwise (sha256, SHA256, id-sha-256 of RFC 9530's Repr-Digest family). */
function namesSha256Otherwise(algorithm: string): boolean {
  const bare = algorithm.trim().toLowerCase();
  return bare !== 'sha-256' && bare.replace(/^id-/, '').replaceAll('-', '') === 'sha256';
}

/**
 * Content-Digest's sha-256, read by an RFC 8941/9651 parser: a quoted parameter may hold a comma, and keys are
 * lower-case tokens, so `SHA-256=:…:` is no dictionary at all. It is refused 400, not ignored as an unknown
 * algorithm: a client that meant to pin the body would otherwise have it taken unchecked. A key written twice is
 * the last one's (RFC 8941 §4.2.2), as any structured-field parser reads it.
 */
function contentDigestOf(value: string | string[] | undefined): DeclaredBodyDigest | null {
  if (value === undefined) return null;
  const written = Array.isArray(value) ? value.join(', ') : value;
  const refused = (why: string): RequestRefusedError =>
    badRequest(`Content-Digest ${why}: its sha-256 is written ${CONTENT_DIGEST_FORM} (RFC 9530; keys lower case); got ${JSON.stringify(written.slice(0, 80))}`, 'header.content-digest');
  let dictionary: Dictionary;
  try {
    dictionary = parseDictionary(written);
  } catch (error) {
    throw refused(`is not a structured-field dictionary (${error instanceof Error ? error.message : String(error)})`);
  }
  const member = dictionary.get('sha-256');
  if (member === undefined) {
    // sha256 or id-sha-256 for sha-256: the client meant to pin the body, and unread it would go unchecked (a probe).
    const meant = [...dictionary.keys()].find(namesSha256Otherwise);
    if (meant !== undefined) throw refused(`names ${meant}, which is not how RFC 9530 names SHA-256 (sha-256) nor a digest of the body Orbit checks`);
    return null;
  }
  const [bytes] = member;
  if (!(bytes instanceof ArrayBuffer) || bytes.byteLength !== 32) throw refused('has a sha-256 that is not a byte sequence of 32 bytes');
  return { header: 'content-digest', name: BODY_DIGEST_HEADERS['content-digest'], sha256: Buffer.from(bytes).toString('hex') };
}

/**
 * RFC 3230's Digest: comma-separated `algorithm=value` pairs, the algorithm's name of any case, the value bare
 * base64. No structured field, so not read by the parser above.
 */
function legacyDigestOf(value: string | string[] | undefined): DeclaredBodyDigest | null {
  if (value === undefined) return null;
  const members = (Array.isArray(value) ? value.join(',') : value).split(',').map((member) => member.trim());
  const sha256Members = members.filter((member) => /^sha-256=/i.test(member));
  const [member] = sha256Members;
  if (member === undefined) {
    const meant = members.map((written) => written.split('=', 1)[0] ?? '').find(namesSha256Otherwise);
    if (meant !== undefined) throw badRequest(`Digest names ${meant}, which is not how RFC 3230 names SHA-256 (SHA-256=<base64>): the body would go unchecked`, 'header.digest');
    return null;
  }
  const written = member.slice('sha-256='.length);
  if (sha256Members.length > 1 || !BASE64_SHA256.test(written)) {
    throw badRequest(`Digest's sha-256 must be written once, as SHA-256=<base64 of the 32 bytes>; got ${JSON.stringify(member.slice(0, 80))}`, 'header.digest');
  }
  return { header: 'digest', name: BODY_DIGEST_HEADERS.digest, sha256: Buffer.from(written, 'base64').toString('hex') };
}

/** What a streamed upload pinned its bytes by: the archive's SHA-256 (X-Checksum-Sha256), the whole body's (Content-Digest, Digest). */
export interface Pins {
  readonly archive: string | null;
  readonly body: DeclaredBodyDigest | null;
}

/** The pins of a call, read before its body so that a malformed one costs no upload. */
export const pinsOf = (headers: IncomingHttpHeaders): Pins => ({ archive: declaredSha256(headers), body: declaredBodyDigest(headers) });

/** A pin the bytes received do not hold to: the refusal's message and the field it names. */
export interface BrokenPin {
  readonly message: string;
  readonly problem: FieldProblem;
}

/**
 * What differs from its pin, if anything; nothing when every pin holds. `archiveSha256` is the archive part's
 * SHA-256 (null: no archive came), `bodySha256` the whole body's (undefined: not hashed, as no body pin asked for it).
 */
export function brokenPin(pins: Pins, archiveSha256: string | null, bodySha256: string | undefined): BrokenPin | undefined {
  if (pins.archive !== null && archiveSha256 !== pins.archive) {
    return {
      message: `the archive received hashes to sha256 ${String(archiveSha256)}, but ${CHECKSUM_HEADER} gave ${pins.archive}`,
      problem: { field: CHECKSUM_HEADER_FIELD, message: `differs from the sha256 of the archive received (${String(archiveSha256)})` },
    };
  }
  if (pins.body !== null && bodySha256 !== pins.body.sha256) {
    return {
      message: `the body received hashes to sha256 ${String(bodySha256)}, but ${pins.body.name} gave ${pins.body.sha256} (as hex)`,
      problem: { field: `header.${pins.body.header}`, message: `differs from the sha256 of the body received (${String(bodySha256)})` },
    };
  }
  return undefined;
}

/** X-Checksum-Sha256 on an upload that sends no archive: refused rather than dropped, so the client does not take it to be checked. */
export const checksumWithoutArchive = (): RequestRefusedError =>
  badRequest(`${CHECKSUM_HEADER} pins an archive's bytes, and a registry reference sends none: send it with a multipart upload of the archive, or leave it out`, CHECKSUM_HEADER_FIELD);
