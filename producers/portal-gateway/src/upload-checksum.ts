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
