import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PullRefusedError, RegistryClient } from '@orbit/lib';
import { buildImage, ociManifestJson, type BuiltImage } from '../../test-fixtures/images.js';
import { DEFAULT_VALIDATION_LIMITS, validateArchive, type ValidationOutcome } from '../archive/index.js';
import { pullAsOciArchive, type PullTarget } from './pull.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const digest = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface Listed {
  readonly manifest: Buffer;
  readonly platform: { readonly os: string; readonly architecture: string; readonly variant?: string };
  readonly annotations?: Readonly<Record<string, string>>;
}

const indexOf = (entries: readonly Listed[]): Buffer => Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: OCI_INDEX,
  manifests: entries.map(({ manifest, ...rest }) => ({ mediaType: OCI_MANIFEST, digest: digest(manifest), size: manifest.length, ...rest })),
}));

const blobsOf = (image: BuiltImage): Buffer[] => [image.config.bytes, ...image.layers.map((layer) => layer.bytes)];

/** A registry serving `1` as `index`, the manifests by digest and the blobs, noting each blob path asked for. */
function registryOf(index: Buffer, manifests: readonly Buffer[], blobs: readonly Buffer[]): { client: RegistryClient; blobsServed: string[] } {
  const blobsServed: string[] = [];
  const byReference = new Map([['1', index], ...manifests.map((manifest) => [digest(manifest), manifest] as const)]);
  const fake: typeof fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    const [, kind = '', reference = ''] = /\/(manifests|blobs)\/([^/]+)$/.exec(path) ?? [];
    if (kind === 'manifests') {
      const manifest = byReference.get(reference);
      return manifest ? new Response(manifest) : new Response(null, { status: 404 });
    }
    const blob = kind === 'blobs' ? blobs.find((bytes) => digest(bytes) === reference) : undefined;
    if (blob && init?.method !== 'HEAD') blobsServed.push(reference);
    return blob ? new Response(init?.method === 'HEAD' ? null : blob) : new Response(null, { status: 404 });
  };
  return { client: new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake }), blobsServed };
}

/** The pull's archive as the validator judges it. */
async function validatedPull(client: RegistryClient, target: PullTarget): Promise<ValidationOutcome> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  await pullAsOciArchive(client, target, out);
  return validateArchive(PassThrough.from([Buffer.concat(chunks)]), DEFAULT_VALIDATION_LIMITS);
}

const refusal = async (pulling: Promise<unknown>): Promise<PullRefusedError> => {
  const error = await pulling.then(() => undefined, (failure: unknown) => failure);
  if (!(error instanceof PullRefusedError)) throw new Error(`expected a refused pull, got ${String(error)}`);
  return error;
};

const sink = (): PassThrough => new PassThrough().resume();

