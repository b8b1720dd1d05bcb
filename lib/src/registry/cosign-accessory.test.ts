import { describe, expect, it } from 'vitest';
import { isAccessoryPredecessor, isCosignAccessoryTag } from './cosign-accessory.js';
import { OCI_MANIFEST_TYPE, sha256Of } from './image-manifest.js';

const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';

/** A signature manifest as cosign writes it under `sha256-<hex>.sig`: one layer per signature, the signature in its annotations. */
function signatures(...who: string[]): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST_TYPE, config: { mediaType: CONFIG_TYPE, digest: sha256Of(who.join()), size: 200 },
    layers: who.map((name) => ({
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: sha256Of('payload'), size: 7,
      annotations: { 'dev.cosignproject.cosign/signature': `signed by ${name}` },
    })),
  }));
}

describe('which cosign tags a referrer copy may move (found by a review: a second signature at the source never reached a target holding the first)', () => {
  it('knows cosign\'s accessory tags, and nothing else: an image\'s tags are never moved', () => {
    const hex = 'a'.repeat(64);
    for (const suffix of ['sig', 'att', 'sbom']) expect(isCosignAccessoryTag(`sha256-${hex}.${suffix}`)).toBe(true);
    for (const tag of ['1.0.0', 'latest', `sha256-${hex}`, `sha256-${hex}.sig.old`, `sha256-${'a'.repeat(63)}.sig`, `sha512-${hex}.sig`]) expect(isCosignAccessoryTag(tag)).toBe(false);
  });

  it('takes the manifest cosign wrote before adding a signature as a predecessor of the one it wrote after', () => {
    expect(isAccessoryPredecessor(signatures('A'), signatures('A', 'B'))).toBe(true);
    expect(isAccessoryPredecessor(signatures('A', 'B'), signatures('A', 'B'))).toBe(true);
  });

  it('takes a layer with the same payload but another signature as another layer: a target signed otherwise has diverged', () => {
    expect(isAccessoryPredecessor(signatures('A', 'C'), signatures('A', 'B'))).toBe(false);
    expect(isAccessoryPredecessor(signatures('A', 'B'), signatures('A'))).toBe(false);
  });

  it('reads descriptors whatever order their keys were written in', () => {
    const reordered = JSON.parse(signatures('A').toString()) as { layers: Record<string, unknown>[] };
    reordered.layers = reordered.layers.map((layer) => Object.fromEntries(Object.entries(layer).reverse()));
    expect(isAccessoryPredecessor(Buffer.from(JSON.stringify(reordered)), signatures('A', 'B'))).toBe(true);
  });

  it('is no predecessor of another kind of manifest, or of what is no manifest', () => {
    const otherConfig = Buffer.from(signatures('A').toString().replace(CONFIG_TYPE, 'application/vnd.example.config'));
    expect(isAccessoryPredecessor(otherConfig, signatures('A', 'B'))).toBe(false);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
    expect(isAccessoryPredecessor(index, signatures('A'))).toBe(false);
    expect(isAccessoryPredecessor(Buffer.from('not json'), signatures('A'))).toBe(false);
  });
});
