import type { IncomingHttpHeaders } from 'node:http';
import { declaredBodyDigests, type BodyHash, type DeclaredBodyDigest } from './body-digest-headers.js';
import { badRequest, type RequestRefusedError } from './errors.js';
import type { FieldProblem } from './metadata.js';

// The pins' hashes are named where they are read; the upload route names them through the pins.
export type { BodyHash } from './body-digest-headers.js';

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
  // The staged archive would be read whole again to hash it otherwise; refused, not dropped unread as it was.
  const other = declaredArchiveDigests(headers)[0];
  if (other !== undefined) {
    throw badRequest(`${other.name} does not pin a completion: only ${CHECKSUM_HEADER} or the body's sha256 do (the archive PUT is hashed as SHA-256 alone); send one of those, or leave ${other.name} out`, `header.${other.header}`);
  }
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

/** A hash of the archive part other than its SHA-256, as Node names it (createHash). */
export type ArchiveHash = 'sha1' | 'md5';

/** An archive digest an Artifactory-style client sent (X-Checksum-Sha1, X-Checksum-Md5, X-Checksum), and its header. */
export interface DeclaredArchiveDigest {
  /** The header as Node names it. */
  readonly header: string;
  /** The header as a person writes it, for messages. */
  readonly name: string;
  readonly algorithm: ArchiveHash;
  /** Hex, lower case. */
  readonly hex: string;
}

/** Hex digits of each archive hash. */
const HEX_LENGTH: Readonly<Record<ArchiveHash, number>> = { sha1: 40, md5: 32 };

/**
 * Artifactory's other checksum headers, each of the deployed file (here the archive part, as X-Checksum-Sha256 is):
 * JFrog's CLI sends Sha1 and Md5 beside Sha256. X-Checksum, Artifactory's older name, is read by its length, as an
 * MD5 (32 hex digits) or a SHA-1 (40).
 */
const ARCHIVE_CHECKSUM_HEADERS: readonly { readonly header: string; readonly name: string; readonly algorithms: readonly ArchiveHash[] }[] = [
  { header: 'x-checksum-sha1', name: 'X-Checksum-Sha1', algorithms: ['sha1'] },
  { header: 'x-checksum-md5', name: 'X-Checksum-Md5', algorithms: ['md5'] },
  { header: 'x-checksum', name: 'X-Checksum', algorithms: ['md5', 'sha1'] },
];

/**
 * The archive's SHA-1 and MD5 a streamed upload pinned by Artifactory's headers: they were left unread, and a wrong
 * one was accepted (found by a review). A value that is no such digest is a 400 naming its header, and two headers
 * giving one hash different values a 400 too.
 */
export function declaredArchiveDigests(headers: IncomingHttpHeaders): readonly DeclaredArchiveDigest[] {
  const kept: DeclaredArchiveDigest[] = [];
  for (const { header, name, algorithms } of ARCHIVE_CHECKSUM_HEADERS) {
    const value = headers[header];
    if (value === undefined) continue;
    const written = (Array.isArray(value) ? value.join(', ') : value).trim();
    const algorithm = algorithms.find((candidate) => new RegExp(`^[0-9a-fA-F]{${HEX_LENGTH[candidate]}}$`).test(written));
    if (algorithm === undefined) {
      const forms = algorithms.map((candidate) => `${HEX_LENGTH[candidate]} hex digits (${candidate === 'md5' ? 'MD5' : 'SHA-1'})`).join(' or ');
      throw badRequest(`${name} must be the archive's ${algorithms.map((candidate) => (candidate === 'md5' ? 'MD5' : 'SHA-1')).join(' or ')}, as ${forms} (one header); got ${JSON.stringify(written.slice(0, 80))}`, `header.${header}`);
    }
    const digest = { header, name, algorithm, hex: written.toLowerCase() };
    const earlier = kept.find((held) => held.algorithm === algorithm);
    if (earlier === undefined) kept.push(digest);
    else if (earlier.hex !== digest.hex) throw badRequest(`${earlier.name} and ${name} give the archive different ${algorithm} digests: send one`, `header.${earlier.header}`);
  }
  return kept;
}

/**
 * What a streamed upload pinned its bytes by: the archive's SHA-256 (X-Checksum-Sha256) and SHA-1 or MD5
 * (X-Checksum-Sha1, X-Checksum-Md5, X-Checksum), the whole body's (Content-Digest, Repr-Digest, Digest, Content-MD5).
 */
export interface Pins {
  readonly archive: string | null;
  readonly body: readonly DeclaredBodyDigest[];
  /** None when absent. */
  readonly archiveDigests?: readonly DeclaredArchiveDigest[];
}

/** The pins of a call, read before its body so that a malformed one costs no upload. */
export const pinsOf = (headers: IncomingHttpHeaders): Pins => ({ archive: declaredSha256(headers), body: declaredBodyDigests(headers), archiveDigests: declaredArchiveDigests(headers) });

/** The header of an archive pin a call sent, if any: a registry reference sends no archive for one to pin. */
export function archivePinHeader(headers: IncomingHttpHeaders): string | undefined {
  if (declaredSha256(headers) !== null) return CHECKSUM_HEADER;
  return declaredArchiveDigests(headers)[0]?.name;
}

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
export function brokenPin(
  pins: Pins, archiveSha256: string | null, bodyDigests: Readonly<Partial<Record<BodyHash, string>>>, archiveDigests: Readonly<Partial<Record<ArchiveHash, string>>> = {},
): BrokenPin | undefined {
  if (pins.archive !== null && archiveSha256 !== pins.archive) {
    return {
      message: `the archive received hashes to sha256 ${String(archiveSha256)}, but ${CHECKSUM_HEADER} gave ${pins.archive}`,
      problem: { field: CHECKSUM_HEADER_FIELD, message: `differs from the sha256 of the archive received (${String(archiveSha256)})` },
    };
  }
  for (const pin of pins.archiveDigests ?? []) {
    const received = archiveDigests[pin.algorithm];
    if (received === pin.hex) continue;
    return {
      message: `the archive received hashes to ${pin.algorithm} ${String(received)}, but ${pin.name} gave ${pin.hex}`,
      problem: { field: `header.${pin.header}`, message: `differs from the ${pin.algorithm} of the archive received (${String(received)})` },
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

/** The hashes of the archive part besides its SHA-256 that its pins ask for, one each: none costs nothing. */
export const archiveHashesOf = (pins: Pins): readonly ArchiveHash[] => [...new Set((pins.archiveDigests ?? []).map((pin) => pin.algorithm))];

/** An archive pin (X-Checksum-Sha256 or another) on an upload that sends no archive: refused rather than dropped, so the client does not take it to be checked. */
export const checksumWithoutArchive = (header: string = CHECKSUM_HEADER): RequestRefusedError =>
  badRequest(`${header} pins an archive's bytes, and a registry reference sends none: send it with a multipart upload of the archive, or leave it out`, `header.${header.toLowerCase()}`);
