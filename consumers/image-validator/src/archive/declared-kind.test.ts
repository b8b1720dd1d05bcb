import { describe, expect, it } from 'vitest';
import { archiveOf, blobEntry, json, sha256, streamOf } from '../../test-fixtures/images.js';
import { readArchive } from './archive-reader.js';
import { ArchiveBlobs } from './blob-store.js';
import { refuseOtherKind } from './declared-kind.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { ImageRejection } from './rejections.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const blob = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 2 };
const manifest = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: blob, layers: [blob] });
const index = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(manifest), size: manifest.length }] });
const descriptorOf = (bytes: Buffer, mediaType: string) => ({ mediaType, digest: sha256(bytes), size: bytes.length });

async function refusal(bytes: Buffer, mediaType: string, declared: 'index' | 'manifest'): Promise<string | undefined> {
  const blobs = new ArchiveBlobs(await readArchive(streamOf(await archiveOf([blobEntry(manifest), blobEntry(index)])), DEFAULT_VALIDATION_LIMITS));
  try {
    refuseOtherKind(blobs, descriptorOf(bytes, mediaType), declared);
    return undefined;
  } catch (error) {
    if (error instanceof ImageRejection) return `${error.reasonCode}: ${error.message}`;
    throw error;
  }
}

describe('refuseOtherKind', () => {
  it('says a blob listed as an index is a manifest, and the reverse, with the media type to list it as', async () => {
    expect(await refusal(manifest, OCI_INDEX, 'index')).toBe(`BAD_MANIFEST: ${sha256(manifest)} is listed as an image index (${OCI_INDEX}) but is an image manifest: list it as ${OCI_MANIFEST}`);
    expect(await refusal(index, OCI_MANIFEST, 'manifest')).toBe(`BAD_MANIFEST: ${sha256(index)} is listed as an image manifest (${OCI_MANIFEST}) but is an image index: list it as ${OCI_INDEX}`);
  });

  it('passes a blob of the kind it is listed as', async () => {
    expect(await refusal(manifest, OCI_MANIFEST, 'manifest')).toBeUndefined();
    expect(await refusal(index, OCI_INDEX, 'index')).toBeUndefined();
  });
});
