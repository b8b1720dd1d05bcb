import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { OrbitError } from './errors.js';

/** Where a stored JSON text's object lies in the chart bucket. */
export interface StoredJsonLocation {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | null;
}

/**
 * A chart row's JSON field (its manifests, its Kustomize files): the text
 * inline, or, when too big for a DynamoDB item, the chart-bucket object that
 * holds it with its SHA-256.
 */
export type StoredJson = { readonly inline: string } | { readonly location: StoredJsonLocation; readonly sha256: string };

/** A stored JSON field that cannot be read back: absent, not JSON, or an object that is not the bytes its row recorded. */
export class StoredJsonError extends OrbitError {
  constructor(problem: string) {
    super('ORBIT_ERR_STORED_JSON', problem);
  }
}

/** The JSON a row's field holds, read from the row or from the chart bucket (`getObject`), whose bytes must hash to what the row recorded. */
export async function readStoredJson(field: unknown, getObject: (location: StoredJsonLocation) => Promise<Buffer>): Promise<unknown> {
  const stored = field as Partial<{ inline: unknown; location: StoredJsonLocation; sha256: unknown }> | undefined | null;
  let text: string;
  if (typeof stored?.inline === 'string') {
    text = stored.inline;
  } else if (stored?.location && typeof stored.sha256 === 'string') {
    const bytes = await getObject(stored.location);
    if (createHash('sha256').update(bytes).digest('hex') !== stored.sha256) {
      throw new StoredJsonError(`${stored.location.bucket}/${stored.location.key} does not hash to the ${stored.sha256} its row recorded`);
    }
    text = bytes.toString('utf8');
  } else {
    throw new StoredJsonError('the row holds no such field, inline or in the chart bucket');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new StoredJsonError(`not JSON: ${(error as Error).message}`);
  }
}

/** Reads a stored object whole, at its version: the `getObject` of readStoredJson (small JSON texts and charts, never images). */
export function objectBytes(s3: S3Client): (location: StoredJsonLocation) => Promise<Buffer> {
  return async (location) => {
    const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key, ...(location.versionId ? { VersionId: location.versionId } : {}) }));
    return Buffer.from(await (object.Body?.transformToByteArray() ?? new Uint8Array()));
  };
}
