import { describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { OCI_INDEX_TYPE, sha256Of } from './image-manifest.js';
import { RegistryPush } from './push.js';
import { listReferrers, referrerDescriptorOf } from './referrers.js';

const SUBJECT = `sha256:${'a'.repeat(64)}`;
const TAG = `sha256-${'a'.repeat(64)}`;
const sbom = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/spdx+json',
  config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${'4'.repeat(64)}`, size: 2 }, layers: [],
  subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: SUBJECT, size: 10 }, annotations: { created: 'today' },
}));

/** A registry without the referrers API holding `atTag` (if anything) under the tag-scheme tag, and noting what is put there. */
function registry(atTag?: { body: string; type: string }, referrersStatus = 404): { push: RegistryPush; client: RegistryClient; puts: Buffer[] } {
  const puts: Buffer[] = [];
  const client = new RegistryClient({
    registry: 'registry.test', repository: 'team/app', insecure: false,
    fetch: async (input, init) => {
      const url = String(input);
      if (url.includes('/referrers/')) return new Response('not here', { status: referrersStatus });
      if (url.endsWith(`/manifests/${TAG}`) && init?.method === 'PUT') {
        puts.push(Buffer.from(init.body as Uint8Array));
        return new Response(null, { status: 201 });
      }
      if (url.endsWith(`/manifests/${TAG}`)) return atTag ? new Response(atTag.body, { headers: { 'content-type': atTag.type } }) : new Response(null, { status: 404 });
      return new Response(null, { status: 404 });
    },
  });
  return { push: new RegistryPush(client, 'registry.test'), client, puts };
}

const put = [{ digest: sha256Of(sbom), manifest: async () => sbom }];

describe('listReferrers on a registry without the referrers API', () => {
  it('writes the tag-scheme index with the referrer as the spec describes it: media type, size, artifact type and annotations', async () => {
    const { push, client, puts } = registry();
    expect(await listReferrers(push, client, SUBJECT, put)).toBe('tag-scheme');
    expect(JSON.parse(puts[0]!.toString('utf8'))).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: [referrerDescriptorOf(sbom)] });
    expect(referrerDescriptorOf(sbom)).toEqual({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Of(sbom), size: sbom.length, artifactType: 'application/spdx+json', annotations: { created: 'today' } });
  });

  it('falls back to the tag scheme whatever the referrers path answers but an index (404, 405, or 500 from a registry that routes it nowhere)', async () => {
    for (const status of [404, 405, 500]) {
      const { push, client, puts } = registry(undefined, status);
      expect(await listReferrers(push, client, SUBJECT, put)).toBe('tag-scheme');
      expect(puts).toHaveLength(1);
    }
  });

  it('adds to what another client listed, and puts nothing when the referrer is listed already', async () => {
    const other = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 3, artifactType: 'application/vnd.cncf.notary.signature' };
    const { push, client, puts } = registry({ body: JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: [other] }), type: OCI_INDEX_TYPE });
    await listReferrers(push, client, SUBJECT, put);
    expect((JSON.parse(puts[0]!.toString('utf8')) as { manifests: unknown[] }).manifests).toEqual([other, referrerDescriptorOf(sbom)]);
    const listed = registry({ body: JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: [referrerDescriptorOf(sbom)] }), type: OCI_INDEX_TYPE });
    expect(await listReferrers(listed.push, listed.client, SUBJECT, put)).toBe('tag-scheme-unchanged');
    expect(listed.puts).toEqual([]);
  });

  it('never moves the tag off an image someone tagged so: a manifest, a Docker manifest list, an index of platforms', async () => {
    const images = [
      { body: sbom.toString('utf8'), type: 'application/vnd.oci.image.manifest.v1+json' },
      { body: JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [] }), type: 'application/vnd.docker.distribution.manifest.list.v2+json' },
      { body: JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: [{ digest: SUBJECT, size: 1, mediaType: 'x', platform: { os: 'linux', architecture: 'amd64' } }] }), type: OCI_INDEX_TYPE },
    ];
    for (const atTag of images) {
      const { push, client, puts } = registry(atTag);
      await expect(listReferrers(push, client, SUBJECT, put)).rejects.toThrow(/names a manifest that is no referrers index/);
      expect(puts).toEqual([]);
    }
  });
});
