import { describe, expect, it } from 'vitest';
import {
  archiveOf, blobEntry, buildImage, json, legacyDockerEntries, ociManifestJson, sha256, streamOf, type BuiltImage, type ImageSpec, type TarEntry,
} from '../../test-fixtures/images.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { validateArchive, type ValidationOutcome } from './validate-archive.js';

/**
 * Archives a review found accepted against the docs (docs/errors.md, BAD_MANIFEST and UNSUPPORTED_LAYER; the
 * architecture's multi-platform section): the call sites in oci-layout.ts, docker-archive.ts and image-config.ts
 * reach the checks of same-platform-images.ts, layer-sources.ts, declared-kind.ts and platforms.ts.
 */

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const REF_NAME = 'org.opencontainers.image.ref.name';
const layout: TarEntry = { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) };

async function validate(entries: readonly TarEntry[]): Promise<ValidationOutcome> {
  return validateArchive(streamOf(await archiveOf(entries), 7_001), DEFAULT_VALIDATION_LIMITS);
}

/** The image with these fields set in its config (variant, os.version), its config digest following. */
function withConfigFields(image: BuiltImage, fields: Record<string, unknown>): BuiltImage {
  const bytes = Buffer.from(JSON.stringify({ ...JSON.parse(image.config.bytes.toString('utf8')) as Record<string, unknown>, ...fields }));
  return { ...image, config: { ...image.config, bytes, digest: sha256(bytes) } };
}

/** The image's manifest, config and layers as blobs, and its manifest's descriptor with `extra` (platform, annotations). */
function imageBlobs(image: BuiltImage, extra: Record<string, unknown> = {}): { blobs: TarEntry[]; descriptor: Record<string, unknown> } {
  const manifest = ociManifestJson(image);
  return {
    blobs: [manifest, image.config.bytes, ...image.layers.map((layer) => layer.bytes)].map(blobEntry),
    descriptor: { mediaType: OCI_MANIFEST, digest: sha256(manifest), size: manifest.length, ...extra },
  };
}

const spec = (architecture: string, file: string): ImageSpec => ({ architecture, layers: [{ files: { [file]: `${file}\n` } }] });
const amd64 = { os: 'linux', architecture: 'amd64' };

describe('an index.json listing two different images for one platform (found by a review: the second, never validated, stayed in the stored archive)', async () => {
  const alpha = imageBlobs(await buildImage(spec('amd64', 'alpha')), { platform: amd64, annotations: { [REF_NAME]: 'alpha' } });
  const broken = await buildImage({ architecture: 'amd64', layers: [{ files: { '../../etc/cron.d/evil': '* * * * * root id\n' } }] });
  // Its config's diff_ids do not match its layer: CONFIG_MISMATCH, had it been validated.
  const beta = imageBlobs(withConfigFields(broken, { rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } }), { platform: amd64, annotations: { [REF_NAME]: 'beta' } });

  it('is refused, naming both images by digest and ref name', async () => {
    const index = json({ schemaVersion: 2, manifests: [alpha.descriptor, beta.descriptor] });
    const outcome = await validate([layout, { name: 'index.json', data: index }, ...alpha.blobs, ...beta.blobs]);
    expect(outcome).toMatchObject({
      ok: false, reasonCode: 'BAD_MANIFEST',
      message: `index.json lists 2 different images for linux/amd64: ${String(alpha.descriptor['digest'])} (ref name alpha), ${String(beta.descriptor['digest'])} (ref name beta); `
        + 'Orbit would validate one of them, while the archive is stored and loaded whole with the others in it (not "first one wins"): upload one image per archive',
    });
  });

  it('names each image and its ref name when none has a platform', async () => {
    const unplaced = (descriptor: Record<string, unknown>) => ({ ...descriptor, platform: undefined });
    const index = json({ schemaVersion: 2, manifests: [unplaced(alpha.descriptor), unplaced(beta.descriptor)] });
    const outcome = await validate([layout, { name: 'index.json', data: index }, ...alpha.blobs, ...beta.blobs]);
    expect(outcome).toMatchObject({
      ok: false, reasonCode: 'BAD_MANIFEST',
      message: `index.json names 2 different images (${String(alpha.descriptor['digest'])} (ref name alpha), ${String(beta.descriptor['digest'])} (ref name beta)), none of them with a platform, so no one image is the archive's; upload one image per archive`,
    });
  });
});

