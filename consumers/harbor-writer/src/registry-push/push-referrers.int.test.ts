import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@orbit/lib';
import { quietLogger } from '../../../../test/helpers/index.js';
import { buildImage, type BuiltImage } from '../../../../test/helpers/images.js';
import { cosignSignatureOf, imageManifestOf, OCI_INDEX, OCI_MANIFEST, referrerOf, sha256, withReferrers, type Artifact } from '../../../../test/helpers/referrers.js';
import { startRegistry, type RegistryServer, type TestRegistry } from '../../../../test/helpers/registry.js';
import { pushImage, type PushableImage, type PushTargetClient } from './push-image.js';

let image: BuiltImage;
let imageManifest: Buffer;
let summary: Omit<PushableImage, 'referrers'>;

const archiveWith = (name: string, artifacts: readonly Artifact[]): Promise<string> => withReferrers(image.ociArchive, artifacts, join(image.dir, name));

function target(at: TestRegistry, repository: string): PushTargetClient {
  return {
    client: new RegistryClient({ registry: at.address, repository, insecure: true, actions: ['pull', 'push'] }),
    registry: at.address, repository, name: `${at.address}/${repository}`, tags: ['1.0.0'],
  };
}

/** A registry answer as a client that is not Orbit reads it: plain HTTP. */
async function get(at: TestRegistry, path: string, accept = OCI_INDEX): Promise<{ status: number; body: Buffer; type: string }> {
  const response = await fetch(`http://${at.address}/v2/${path}`, { headers: { accept: `${accept}, ${OCI_MANIFEST}` } });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()), type: response.headers.get('content-type') ?? '' };
}

const listed = (body: Buffer): { digest: string; artifactType?: string; annotations?: Record<string, string> }[] =>
  (JSON.parse(body.toString('utf8')) as { manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[] }).manifests;

beforeAll(async () => {
  image = buildImage({ name: 'team/app', tag: 'v1', layers: [{ files: { 'app/run': '#!/bin/sh\necho hi\n' } }] });
  imageManifest = await imageManifestOf(image.ociArchive);
  const parsed = JSON.parse(imageManifest.toString('utf8')) as { config: { digest: string }; layers: { digest: string; size: number }[] };
  summary = { compression: 'NONE', manifestDigest: sha256(imageManifest), configDigest: parsed.config.digest, layers: parsed.layers.map((layer) => ({ digest: layer.digest, sizeBytes: layer.size })) };
}, 120_000);

afterAll(() => image.cleanup());

