import type { IncomingHttpHeaders } from 'node:http';
import { badRequest } from './errors.js';

/**
 * The header a streamed upload pins its archive's SHA-256 by: Artifactory's name for it (its deploy takes the same),
 * 64 hex digits of the archive part's bytes, not of the whole form.
 */
export const CHECKSUM_HEADER = 'X-Checksum-Sha256';

/** The field a refusal of that header names, as other headers' (`header.content-type`). */
export const CHECKSUM_HEADER_FIELD = `header.${CHECKSUM_HEADER.toLowerCase()}`;

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * A SHA-256 as a client writes it, in lower case: 64 hex digits of either case (Artifactory and sha256sum write
 * lower, some tools upper), or the `sha256:` digest form ECR's layerDigests and OCI clients send. Undefined when it
 * is none of these.
 */
export function sha256Of(written: string): string | undefined {
  const hex = written.replace(/^sha256:/i, '');
  return HEX_SHA256.test(hex) ? hex.toLowerCase() : undefined;
}

const SHA256_FORMS = '64 hex digits (either case), or sha256:<64 hex digits>';

/** A completion's `sha256` field: absent or null pins nothing; anything but a SHA-256 is a 400 naming the field. */
export function completionSha256(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const sha256 = typeof value === 'string' ? sha256Of(value) : undefined;
  if (sha256 === undefined) throw badRequest(`sha256 must be the SHA-256 of the archive PUT, as ${SHA256_FORMS}; got ${JSON.stringify(value)?.slice(0, 80)}`, 'sha256');
  return sha256;
}

/**
 * The archive's SHA-256 a streamed upload pinned by X-Checksum-Sha256, if it sent one; a value that is no SHA-256
 * (two headers, which Node joins with a comma, among them) is a 400 naming the header.
 */
export function declaredSha256(headers: IncomingHttpHeaders): string | null {
  const value = headers[CHECKSUM_HEADER.toLowerCase()];
  if (value === undefined) return null;
  const written = Array.isArray(value) ? value.join(', ') : value;
  const sha256 = sha256Of(written.trim());
  if (sha256 === undefined) throw badRequest(`${CHECKSUM_HEADER} must be the archive's SHA-256, as ${SHA256_FORMS} (one header); got ${JSON.stringify(written.slice(0, 80))}`, CHECKSUM_HEADER_FIELD);
  return sha256;
}

/** A SHA-256 of the whole request body that the client sent, and the header that carried it. */
export interface DeclaredBodyDigest {
  readonly header: 'content-digest' | 'digest';
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
 * not 32 bytes of base64, or one named twice, is a 400 naming the header.
 */
export function declaredBodyDigest(headers: IncomingHttpHeaders): DeclaredBodyDigest | null {
  const found = (['content-digest', 'digest'] as const).flatMap((header) => {
    const sha256 = bodySha256In(header, headers[header]);
    return sha256 === undefined ? [] : [{ header, sha256 }];
  });
  const [first, second] = found;
  if (first !== undefined && second !== undefined && first.sha256 !== second.sha256) {
    throw badRequest('Content-Digest and Digest give the body different SHA-256s: send one', `header.${first.header}`);
  }
  return first ?? null;
}

function bodySha256In(header: 'content-digest' | 'digest', value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const members = (Array.isArray(value) ? value.join(',') : value).split(',').map((member) => member.trim()).filter((member) => member !== '');
  const sha256Members = members.filter((member) => /^sha-256=/i.test(member));
  if (sha256Members.length === 0) return undefined;
  const [member] = sha256Members;
  // Content-Digest wraps the bytes in colons (a structured-field byte sequence) and may add parameters after them.
  const written = header === 'content-digest' ? /^sha-256=:([^:]*):(?:;.*)?$/.exec(member ?? '')?.[1] : member?.slice('sha-256='.length);
  if (sha256Members.length > 1 || written === undefined || !BASE64_SHA256.test(written)) {
    const form = header === 'content-digest' ? 'sha-256=:<base64 of the 32 bytes>:' : 'SHA-256=<base64 of the 32 bytes>';
    throw badRequest(`${header === 'content-digest' ? 'Content-Digest' : 'Digest'}'s sha-256 must be written once, as ${form}; got ${JSON.stringify(member?.slice(0, 80))}`, `header.${header}`);
  }
  return Buffer.from(written, 'base64').toString('hex');
}