describe('pullAsOciArchive of one platform of an index', () => {
  it('refuses an arm64 image listed as linux/amd64 in the validator\'s words however the index is pulled (was stored when only that platform was pulled; found by a review)', async () => {
    const liar = await buildImage({ architecture: 'arm64', layers: [{ files: { 'app/run': 'really arm64\n' } }] });
    const arm = await buildImage({ architecture: 'arm64', layers: [{ files: { 'app/run': 'arm64\n' } }] });
    const liarManifest = ociManifestJson(liar);
    const armManifest = ociManifestJson(arm);
    const index = indexOf([{ manifest: liarManifest, platform: { os: 'linux', architecture: 'amd64' } }, { manifest: armManifest, platform: { os: 'linux', architecture: 'arm64' } }]);
    const blobs = [...blobsOf(liar), ...blobsOf(arm)];

    // 1. Pulled whole, the validator compares every entry with its config and refuses.
    const whole = await validatedPull(registryOf(index, [liarManifest, armManifest], blobs).client, { tag: '1', digest: null, maxBytes: 1 << 20 });
    if (whole.ok) throw new Error('the whole index was validated');
    expect(whole).toMatchObject({ reasonCode: 'BAD_MANIFEST', message: `the index's manifest ${digest(liarManifest)} (linux/amd64) is listed as linux/amd64 but its config says linux/arm64` });

    // 2. Pulled alone (told to, over the size limit, over 64 entries): the same refusal, before any layer is fetched.
    const onePlatformBytes = blobsOf(liar).reduce((sum, blob) => sum + blob.length, 0);
    const fillers = Array.from({ length: 65 }, (_, i) => ({ manifest: Buffer.from(`{"filler":${i}}`), platform: { os: 'linux', architecture: 's390x', variant: `v${i}` } }));
    const many = indexOf([{ manifest: liarManifest, platform: { os: 'linux', architecture: 'amd64' } }, ...fillers]);
    const alone: readonly [string, Buffer, PullTarget][] = [
      ['told to', index, { tag: '1', digest: null, maxBytes: 1 << 20, onePlatformBecause: 'Docker Hub counts a pull per platform' }],
      ['over the size limit', index, { tag: '1', digest: null, maxBytes: onePlatformBytes + 1 }],
      ['over 64 entries', many, { tag: '1', digest: null, maxBytes: 1 << 20 }],
    ];
    for (const [why, listing, target] of alone) {
      const { client, blobsServed } = registryOf(listing, [liarManifest, armManifest], blobs);
      const refused = await refusal(pullAsOciArchive(client, target, sink()));
      expect({ reasonCode: refused.reasonCode, message: refused.message }, why).toEqual({ reasonCode: 'BAD_MANIFEST', message: whole.message });
      expect(blobsServed, why).toEqual([liar.config.digest]);
    }
  });

  it('pulls an honest linux/amd64 alone with its config fetched once, and the archive validates', async () => {
    const amd = await buildImage({ layers: [{ files: { 'app/run': 'amd64\n' } }] });
    const arm = await buildImage({ architecture: 'arm64', layers: [{ files: { 'app/run': 'arm64\n' } }] });
    const [amdManifest, armManifest] = [ociManifestJson(amd), ociManifestJson(arm)];
    const index = indexOf([{ manifest: armManifest, platform: { os: 'linux', architecture: 'arm64' } }, { manifest: amdManifest, platform: { os: 'linux', architecture: 'amd64' } }]);
    const { client, blobsServed } = registryOf(index, [amdManifest, armManifest], [...blobsOf(amd), ...blobsOf(arm)]);
    const outcome = await validatedPull(client, { tag: '1', digest: null, maxBytes: 1 << 20, onePlatformBecause: 'told to' });
    expect(outcome).toMatchObject({ ok: true, summary: { architecture: 'amd64' } });
    expect(blobsServed).toEqual(blobsOf(amd).map(digest));
  });

  it('says in the note that the index has no linux/amd64 and which image stands in, and that its attestations were left out (found by a review: taken silently)', async () => {
    const arm = await buildImage({ architecture: 'arm64', layers: [{ files: { 'app/run': 'arm64\n' } }] });
    const s390x = await buildImage({ architecture: 's390x', layers: [{ files: { 'app/run': 's390x\n' } }] });
    const [armManifest, s390xManifest] = [ociManifestJson(arm), ociManifestJson(s390x)];
    const provenance = Buffer.from('{"schemaVersion":2,"provenance":true}');
    const index = indexOf([
      { manifest: armManifest, platform: { os: 'linux', architecture: 'arm64' } },
      { manifest: s390xManifest, platform: { os: 'linux', architecture: 's390x' } },
      { manifest: provenance, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': digest(armManifest) } },
    ]);
    const { client } = registryOf(index, [armManifest, s390xManifest], [...blobsOf(arm), ...blobsOf(s390x)]);
    const outcome = await validatedPull(client, { tag: '1', digest: null, maxBytes: 1 << 20, onePlatformBecause: 'Docker Hub counts a pull per platform' });
    if (!outcome.ok) throw new Error(`rejected: ${outcome.message}`);
    expect(outcome.summary.architecture).toBe('arm64');
    // What the uploader reads among the verdict's notes.
    expect(outcome.notes).toContain('the reference named an image index of 3 manifests; only linux/arm64 was pulled, because Docker Hub counts a pull per platform'
      + "; it lists no linux/amd64 image, the platform Orbit takes for the cluster's nodes, so the first image, linux/arm64, was taken instead"
      + '; its attestation (BuildKit provenance or SBOM) was not pulled either');
  });
});