describe('an image index whose entry claims another variant than its config (found by a review: arm/v7 listed as arm/v6 was stored, crane validate said "mismatched Variant")', async () => {
  const arm = withConfigFields(await buildImage(spec('arm', 'arm')), { variant: 'v7' });
  const arm64 = withConfigFields(await buildImage(spec('arm64', 'arm64')), { variant: 'v8' });

  async function indexOf(armPlatform: Record<string, unknown>, arm64Platform: Record<string, unknown>): Promise<{ outcome: ValidationOutcome; armDigest: string; arm64Digest: string }> {
    const first = imageBlobs(arm, { platform: { os: 'linux', ...armPlatform } });
    const second = imageBlobs(arm64, { platform: { os: 'linux', ...arm64Platform } });
    const inner = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [first.descriptor, second.descriptor] });
    const index = json({ schemaVersion: 2, manifests: [{ mediaType: OCI_INDEX, digest: sha256(inner), size: inner.length }] });
    const outcome = await validate([layout, { name: 'index.json', data: index }, blobEntry(inner), ...first.blobs, ...second.blobs]);
    return { outcome, armDigest: String(first.descriptor['digest']), arm64Digest: String(second.descriptor['digest']) };
  }

  it('is refused for arm/v6 over a v7 config, and for arm64/v9 over a v8 one', async () => {
    const v6 = await indexOf({ architecture: 'arm', variant: 'v6' }, { architecture: 'arm64', variant: 'v8' });
    expect(v6.outcome).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST', message: `the index's manifest ${v6.armDigest} (linux/arm/v6) is listed as linux/arm/v6 but its config says linux/arm/v7` });
    const v9 = await indexOf({ architecture: 'arm', variant: 'v7' }, { architecture: 'arm64', variant: 'v9' });
    expect(v9.outcome).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST', message: `the index's manifest ${v9.arm64Digest} (linux/arm64/v9) is listed as linux/arm64/v9 but its config says linux/arm64/v8` });
  });

  it('is kept when the entries name no variant, or the ones their configs name', async () => {
    expect((await indexOf({ architecture: 'arm' }, { architecture: 'arm64' })).outcome.ok).toBe(true);
    expect((await indexOf({ architecture: 'arm', variant: 'v7' }, { architecture: 'arm64', variant: 'v8' })).outcome.ok).toBe(true);
  });
});

describe('a docker save whose manifest.json declares a foreign layer in LayerSources (found by a review: pushed as an ordinary layer)', async () => {
  it('is refused UNSUPPORTED_LAYER, as the same layer in an OCI layout is', async () => {
    const image = await buildImage({ ...spec('amd64', 'app'), repoTags: ['app:1'] });
    const entries = legacyDockerEntries(image);
    const manifest = JSON.parse(entries.at(-1)?.data?.toString('utf8') ?? '[]') as Record<string, unknown>[];
    const diffId = image.layers[0]?.diffId ?? '';
    const foreign = { [diffId]: { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', size: 10240, digest: diffId, urls: ['https://mcr.microsoft.com/x'] } };
    const outcome = await validate([...entries.slice(0, -1), { name: 'manifest.json', data: json(manifest.map((item) => ({ ...item, LayerSources: foreign }))) }]);
    expect(outcome).toMatchObject({ ok: false, reasonCode: 'UNSUPPORTED_LAYER', message: expect.stringContaining(`manifest.json's LayerSources declares the layer ${diffId} a foreign layer`) });
  });
});

describe('an index.json entry listing an image manifest as an image index (found by a review: "manifests: Invalid input: expected array")', async () => {
  it('is refused saying the blob is a manifest, not an index', async () => {
    const image = imageBlobs(await buildImage(spec('amd64', 'app')));
    const index = json({ schemaVersion: 2, manifests: [{ ...image.descriptor, mediaType: OCI_INDEX }] });
    const outcome = await validate([layout, { name: 'index.json', data: index }, ...image.blobs]);
    expect(outcome).toMatchObject({
      ok: false, reasonCode: 'BAD_MANIFEST',
      message: `${String(image.descriptor['digest'])} is listed as an image index (${OCI_INDEX}) but is an image manifest: list it as ${OCI_MANIFEST}`,
    });
  });
});