describe.each<[RegistryServer, string]>([
  ['docker-registry', 'a registry without the referrers API (docker-registry 2.8): the referrers tag scheme'],
  ['referrers-api', 'a registry with the OCI 1.1 referrers API (go-containerregistry\'s)'],
])('pushing an image with its referrers to %s', (server, how) => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ server });
  }, 300_000);
  afterAll(async () => registry.stop());

  it(`puts the SBOM, its signature and cosign's signature after the image, each discoverable, and a repeat changes nothing (${how})`, async () => {
    const sbom = referrerOf('application/spdx+json', '{"spdxVersion":"SPDX-2.3"}', imageManifest);
    const signature = referrerOf('application/vnd.cncf.notary.signature', 'signed', sbom.manifest);
    const cosign = cosignSignatureOf(imageManifest);
    const file = await archiveWith(`with-referrers-${server}.tar`, [sbom, signature, cosign]);
    const pushable: PushableImage = { ...summary, referrers: [sbom.referrer, signature.referrer, cosign.referrer] };

    const pushed = await pushImage(async () => createReadStream(file), pushable, target(registry, 'orbit/signed'), quietLogger);
    expect(pushed).toMatchObject({ alreadyThere: false, tagged: true, referrers: 3 });
    for (const artifact of [sbom, signature, cosign]) {
      const held = await get(registry, `orbit/signed/manifests/${artifact.referrer.digest}`, OCI_MANIFEST);
      expect(held.status).toBe(200);
      expect(sha256(held.body)).toBe(artifact.referrer.digest);
      for (const blob of artifact.blobs) expect((await fetch(`http://${registry.address}/v2/orbit/signed/blobs/${sha256(blob)}`, { method: 'HEAD' })).status).toBe(200);
    }
    const cosignTag = await get(registry, `orbit/signed/manifests/${cosign.referrer.tag!}`, OCI_MANIFEST);
    expect(sha256(cosignTag.body)).toBe(cosign.referrer.digest);

    // What `oras discover` and `regctl artifact list` read: the API's answer, else the index tagged sha256-<subject hex>.
    const referrersOf = async (subject: Buffer) => {
      const api = await get(registry, `orbit/signed/referrers/${sha256(subject)}`);
      const tagged = await get(registry, `orbit/signed/manifests/${sha256(subject).replace(':', '-')}`);
      return { api, tagged, listing: listed(api.status === 200 ? api.body : tagged.body) };
    };
    // The tag-scheme index is Orbit's, written as the spec says (the manifest's artifactType); an API's listing is the registry's own
    // (go-containerregistry's gives the config's media type instead).
    const typed = (artifactType: string) => (server === 'docker-registry' ? { artifactType } : {});
    const ofImage = await referrersOf(imageManifest);
    expect(ofImage.listing).toEqual([expect.objectContaining({ digest: sbom.referrer.digest, ...typed('application/spdx+json'), annotations: { 'org.opencontainers.image.created': '2026-12-03T09:00:00Z' } })]);
    expect((await referrersOf(sbom.manifest)).listing).toEqual([expect.objectContaining({ digest: signature.referrer.digest, ...typed('application/vnd.cncf.notary.signature') })]);
    // A registry with the API lists them itself: no tag is added to the repository for them.
    expect(ofImage.tagged.status).toBe(server === 'docker-registry' ? 200 : 404);

    const again = await pushImage(async () => createReadStream(file), pushable, target(registry, 'orbit/signed'), quietLogger);
    expect(again).toMatchObject({ alreadyThere: true, blobsSent: 0, referrers: 3 });
    const after = await referrersOf(imageManifest);
    expect(sha256(after.tagged.body)).toBe(sha256(ofImage.tagged.body));
  }, 120_000);

  it(`adds a later referrer of the same image to those listed before, and puts back one that went missing (${how})`, async () => {
    const first = referrerOf('application/spdx+json', 'first sbom', imageManifest);
    const second = referrerOf('application/vnd.cyclonedx+json', 'second sbom', imageManifest);
    const firstFile = await archiveWith(`first-${server}.tar`, [first]);
    const secondFile = await archiveWith(`second-${server}.tar`, [second]);
    expect(await pushImage(async () => createReadStream(firstFile), { ...summary, referrers: [first.referrer] }, target(registry, 'orbit/twice'), quietLogger)).toMatchObject({ referrers: 1 });
    // The same image again, as another version with its own SBOM: the image is there, its new referrer is not.
    const later = await pushImage(async () => createReadStream(secondFile), { ...summary, referrers: [second.referrer] }, target(registry, 'orbit/twice'), quietLogger);
    expect(later).toMatchObject({ alreadyThere: false, referrers: 1 });
    const api = await get(registry, `orbit/twice/referrers/${sha256(imageManifest)}`);
    const tagged = await get(registry, `orbit/twice/manifests/${sha256(imageManifest).replace(':', '-')}`);
    expect(listed(api.status === 200 ? api.body : tagged.body).map((entry) => entry.digest).sort()).toEqual([first.referrer.digest, second.referrer.digest].sort());

    // Someone deleted the first SBOM: a redelivery of its upload puts it back.
    expect((await fetch(`http://${registry.address}/v2/orbit/twice/manifests/${first.referrer.digest}`, { method: 'DELETE' })).status).toBe(202);
    const healed = await pushImage(async () => createReadStream(firstFile), { ...summary, referrers: [first.referrer] }, target(registry, 'orbit/twice'), quietLogger);
    expect(healed).toMatchObject({ alreadyThere: false, blobsSent: 0, referrers: 1 });
    expect((await get(registry, `orbit/twice/manifests/${first.referrer.digest}`, OCI_MANIFEST)).status).toBe(200);
  }, 120_000);
});

