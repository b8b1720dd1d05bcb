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
 * pins by header; it was dropped unread, found by a bug reread), or x-amz-checksum-sha256 (S3's CompleteMultipartUpload
 * takes the whole object's checksum so). Both, differing: a 400 naming the header.
 */
export function completionPin(bodyValue: unknown, headers: IncomingHttpHeaders): string | null {
  // The staged archive would be read whole again to hash it otherwise; refused, not dropped unread as it was.
  const other = declaredArchiveDigests(headers)[0];
  if (other !== undefined) {
    throw badRequest(`${other.name} does not pin a completion: only ${CHECKSUM_HEADER}, ${AMZ_CHECKSUM_SHA256} or the body's sha256 do (the archive PUT is hashed as SHA-256 alone); send one of those, or leave ${other.name} out`, `header.${other.header}`);
  }
  const fromBody = completionSha256(bodyValue);
  const fromHeader = archiveSha256Pin(headers);
  if (fromBody !== null && fromHeader !== undefined && fromBody !== fromHeader.hex) {
    throw badRequest(`${fromHeader.name} (${fromHeader.hex}) and the body's sha256 (${fromBody}) pin different archives: send one, or both the same`, fromHeader.field);
  }
  return fromBody ?? fromHeader?.hex ?? null;
}

/**
 * S3's name for an object's SHA-256: the base64 of its 32 bytes, which an S3-minded client sends with the object, the
 * archive here. It was left unread, and an upload with a wrong one succeeded (found by a review): it pins the archive
 * as X-Checksum-Sha256 does.
 */
export const AMZ_CHECKSUM_SHA256 = 'x-amz-checksum-sha256';

/** A pin of the archive's SHA-256 and the header that carried it. */
interface ArchiveSha256Pin {
  /** The header as a person writes it, for messages. */
  readonly name: string;
  /** The field a refusal names (`header.<name>`). */
  readonly field: string;
  /** Hex, lower case. */
  readonly hex: string;
}

/** The regex of the base64 of `bytes` bytes as S3 writes a checksum (RFC 4648 §4, padded). */
function paddedBase64(bytes: number): RegExp {
  const padding = (3 - (bytes % 3)) % 3;
  return new RegExp(`^[A-Za-z0-9+/]{${Math.ceil(bytes / 3) * 4 - padding}}${'='.repeat(padding)}$`);
}

/** X-Checksum-Sha256 as sent: a value that is no SHA-256 (two headers, which Node joins with a comma, among them) is a 400 naming it. */
function artifactorySha256(headers: IncomingHttpHeaders): ArchiveSha256Pin | undefined {
  const value = headers[CHECKSUM_HEADER.toLowerCase()];
  if (value === undefined) return undefined;
  const written = Array.isArray(value) ? value.join(', ') : value;
  const hex = normalisedSha256(written.trim());
  if (hex === undefined) throw badRequest(`${CHECKSUM_HEADER} must be the archive's SHA-256, as ${SHA256_FORMS} (one header); got ${JSON.stringify(written.slice(0, 80))}`, CHECKSUM_HEADER_FIELD);
  return { name: CHECKSUM_HEADER, field: CHECKSUM_HEADER_FIELD, hex };
}

/** x-amz-checksum-sha256 as sent: anything but the base64 of 32 bytes (S3's form; not hex) is a 400 naming it. */
function amzSha256(headers: IncomingHttpHeaders): ArchiveSha256Pin | undefined {
  const value = headers[AMZ_CHECKSUM_SHA256];
  if (value === undefined) return undefined;
  return { name: AMZ_CHECKSUM_SHA256, field: `header.${AMZ_CHECKSUM_SHA256}`, hex: base64DigestOf(AMZ_CHECKSUM_SHA256, value, 32, `SHA-256 (its hex is ${CHECKSUM_HEADER}'s form)`) };
}

/** The hex of an S3 checksum header's value, the base64 of a `bytes`-byte digest (`what`); anything else is a 400 naming the header. */
function base64DigestOf(header: string, value: string | string[], bytes: number, what: string): string {
  const written = (Array.isArray(value) ? value.join(', ') : value).trim();
  if (!paddedBase64(bytes).test(written)) {
    throw badRequest(`${header} must be the base64 of the archive's ${bytes}-byte ${what}, as S3 takes it (one header); got ${JSON.stringify(written.slice(0, 80))}`, `header.${header}`);
  }
  return Buffer.from(written, 'base64').toString('hex');
}

/** The archive's SHA-256 pin, by either header; the two differing are a 400 naming X-Checksum-Sha256. */
function archiveSha256Pin(headers: IncomingHttpHeaders): ArchiveSha256Pin | undefined {
  const artifactory = artifactorySha256(headers);
  const s3 = amzSha256(headers);
  if (artifactory !== undefined && s3 !== undefined && artifactory.hex !== s3.hex) {
    throw badRequest(`${CHECKSUM_HEADER} (${artifactory.hex}) and ${AMZ_CHECKSUM_SHA256} (${s3.hex}, as hex) give the archive different SHA-256s: send one`, CHECKSUM_HEADER_FIELD);
  }
  return artifactory ?? s3;
}

/**
 * The archive's SHA-256 a streamed upload pinned by X-Checksum-Sha256 or x-amz-checksum-sha256, if it sent one; a
 * value that is no SHA-256 in the header's form is a 400 naming the header.
 */
export function declaredSha256(headers: IncomingHttpHeaders): string | null {
  return archiveSha256Pin(headers)?.hex ?? null;
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
 * MD5 (32 hex digits) or a SHA-1 (40). S3's x-amz-checksum-sha1 is the base64 of the archive's SHA-1.
 */
const ARCHIVE_CHECKSUM_HEADERS: readonly { readonly header: string; readonly name: string; readonly algorithms: readonly ArchiveHash[]; readonly base64?: true }[] = [
  { header: 'x-checksum-sha1', name: 'X-Checksum-Sha1', algorithms: ['sha1'] },
  { header: 'x-checksum-md5', name: 'X-Checksum-Md5', algorithms: ['md5'] },
  { header: 'x-checksum', name: 'X-Checksum', algorithms: ['md5', 'sha1'] },
  { header: 'x-amz-checksum-sha1', name: 'x-amz-checksum-sha1', algorithms: ['sha1'], base64: true },
];

/** S3's checksum headers the gateway reads as pins: the archive's SHA-256 and SHA-1. */
const AMZ_CHECKED = [AMZ_CHECKSUM_SHA256, 'x-amz-checksum-sha1'];
/** S3's x-amz-checksum-* headers that carry no digest: which algorithm (or type of checksum) a client means to use, or a GET's mode. */
const AMZ_NOT_DIGESTS = ['x-amz-checksum-algorithm', 'x-amz-checksum-type', 'x-amz-checksum-mode'];

/**
 * S3's other checksums (x-amz-checksum-crc32, -crc32c, -crc64nvme, and any algorithm S3 adds) the gateway does not
 * compute: a 400 naming the header, as an unchecked Content-Digest algorithm is, rather than a pin gone unchecked.
 */
function refuseUncheckedAmzChecksums(headers: IncomingHttpHeaders): void {
  const unchecked = Object.keys(headers).find((header) => header.startsWith('x-amz-checksum-') && !AMZ_CHECKED.includes(header) && !AMZ_NOT_DIGESTS.includes(header));
  if (unchecked === undefined) return;
  throw badRequest(`${unchecked} is a checksum Orbit does not compute, so the archive would go unchecked: pin it by ${AMZ_CHECKSUM_SHA256} (the base64 of its SHA-256, as S3 takes it) or ${CHECKSUM_HEADER}, or leave ${unchecked} out`, `header.${unchecked}`);
}

/**
 * The archive's SHA-1 and MD5 a streamed upload pinned by Artifactory's headers or x-amz-checksum-sha1: they were left
 * unread, and a wrong one was accepted (found by a review). A value that is no such digest is a 400 naming its header,
 * and two headers giving one hash different values a 400 too, as is an x-amz-checksum-* the gateway does not check.
 */
export function declaredArchiveDigests(headers: IncomingHttpHeaders): readonly DeclaredArchiveDigest[] {
  refuseUncheckedAmzChecksums(headers);
  const kept: DeclaredArchiveDigest[] = [];
  for (const { header, name, algorithms, base64 } of ARCHIVE_CHECKSUM_HEADERS) {
    const value = headers[header];
    if (value === undefined) continue;
    const digest = base64 === true
      ? { header, name, algorithm: 'sha1' as const, hex: base64DigestOf(header, value, HEX_LENGTH.sha1 / 2, 'SHA-1 (its hex is X-Checksum-Sha1\'s form)') }
      : hexPin(header, name, algorithms, value);
    const earlier = kept.find((held) => held.algorithm === digest.algorithm);
    if (earlier === undefined) kept.push(digest);
    else if (earlier.hex !== digest.hex) throw badRequest(`${earlier.name} and ${name} give the archive different ${digest.algorithm} digests: send one`, `header.${earlier.header}`);
  }
  return kept;
}

/** An Artifactory header's digest: hex of one of its algorithms, told by its length. */
function hexPin(header: string, name: string, algorithms: readonly ArchiveHash[], value: string | string[]): DeclaredArchiveDigest {
  const written = (Array.isArray(value) ? value.join(', ') : value).trim();
  const algorithm = algorithms.find((candidate) => new RegExp(`^[0-9a-fA-F]{${HEX_LENGTH[candidate]}}$`).test(written));
  if (algorithm === undefined) {
    const forms = algorithms.map((candidate) => `${HEX_LENGTH[candidate]} hex digits (${candidate === 'md5' ? 'MD5' : 'SHA-1'})`).join(' or ');
    throw badRequest(`${name} must be the archive's ${algorithms.map((candidate) => (candidate === 'md5' ? 'MD5' : 'SHA-1')).join(' or ')}, as ${forms} (one header); got ${JSON.stringify(written.slice(0, 80))}`, `header.${header}`);
  }
  return { header, name, algorithm, hex: written.toLowerCase() };
}

/**
 * What a streamed upload pinned its bytes by: the archive's SHA-256 (X-Checksum-Sha256, x-amz-checksum-sha256) and
 * SHA-1 or MD5 (X-Checksum-Sha1, X-Checksum-Md5, X-Checksum, x-amz-checksum-sha1), the whole body's (Content-Digest,
 * Repr-Digest, Digest, Content-MD5).
 */
export interface Pins {
  readonly archive: string | null;
  /** The header that pinned `archive`, as a person writes it: X-Checksum-Sha256 when absent. */
  readonly archiveHeader?: string;
  readonly body: readonly DeclaredBodyDigest[];
  /** None when absent. */
  readonly archiveDigests?: readonly DeclaredArchiveDigest[];
}

/** The pins of a call, read before its body so that a malformed one costs no upload. */
export function pinsOf(headers: IncomingHttpHeaders): Pins {
  const archive = archiveSha256Pin(headers);
  return { archive: archive?.hex ?? null, ...(archive ? { archiveHeader: archive.name } : {}), body: declaredBodyDigests(headers), archiveDigests: declaredArchiveDigests(headers) };
}

/** The header of an archive pin a call sent, if any: a registry reference sends no archive for one to pin. */
export function archivePinHeader(headers: IncomingHttpHeaders): string | undefined {
  return archiveSha256Pin(headers)?.name ?? declaredArchiveDigests(headers)[0]?.name;
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
    const header = pins.archiveHeader ?? CHECKSUM_HEADER;
    return {
      message: `the archive received hashes to sha256 ${String(archiveSha256)}, but ${header} gave ${pins.archive}${header === CHECKSUM_HEADER ? '' : ' (as hex)'}`,
      problem: { field: `header.${header.toLowerCase()}`, message: `differs from the sha256 of the archive received (${String(archiveSha256)})` },
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
