import { describe, expect, it } from 'vitest';
import { ImageRejection } from './rejections.js';
import { refuseSamePlatformImages, unplacedImagesProblem } from './same-platform-images.js';

const entry = (digest: string, platform?: Record<string, unknown>, refName?: string) => ({
  digest, size: 1, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  ...(platform === undefined ? {} : { platform: { os: 'linux', architecture: 'amd64', ...platform } }),
  ...(refName === undefined ? {} : { annotations: { 'org.opencontainers.image.ref.name': refName } }),
});

function refusal(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof ImageRejection) return `${error.reasonCode}: ${error.message}`;
    throw error;
  }
}

describe('refuseSamePlatformImages', () => {
  it('refuses two different images for one platform, naming both by digest and ref name (found by a review: the second rode along unvalidated)', () => {
    expect(refusal(() => refuseSamePlatformImages([entry('sha256:a', {}, 'alpha'), entry('sha256:b', {}, 'beta')], 'index.json'))).toBe(
      'BAD_MANIFEST: index.json lists 2 different images for linux/amd64: sha256:a (ref name alpha), sha256:b (ref name beta); '
      + 'Orbit would validate one of them, while the archive is stored and loaded whole with the others in it (not "first one wins"): upload one image per archive',
    );
  });

  it('takes one platform as containerd does: amd64 and amd64/v1, arm and arm/v7, arm64 and aarch64/v8 are one', () => {
    expect(refusal(() => refuseSamePlatformImages([entry('sha256:a', {}), entry('sha256:b', { variant: 'v1' })], 'x'))).toMatch(/2 different images for linux\/amd64: sha256:a, sha256:b/);
    expect(refusal(() => refuseSamePlatformImages([entry('sha256:a', { architecture: 'arm' }), entry('sha256:b', { architecture: 'arm', variant: 'v7' })], 'x'))).toMatch(/^BAD_MANIFEST/);
    expect(refusal(() => refuseSamePlatformImages([entry('sha256:a', { architecture: 'arm64' }), entry('sha256:b', { architecture: 'aarch64', variant: 'v8' })], 'x'))).toMatch(/^BAD_MANIFEST/);
  });

  it('passes different platforms, one image under several names, Windows builds, attestations and entries without a platform', () => {
    expect(refusal(() => refuseSamePlatformImages([entry('sha256:a', {}), entry('sha256:b', { variant: 'v3' }), entry('sha256:c', { architecture: 'arm64' })], 'x'))).toBeUndefined();
    expect(refusal(() => refuseSamePlatformImages([entry('sha256:a', {}, 'alpha'), entry('sha256:a', {}, 'beta')], 'x'))).toBeUndefined();
    expect(refusal(() => refuseSamePlatformImages([entry('sha256:a', { os: 'windows', 'os.version': '10.0.20348.1' }), entry('sha256:b', { os: 'windows', 'os.version': '10.0.17763.1' })], 'x'))).toBeUndefined();
    expect(refusal(() => refuseSamePlatformImages([entry('sha256:a', { os: 'unknown', architecture: 'unknown' }), entry('sha256:b', { os: 'unknown', architecture: 'unknown' })], 'x'))).toBeUndefined();
    expect(refusal(() => refuseSamePlatformImages([entry('sha256:a'), entry('sha256:b')], 'x'))).toBeUndefined();
  });
});

describe('unplacedImagesProblem', () => {
  it('names each image by digest and the ref names it saw', () => {
    expect(unplacedImagesProblem([entry('sha256:a', undefined, 'alpha'), entry('sha256:b', undefined, 'beta'), entry('sha256:b', undefined, 'gamma')], 'index.json')).toBe(
      'index.json names 2 different images (sha256:a (ref name alpha), sha256:b (ref name beta, gamma)), none of them with a platform, so no one image is the archive\'s; upload one image per archive',
    );
    expect(unplacedImagesProblem([entry('sha256:a', {}), entry('sha256:b')], 'image index sha256:i')).toBe(
      'image index sha256:i names 2 different images (sha256:a, sha256:b), 1 of them without a platform, so no one image is the archive\'s; upload one image per archive',
    );
  });

  it('sums up past six images', () => {
    const many = Array.from({ length: 9 }, (_, at) => entry(`sha256:${at}`));
    expect(unplacedImagesProblem(many, 'index.json')).toContain('sha256:5, 3 more), none of them');
  });
});
