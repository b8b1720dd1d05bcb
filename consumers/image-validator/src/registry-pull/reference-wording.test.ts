import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PullRefusedError, RegistryClient } from '@orbit/lib';
import { buildImage, ociManifestJson, type BuiltImage } from '../../test-fixtures/images.js';
import { pullAsOciArchive, type PullTarget } from './pull.js';

/** Refusals of a registry reference in a reference's words, not an archive's (found by a review). */

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY = 'application/vnd.oci.empty.v1+json';
const digest = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const descriptor = (mediaType: string, bytes: Buffer, extra: Record<string, unknown> = {}) => ({ mediaType, digest: digest(bytes), size: bytes.length, ...extra });
const blobsOf = (image: BuiltImage): Buffer[] => [image.config.bytes, ...image.layers.map((layer) => layer.bytes)];
const target: PullTarget = { tag: '1', digest: null, maxBytes: 1 << 20 };

/** A registry serving `1` as `top`, the other manifests by digest and the blobs, noting each blob asked for. */
function registryOf(top: Buffer, manifests: readonly Buffer[], blobs: readonly Buffer[]): { client: RegistryClient; blobsServed: string[] } {
  const blobsServed: string[] = [];
  const byReference = new Map([['1', top], ...manifests.map((manifest) => [digest(manifest), manifest] as const)]);
  const fake: typeof fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    const [, kind = '', reference = ''] = /\/(manifests|blobs)\/([^/]+)$/.exec(path) ?? [];
    if (kind === 'manifests') {
      const manifest = byReference.get(reference);
      return manifest ? new Response(manifest, { headers: { 'docker-content-digest': digest(manifest) } }) : new Response(null, { status: 404 });
    }
    const blob = kind === 'blobs' ? blobs.find((bytes) => digest(bytes) === reference) : undefined;
    if (blob && init?.method !== 'HEAD') blobsServed.push(reference);
    return blob ? new Response(init?.method === 'HEAD' ? null : blob) : new Response(null, { status: 404 });
  };
  return { client: new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake }), blobsServed };
}

async function refusal(top: Buffer, manifests: readonly Buffer[] = [], blobs: readonly Buffer[] = []): Promise<{ error: PullRefusedError; blobsServed: string[] }> {
  const { client, blobsServed } = registryOf(top, manifests, blobs);
  const error = await pullAsOciArchive(client, target, new PassThrough().resume()).then(() => undefined, (failure: unknown) => failure);
  if (!(error instanceof PullRefusedError)) throw new Error(`expected a refused pull, got ${String(error)}`);
  return { error, blobsServed };
}

describe('pullAsOciArchive refusals in a reference\'s words', () => {
  it('says an image manifest lists no layers (was "the registry sent no image manifest (layers: Too small: expected array to have >=1 items)")', async () => {
    const config = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
    const { error, blobsServed } = await refusal(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor('application/vnd.oci.image.config.v1+json', config), layers: [] }), [], [config]);
    expect(error).toMatchObject({ reasonCode: 'BAD_MANIFEST', message: 'registry.test/team/app:1 is an image manifest that lists no layers: no container can run from it (a runtime needs at least one filesystem layer); nothing was downloaded' });
    expect(blobsServed).toEqual([]);
  });

  it('names the artifactType of an artifact pushed with the empty config (oras push --artifact-type), with layers or none', async () => {
    const wasm = Buffer.from('\0asm\x01\0\0\0');
    const withLayer = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.wasm.config.v0+json', config: descriptor(EMPTY, Buffer.from('{}')), layers: [descriptor('application/wasm', wasm)] });
    expect((await refusal(withLayer)).error).toMatchObject({
      reasonCode: 'BAD_MANIFEST',
      message: 'registry.test/team/app:1 is not a container image but an artifact (artifact type application/vnd.wasm.config.v0+json, config media type application/vnd.oci.empty.v1+json); nothing was downloaded',
    });
    const layerless = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.sbom', config: descriptor(EMPTY, Buffer.from('{}')), layers: [] });
    expect((await refusal(layerless)).error).toMatchObject({ message: 'registry.test/team/app:1 is not a container image but an artifact (artifact type application/vnd.example.sbom, config media type application/vnd.oci.empty.v1+json); nothing was downloaded' });
  });

  it('refuses an index of different images without platforms before any blob, saying to reference one by digest (was "upload one image per archive")', async () => {
    const first = await buildImage({ layers: [{ files: { 'app/a': 'a\n' } }] });
    const second = await buildImage({ layers: [{ files: { 'app/b': 'b\n' } }] });
    const [one, two] = [ociManifestJson(first), ociManifestJson(second)];
    const index = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor(OCI_MANIFEST, one), descriptor(OCI_MANIFEST, two)] });
    const { error, blobsServed } = await refusal(index, [one, two], [...blobsOf(first), ...blobsOf(second)]);
    expect(error).toMatchObject({
      reasonCode: 'BAD_MANIFEST',
      message: `registry.test/team/app:1 is an image index of 2 different images (${digest(one)}, ${digest(two)}), none of them with a platform, so no one image is the reference's `
        + '(a node picks an image of an index by its platform); reference one of them by digest, or push an index whose entries name their platforms; nothing was downloaded',
    });
    expect(blobsServed).toEqual([]);
  });

  it('refuses one platform pulled alone whose config names another variant than its entry (found by a review: arm/v7 listed as arm/v6 was stored)', async () => {
    const image = await buildImage({ architecture: 'arm', layers: [{ files: { 'app/run': 'v7\n' } }] });
    const config = json({ ...JSON.parse(image.config.bytes.toString('utf8')) as Record<string, unknown>, variant: 'v7' });
    const manifest = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor('application/vnd.oci.image.config.v1+json', config), layers: image.layers.map((layer) => descriptor(layer.mediaType, layer.bytes)) });
    const index = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor(OCI_MANIFEST, manifest, { platform: { os: 'linux', architecture: 'arm', variant: 'v6' } })] });
    const { client, blobsServed } = registryOf(index, [manifest], [config, ...image.layers.map((layer) => layer.bytes)]);
    const pulled = pullAsOciArchive(client, { ...target, onePlatformBecause: 'Docker Hub counts a pull per platform' }, new PassThrough().resume());
    await expect(pulled).rejects.toMatchObject({ reasonCode: 'BAD_MANIFEST', message: `the index's manifest ${digest(manifest)} (linux/arm/v6) is listed as linux/arm/v6 but its config says linux/arm/v7` });
    expect(blobsServed).toEqual([digest(config)]);
  });
});