it('never moves the sha256-<hex> tag off a manifest that is no referrers index (someone\'s image under that name): the referrer is put but not listed, and counted refused', async () => {
  const registry = await startRegistry();
  try {
    const tag = summary.manifestDigest.replace(':', '-');
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', image.layoutRef, `docker://${registry.address}/orbit/squatted:${tag}`]);
    const sbom = referrerOf('application/spdx+json', 'squatted', imageManifest);
    const file = await archiveWith('squatted.tar', [sbom]);
    const pushed = await pushImage(async () => createReadStream(file), { ...summary, referrers: [sbom.referrer] }, target(registry, 'orbit/squatted'), quietLogger);
    expect(pushed).toMatchObject({ tagged: true, referrers: 0, referrersRefused: 1 });
    expect(sha256((await get(registry, `orbit/squatted/manifests/${tag}`, OCI_MANIFEST)).body)).toBe(summary.manifestDigest);
    expect((await get(registry, `orbit/squatted/manifests/${sbom.referrer.digest}`, OCI_MANIFEST)).status).toBe(200);
  } finally {
    await registry.stop();
  }
}, 120_000);

it('lists its referrer again when another client\'s put of the tag-scheme index, built from what it read before, dropped it (docker-registry 2.8 has no conditional put)', async () => {
  const registry = await startRegistry();
  try {
    const tag = summary.manifestDigest.replace(':', '-');
    const ours = referrerOf('application/spdx+json', 'ours', imageManifest);
    const theirs = referrerOf('application/vnd.cncf.notary.signature', 'theirs', imageManifest);
    const file = await archiveWith('raced.tar', [ours, theirs]);
    // Their signature is in the repository; their index, which they built from the empty tag they read, lands right after ours.
    const theirIndex = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: theirs.referrer.digest, size: theirs.manifest.length }] });
    let raced = false;
    const racing: typeof fetch = async (input, init) => {
      const answer = await fetch(input, init);
      if (!raced && init?.method === 'PUT' && String(input).endsWith(`/manifests/${tag}`)) {
        raced = true;
        expect((await fetch(String(input), { method: 'PUT', headers: { 'content-type': OCI_INDEX }, body: theirIndex })).status).toBe(201);
      }
      return answer;
    };
    await pushImage(async () => createReadStream(file), { ...summary, referrers: [theirs.referrer] }, target(registry, 'orbit/raced'), quietLogger);
    const client = new RegistryClient({ registry: registry.address, repository: 'orbit/raced', insecure: true, actions: ['pull', 'push'], fetch: racing });
    const pushed = await pushImage(async () => createReadStream(file), { ...summary, referrers: [ours.referrer] }, { ...target(registry, 'orbit/raced'), client }, quietLogger);
    expect(raced).toBe(true);
    expect(pushed).toMatchObject({ referrers: 1, referrersRefused: 0 });
    expect(listed((await get(registry, `orbit/raced/manifests/${tag}`)).body).map((entry) => entry.digest).sort()).toEqual([ours.referrer.digest, theirs.referrer.digest].sort());
  } finally {
    await registry.stop();
  }
}, 120_000);

it('pushes the image and its other referrers when the registry refuses one (docker-registry 2.8 takes no OCI 1.1-rc artifact manifest), and says so', async () => {
  const registry = await startRegistry();
  try {
    const sbom = referrerOf('application/spdx+json', 'kept', imageManifest);
    const rc = referrerOf('application/vnd.example.rc+json', 'refused', imageManifest);
    // Written with the draft artifact manifest's media type, which the final spec dropped and the registry does not take.
    const refusedManifest = Buffer.from(rc.manifest.toString('utf8').replace(OCI_MANIFEST, 'application/vnd.oci.artifact.manifest.v1+json'));
    const refused: Artifact = { ...rc, manifest: refusedManifest, referrer: { ...rc.referrer, digest: sha256(refusedManifest), sizeBytes: refusedManifest.length } };
    const file = await archiveWith('one-refused.tar', [refused, sbom]);
    const pushed = await pushImage(async () => createReadStream(file), { ...summary, referrers: [refused.referrer, sbom.referrer] }, target(registry, 'orbit/partly'), quietLogger);
    expect(pushed).toMatchObject({ alreadyThere: false, tagged: true, referrers: 1, referrersRefused: 1 });
    expect((await get(registry, `orbit/partly/manifests/${summary.manifestDigest}`, OCI_MANIFEST)).status).toBe(200);
    expect(listed((await get(registry, `orbit/partly/manifests/${summary.manifestDigest.replace(':', '-')}`)).body).map((entry) => entry.digest)).toEqual([sbom.referrer.digest]);
  } finally {
    await registry.stop();
  }
}, 120_000);

