import { createHash } from 'node:crypto';
import type { ImageMetadata, UploadBodyDigest } from '@orbit/schemas';
import { stringify } from 'safe-stable-stringify';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The metadata's digest: its validated form as JSON with sorted keys, so the
 * same fields sent in another order (or spelled as the parser takes either,
 * a port as "8080" or 8080) are the same. Extra metadata travels as the JSON
 * text it came in, its keys in the client's order: it is read back and
 * sorted too.
 */
export function metadataSha256(metadata: ImageMetadata): string {
  const extra = metadata.extraJson === null || metadata.extraJson === undefined ? null : (JSON.parse(metadata.extraJson) as unknown);
  return sha256(stringify({ ...metadata, extraJson: extra }) ?? '');
}

/** The digest of a registry reference's text as sent: `app:1.0` and `app@sha256:…` are different requests, even if they name one image. */
export function referenceSha256(reference: string): string {
  return sha256(`reference\n${reference}`);
}

/** Which parts of a request sent again under a key differ from the one the key first started. */
export type DifferingPart = 'metadata' | 'image' | 'reference';

/**
 * The parts of `sent` that differ from `held`; none when they are the same
 * request. `contentIs` names the content for the message: the archive
 * (`image`) or the reference.
 */
export function differingParts(held: UploadBodyDigest, sent: UploadBodyDigest, contentIs: 'image' | 'reference'): DifferingPart[] {
  const parts: DifferingPart[] = [];
  if (held.metadataSha256 !== sent.metadataSha256) parts.push('metadata');
  if (held.contentSha256 !== sent.contentSha256) parts.push(contentIs);
  return parts;
}

/** A part that differs, as a refusal names it: the field it is sent in, and what it was sent with this time, in words. */
export interface NamedPart {
  readonly field: string;
  readonly said: string;
}

/**
 * `parts` as the refusal of a repeat names them. A completion's differing content is the sha256 it was given, a
 * field of its body: "another sha256", or "no sha256" when the request it repeats pinned one and it pins none.
 */
export function namedParts(parts: readonly DifferingPart[], repeat: { readonly completion: boolean; readonly pinnedBefore: boolean }): NamedPart[] {
  return parts.map((part) => {
    if (part === 'metadata') return { field: part, said: 'other metadata' };
    if (repeat.completion && part === 'image') return { field: 'sha256', said: repeat.pinnedBefore ? 'another sha256' : 'no sha256' };
    return { field: part, said: `another ${part}` };
  });
}
