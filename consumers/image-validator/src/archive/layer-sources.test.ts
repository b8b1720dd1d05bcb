import { describe, expect, it } from 'vitest';
import { refuseForeignLayerSources } from './layer-sources.js';
import { ImageRejection } from './rejections.js';

const diffId = `sha256:${'7'.repeat(64)}`;
const source = (extra: Record<string, unknown>) => ({ LayerSources: { [diffId]: { digest: `sha256:${'a'.repeat(64)}`, size: 10240, ...extra } } });

function refusal(image: Record<string, unknown>): string | undefined {
  try {
    refuseForeignLayerSources(image);
    return undefined;
  } catch (error) {
    if (error instanceof ImageRejection) return `${error.reasonCode}: ${error.message}`;
    throw error;
  }
}

describe('refuseForeignLayerSources', () => {
  it('refuses a layer docker save declares foreign (found by a review: it was pushed as an ordinary layer)', () => {
    expect(refusal(source({ mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', urls: ['https://mcr.microsoft.com/x'] }))).toBe(
      `UNSUPPORTED_LAYER: manifest.json's LayerSources declares the layer ${diffId} a foreign layer (application/vnd.docker.image.rootfs.foreign.diff.tar.gzip), fetched from https://mcr.microsoft.com/x at run time; `
      + 'Orbit serves every layer from its own stores: save the image without foreign layers',
    );
  });

  it('refuses the OCI non-distributable types and any source naming urls', () => {
    expect(refusal(source({ mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' }))).toMatch(/^UNSUPPORTED_LAYER: .*a foreign layer \(application\/vnd\.oci\.image\.layer\.nondistributable\.v1\.tar\+gzip\), fetched from elsewhere at run time/);
    expect(refusal(source({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', urls: ['https://example.test/l'] }))).toMatch(/^UNSUPPORTED_LAYER: .*a layer fetched from https:\/\/example\.test\/l at run time \(it names urls\)/);
  });

  it('passes an image without LayerSources, with null or an ordinary source, and refuses one of the wrong shape', () => {
    expect(refusal({})).toBeUndefined();
    expect(refusal({ LayerSources: null })).toBeUndefined();
    expect(refusal(source({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }))).toBeUndefined();
    expect(refusal({ LayerSources: { [diffId]: { digest: 'nope', size: 1 } } })).toMatch(/^BAD_MANIFEST: manifest\.json's LayerSources has the wrong shape: sha256:7+\.digest: must be sha256/);
  });
});
