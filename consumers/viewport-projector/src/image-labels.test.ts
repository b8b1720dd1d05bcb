import { describe, expect, it } from 'vitest';
import { LABEL_BUDGET_BYTES, sampleEvents, type ImageAnnotations, type ImageSummary } from '@orbit/schemas';
import { labelsMetaOf, labelsViewOf } from './image-labels.js';

const stored = sampleEvents()['orbit.image.stored'];
const imageWith = (labels: Record<string, string>, annotations: ImageAnnotations | null | undefined, over: Partial<ImageSummary> = {}): ImageSummary => {
  const { annotations: _none, ...image } = stored.image;
  return { ...image, ...over, config: { ...image.config, labels }, ...(annotations === undefined ? {} : { annotations }) };
};
const NONE: ImageAnnotations = { manifest: {}, index: null, platforms: [], leftOut: 0 };

describe('labelsViewOf (found by a review: an image\'s labels and annotations were shown nowhere)', () => {
  it('lists labels and annotations sorted by their keys\' UTF-8 bytes, keys and values as they are', () => {
    // U+FF01 sorts before an emoji by UTF-16 code units, after it by code points (UTF-8 bytes), as Go and Python order them.
    const labels = { '😀': 'smile', '！': 'fullwidth', b: '', A: 'upper', 'é': 'e\u0301' };
    const view = labelsViewOf(imageWith(labels, { ...NONE, manifest: { 'org.opencontainers.image.revision': 'abc', '10': 'ten', '9': 'nine' } }));
    expect(view?.labels).toEqual([{ key: 'A', value: 'upper' }, { key: 'b', value: '' }, { key: 'é', value: 'e\u0301' }, { key: '！', value: 'fullwidth' }, { key: '😀', value: 'smile' }]);
    // Numeric keys keep their text order: a JSON object would have put 9 before 10.
    expect(view?.annotations.map((entry) => entry.key)).toEqual(['10', '9', 'org.opencontainers.image.revision']);
    expect(view).toMatchObject({ platform: 'linux/amd64', indexAnnotations: null, platforms: [], leftOut: 0, limitBytes: LABEL_BUDGET_BYTES });
  });

  it('keeps at most 64 KiB of them all, the described config\'s labels first, and says how many were left out, the validator\'s too', () => {
    const labels = Object.fromEntries(Array.from({ length: 100 }, (_, at) => [`label-${String(at).padStart(3, '0')}`, 'v'.repeat(1_000)]));
    const view = labelsViewOf(imageWith(labels, { manifest: { 'org.opencontainers.image.source': 'https://example.com' }, index: null, platforms: [], leftOut: 3 }));
    // 100 entries of 1 009 bytes: 64 fit in 65 536 bytes and the other 36 are counted; the annotation (50 bytes) fits in what is left.
    const kept = view?.labels.length ?? 0;
    expect(kept).toBe(Math.floor(LABEL_BUDGET_BYTES / 1_009));
    expect(view?.annotations).toEqual([{ key: 'org.opencontainers.image.source', value: 'https://example.com' }]);
    expect(view?.leftOut).toBe(100 - kept + 3);
    const bytes = [...(view?.labels ?? []), ...(view?.annotations ?? [])].reduce((sum, { key, value }) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
    expect(bytes).toBeLessThanOrEqual(LABEL_BUDGET_BYTES);
  });

  it('names the described platform of a multi-platform image with its variant, and lists the others that differ', () => {
    const index = {
      digest: 'sha256:index', mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { digest: stored.image.manifestDigest, mediaType: 'm', sizeBytes: 1, os: 'linux', architecture: 'arm64', variant: 'v8', attestation: false, configDigest: 'c', blobs: [] },
        { digest: 'sha256:s390x', mediaType: 'm', sizeBytes: 1, os: 'linux', architecture: 's390x', variant: null, attestation: false, configDigest: 'c', blobs: [] },
      ],
    };
    const view = labelsViewOf(imageWith({ a: '1' }, {
      manifest: {}, index: { 'org.opencontainers.image.created': '2026-12-07' }, leftOut: 0,
      platforms: [{ platform: 'linux/s390x', digest: 'sha256:s390x', labels: { a: '2' }, annotations: { z: '' } }],
    }, { architecture: 'arm64', index }));
    expect(view).toEqual({
      platform: 'linux/arm64/v8', labels: [{ key: 'a', value: '1' }], annotations: [], indexAnnotations: [{ key: 'org.opencontainers.image.created', value: '2026-12-07' }],
      platforms: [{ platform: 'linux/s390x', digest: 'sha256:s390x', labels: [{ key: 'a', value: '2' }], annotations: [{ key: 'z', value: '' }] }], leftOut: 0, limitBytes: LABEL_BUDGET_BYTES,
    });
  });

  it('knows nothing of an image stored before annotations were read: no meta, not an empty list', () => {
    expect(labelsViewOf(imageWith({ a: '1' }, undefined))).toBeUndefined();
    expect(labelsViewOf(imageWith({ a: '1' }, null))).toBeUndefined();
    expect(labelsMetaOf({ ...stored, image: imageWith({ a: '1' }, undefined) })).toEqual({});
    expect(labelsMetaOf({ ...stored, image: imageWith({}, NONE) })).toEqual({ labels: { platform: 'linux/amd64', labels: [], annotations: [], indexAnnotations: null, platforms: [], leftOut: 0, limitBytes: LABEL_BUDGET_BYTES } });
  });
});
