import type { z } from 'zod';
import type { ArchiveContents } from './archive-reader.js';
import type { FileFacts } from './entry-facts.js';
import { firstIssue, type Descriptor } from './json-shapes.js';
import { reject, type RejectionCode } from './rejections.js';
import { goIntegerProblem, MANIFEST_INTEGER_PATHS, type JsonPath } from './go-integers.js';
import { caseFoldedKeyProblem, MANIFEST_FIELDS, type ReadFields } from './json-keys.js';
import { illFormedTextProblem } from './well-formed-text.js';

export function blobPath(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

const SHA256_BLOB = /^blobs\/sha256\/([0-9a-f]{64})$/;

/** Lookups into what the pass over the archive found, each failure a reason code naming the entry. */
export class ArchiveBlobs {
  constructor(private readonly contents: ArchiveContents) {}

  /**
   * Every `blobs/sha256/<hex>` file holds what its name says, also the ones
   * the image does not use: the archive is stored and served whole, so a
   * blob misnamed there would reach whoever loads it (found by a probe).
   * Every entry was hashed on the way in; this only compares.
   */
  checkEveryBlobName(): void {
    for (const [path, entry] of this.contents.entries) {
      const named = SHA256_BLOB.exec(path)?.[1];
      if (named !== undefined && entry.kind === 'file' && entry.sha256 !== named) {
        reject('DIGEST_MISMATCH', `blob "${path}" hashes to sha256:${entry.sha256}, not to the digest its name says (every blob in the archive is checked, also those the image does not use)`);
      }
    }
  }

  has(path: string): boolean {
    return this.contents.entries.has(path);
  }

  paths(): IterableIterator<string> {
    return this.contents.entries.keys();
  }

  /** The regular file at `path`; a link there is refused, never followed. */
  file(path: string, role: string): FileFacts {
    const entry = this.contents.entries.get(path);
    if (entry === undefined) return reject('MISSING_BLOB', `${role} "${path}" is not in the archive`);
    if (entry.kind !== 'file') return reject('UNSAFE_PATH', `${role} "${path}" is a ${entry.kind} to "${entry.target}"; blobs must be regular files`);
    return entry;
  }

  /**
   * Like file(), but one in-archive link is followed to a regular file. Only
   * for legacy docker-archive layer paths: docker save before 25 writes a
   * repeated layer (two empty RUN layers share a diff_id) as a symlink
   * `<id>/layer.tar -> ../<other id>/layer.tar`. The target was checked to stay
   * inside and not to pass through links, so a loader reads exactly the bytes
   * hashed here.
   */
  fileFollowingOneLink(path: string, role: string): FileFacts {
    const entry = this.contents.entries.get(path);
    if (entry === undefined || entry.kind === 'file') return this.file(path, role);
    const target = this.contents.entries.get(entry.target);
    if (target?.kind !== 'file') return reject('UNSAFE_PATH', `${role} "${path}" is a ${entry.kind} to "${entry.target}", which is not a regular file in the archive`);
    return target;
  }

  /**
   * The JSON document held as the blob `digest`, read leniently: undefined
   * when the archive holds none or it is not JSON (the strict reading, when
   * one is needed, says why). For telling what an index entry is. A blob
   * whose bytes are not what its name says is refused here already, before
   * what it lists is believed: checkEveryBlobName would refuse it at the end,
   * but an index whose bytes listed its own name first read as one listing
   * no manifests, and was refused for that (found by a fuzz review).
   */
  jsonOf(digest: string): unknown {
    const path = blobPath(digest);
    if (!this.has(path)) return undefined;
    const file = this.file(path, 'index entry');
    if (SHA256_BLOB.test(path)) verifyDigest(file, digest, 'blob');
    const { json } = file;
    if (json === null) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(json.toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
    // What an index lists (a manifest, an index, a referrer's manifest) may be read here alone: its text is checked here too.
    refuseIllFormedText(value, `the document ${digest} that an index lists`, 'BAD_MANIFEST');
    return value;
  }

  /** The blob a descriptor names, checked against the descriptor's digest and size. */
  blob(descriptor: Descriptor, role: string): FileFacts {
    const file = this.file(blobPath(descriptor.digest), `${role} ${descriptor.digest}`);
    verifyDigest(file, descriptor.digest, role);
    if (file.size !== descriptor.size) {
      reject('DIGEST_MISMATCH', `${role} ${descriptor.digest} is ${file.size} bytes but its descriptor says ${descriptor.size}`);
    }
    return file;
  }
}

export function verifyDigest(file: FileFacts, digest: string, role: string): void {
  const actual = `sha256:${file.sha256}`;
  if (actual !== digest) reject('DIGEST_MISMATCH', `${role} "${file.path}" should have digest ${digest} but its bytes hash to ${actual}`);
}

/**
 * Every JSON document of the image is read by parseJson or jsonOf, its strings and keys checked here: a string
 * that is no Unicode text (a lone surrogate, `"\ud800"`) would reach the events, the chart and the registry
 * as a different text each (see well-formed-text.ts).
 */
function refuseIllFormedText(value: unknown, named: string, code: RejectionCode): void {
  const problem = illFormedTextProblem(value);
  if (problem !== undefined) reject(code, `${named} ${problem}`);
}

/** Go's encoding/json (registries, containerd, crane) refuses a document with objects and arrays nested deeper. */
const GO_MAX_JSON_DEPTH = 10_000;

/** How deep objects and arrays nest in a parsed document (a top-level object is 1); walked without recursion. */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, depth] = next;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Parses a kept JSON entry against `shape`, with `goIntegers` and the keys of `readFields` (a manifest's, unless
 * told) written as Go reads them; `code` is the reason when it is not JSON or not of that shape.
 */
export function parseJson<Shape extends z.ZodType>(
  file: FileFacts, shape: Shape, role: string, code: RejectionCode, goIntegers: readonly JsonPath[] = MANIFEST_INTEGER_PATHS, readFields: ReadFields = MANIFEST_FIELDS,
): z.infer<Shape> {
  if (file.jsonSkipped === 'too-large') return reject('TOO_LARGE', `${role} "${file.path}" is ${file.size} bytes, over the JSON limit`);
  if (file.layerDocument !== undefined) return reject(code, `${role} "${file.path}" has the wrong shape: it is ${file.layerDocument}`);
  if (file.json === null) return reject(code, `${role} "${file.path}" is not JSON${file.jsonError === undefined ? '' : ` (${file.jsonError})`}`);
  let value: unknown;
  try {
    value = JSON.parse(file.json.toString('utf8'));
  } catch (error) {
    return reject(code, `${role} "${file.path}" is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const depth = nestingDepth(value);
  if (depth > GO_MAX_JSON_DEPTH) {
    return reject(code, `${role} "${file.path}" has objects or arrays nested ${depth} deep; Go's JSON reader (registries, containerd, skopeo) refuses more than ${GO_MAX_JSON_DEPTH}`);
  }
  // Before the shape, whose words may quote the text.
  refuseIllFormedText(value, `${role} "${file.path}"`, code);
  const parsed = shape.safeParse(value);
  if (!parsed.success) return reject(code, `${role} "${file.path}" has the wrong shape: ${firstIssue(parsed.error)}`);
  const clash = caseFoldedKeyProblem(value, readFields);
  if (clash !== undefined) return reject(code, `${role} "${file.path}" ${clash}`);
  const written = goIntegerProblem(file.json.toString('utf8'), goIntegers);
  if (written !== undefined) return reject(code, `${role} "${file.path}" has the wrong shape: ${written}`);
  return parsed.data;
}
