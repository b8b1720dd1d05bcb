import { describe, expect, it } from 'vitest';
import { quietLogger, uniqueSuffix } from '../../../test/helpers/index.js';
import { RegistryClient } from './client.js';
import { OCI_MANIFEST_TYPE, sha256Of } from './image-manifest.js';
import { PushRefusedError } from './push.js';
import { copyReferrers, registryReferrerSource, type ReferrerCopyEnd } from './referrer-copy.js';
import { discoverReferrers } from './referrer-discovery.js';

/** The local stack's registry (docker-registry 2.8): source and target are two repositories of it. */
const REGISTRY = (process.env['ORBIT_IMAGE_REGISTRY'] ?? '127.0.0.1:5050/orbit').split('/')[0]!;
const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';

function endOf(repository: string): ReferrerCopyEnd {
  const client = new RegistryClient({ registry: REGISTRY, repository, actions: ['pull', 'push'], insecure: true });
  return { client, registry: REGISTRY, repository, name: `${REGISTRY}/${repository}` };
}

async function putBlob(repository: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256Of(bytes);
  const started = await fetch(`http://${REGISTRY}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  const session = new URL(started.headers.get('location') ?? '', `http://${REGISTRY}`);
  session.searchParams.set('digest', digest);
  const put = await fetch(session, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  expect(put.status).toBe(201);
  return { digest, size: bytes.length };
}

async function putManifest(repository: string, reference: string, document: object): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(document));
  const put = await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${reference}`, { method: 'PUT', body: bytes, headers: { 'content-type': OCI_MANIFEST_TYPE } });
  expect(put.status).toBe(201);
  return sha256Of(bytes);
}

const tagged = async (repository: string, tag: string): Promise<string | null> =>
  (await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${tag}`, { method: 'HEAD', headers: { accept: OCI_MANIFEST_TYPE } })).headers.get('docker-content-digest');

/** An image in both repositories (the transfer pushed it), signed with cosign at the source; `sign` adds signatures as cosign does. */
async function signedImage() {
  const run = uniqueSuffix();
  const source = `referrer-copy-src-${run}/app`;
  const target = `referrer-copy-dst-${run}/app`;
  const image = { schemaVersion: 2, mediaType: OCI_MANIFEST_TYPE, config: { mediaType: CONFIG_TYPE, ...await putBlob(source, Buffer.from('{}')) }, layers: [] };
  const digest = await putManifest(source, 'v1', image);
  await putBlob(target, Buffer.from('{}'));
  await putManifest(target, 'v1', image);
  const tag = `${digest.replace(':', '-')}.sig`;
  const payload = await putBlob(source, Buffer.from(JSON.stringify({ critical: { image: { 'docker-manifest-digest': digest } } })));
  /** cosign sign: the tag moves to a manifest with every signature so far, in `repository`. */
  const sign = async (repository: string, ...who: string[]): Promise<string> => {
    if (repository !== source) await putBlob(repository, Buffer.from(JSON.stringify({ critical: { image: { 'docker-manifest-digest': digest } } })));
    const config = await putBlob(repository, Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: who.map(() => payload.digest) } })));
    return putManifest(repository, tag, {
      schemaVersion: 2, mediaType: OCI_MANIFEST_TYPE, config: { mediaType: CONFIG_TYPE, ...config },
      layers: who.map((name) => ({ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...payload, annotations: { 'dev.cosignproject.cosign/signature': `signed by ${name}` } })),
    });
  };
  const from = endOf(source);
  const to = endOf(target);
  const carry = async () => copyReferrers((await discoverReferrers(registryReferrerSource(from.client, REGISTRY), [digest])).referrers, from, to, quietLogger);
  return { source, target, tag, sign, carry };
}

describe('carrying a cosign signature again after another was added at the source (found by a review: the target kept the first, and the carry said it succeeded)', () => {
  it('moves the target\'s .sig tag to the source\'s manifest, which holds the signature the target had and the new one', async () => {
    const { source, target, tag, sign, carry } = await signedImage();
    const first = await sign(source, 'A');
    expect(await carry()).toMatchObject({ copied: 1, tagsHeldByOthers: 0 });
    expect(await tagged(target, tag)).toBe(first);

    const both = await sign(source, 'A', 'B');
    const again = await carry();
    // What `cosign verify` in the target reads: the tag, which must name the manifest with both signatures.
    expect(await tagged(target, tag)).toBe(both);
    expect(again).toMatchObject({ copied: 1, tagsMoved: 1, tagsHeldByOthers: 0 });
    expect(await carry()).toMatchObject({ copied: 0, alreadyThere: 1, tagsMoved: 0, tagsHeldByOthers: 0 });
  }, 60_000);

  it('leaves a target signed there besides (its manifest holds the source\'s signatures and more) as it is', async () => {
    const { source, target, tag, sign, carry } = await signedImage();
    await sign(source, 'A');
    const more = await sign(target, 'A', 'C');
    expect(await carry()).toMatchObject({ copied: 1, tagsMoved: 0, tagsHeldByOthers: 1 });
    expect(await tagged(target, tag)).toBe(more);
  }, 60_000);

  it('refuses the transfer, naming the tag and both manifests, when the target was signed otherwise: either way a signature would be lost', async () => {
    const { source, target, tag, sign, carry } = await signedImage();
    const atSource = await sign(source, 'A', 'B');
    const atTarget = await sign(target, 'A', 'C');
    const refused = carry();
    await expect(refused).rejects.toThrow(PushRefusedError);
    await expect(refused).rejects.toThrow(`${REGISTRY}/${target}:${tag} names ${atTarget}, which holds what the source's ${atSource} lacks`);
    expect(await tagged(target, tag)).toBe(atTarget);
  }, 60_000);
});
