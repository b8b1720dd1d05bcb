import { OCI_INDEX_TYPE, RegistryClient, sha256Of } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REFERRER_LIMITS, pullReferrers, withoutSource } from './referrers.js';

const IMAGE = `sha256:${'a'.repeat(64)}`;
const EMPTY = { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256Of('{}'), size: 2 };

/** An artifact about the image, `oras attach` style: an empty config, one layer of `content`. */
function artifact(artifactType: string, content: string): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType, config: EMPTY,
    layers: [{ mediaType: 'application/octet-stream', digest: sha256Of(content), size: content.length }],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: IMAGE, size: 100 },
  }));
}

/** A registry listing `documents` as referrers of IMAGE, serving them and every blob. */
function listing(documents: readonly Buffer[]): RegistryClient {
  const manifests = new Map(documents.map((bytes) => [sha256Of(bytes), bytes]));
  const listed = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: documents.map((bytes) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Of(bytes), size: bytes.length })) });
  return new RegistryClient({
    registry: 'registry.test', repository: 'team/app', insecure: false,
    fetch: async (input) => {
      const path = new URL(String(input)).pathname;
      if (path.endsWith(`/referrers/${IMAGE}`)) return new Response(listed, { headers: { 'content-type': OCI_INDEX_TYPE } });
      const held = manifests.get(path.split('/').pop() ?? '');
      if (path.includes('/manifests/') && held) return new Response(held);
      return new Response(null, { status: path.includes('/blobs/') ? 200 : 404 });
    },
  });
}

describe('pullReferrers within what the validator keeps in memory', () => {
  it('leaves at the registry the referrers whose manifests would take the archive past the JSON its validator keeps, and says so', async () => {
    const documents = ['a', 'b', 'c'].map((name) => artifact(`application/vnd.example.${name}`, name));
    const { referrers, note } = await pullReferrers(listing(documents), [IMAGE], { ...DEFAULT_REFERRER_LIMITS, documentBytes: (documents[0]!.length + 2) * 2 });
    expect(referrers).toHaveLength(2);
    expect(note).toMatch(/^1 more referrer listed at the registry was left there \(.*MiB of manifests/);
  });
});

describe('pullReferrers from a registry whose referrers API answers in pages', () => {
  it('fetches the referrers listed on every page, following Link rel="next"', async () => {
    const sbom = artifact('application/spdx+json', '{"spdxVersion":"SPDX-2.3"}');
    const signature = artifact('application/vnd.cncf.notary.signature', 'signed');
    const manifests = new Map([[sha256Of(sbom), sbom], [sha256Of(signature), signature]]);
    const listingOf = (bytes: Buffer) => JSON.stringify({
      schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Of(bytes), size: bytes.length }],
    });
    const client = new RegistryClient({
      registry: 'registry.test', repository: 'team/app', insecure: false,
      fetch: async (input) => {
        const url = new URL(String(input));
        const last = url.pathname.split('/').pop() ?? '';
        if (url.pathname.endsWith(`/referrers/${IMAGE}`)) {
          // One referrer a page, as a registry listing few per answer does.
          if (url.searchParams.get('last') === null) {
            return new Response(listingOf(sbom), { headers: { 'content-type': OCI_INDEX_TYPE, link: `</v2/team/app/referrers/${IMAGE}?n=1&last=${sha256Of(sbom)}>; rel="next"` } });
          }
          return new Response(listingOf(signature), { headers: { 'content-type': OCI_INDEX_TYPE } });
        }
        const held = manifests.get(last);
        if (url.pathname.includes('/manifests/') && held) return new Response(held, { headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
        if (url.pathname.includes('/blobs/')) return new Response(null, { status: 200 });
        return new Response(null, { status: 404 });
      },
    });
    const { referrers, note } = await pullReferrers(client, [IMAGE]);
    expect(referrers.map((referrer) => referrer.artifactType)).toEqual(['application/spdx+json', 'application/vnd.cncf.notary.signature']);
    expect(note).toBeUndefined();
  });
});

describe('withoutSource', () => {
  it('takes the registry and repository out of a registry error quoted in a note (role holders read notes; the reference is its owner\'s)', () => {
    const client = { repositoryName: 'registry.test:5000/team/app' };
    expect(withoutSource(client, 'registry.test:5000/team/app:sha256-1.sig answered 500 from registry.test:5000'))
      .toBe('the repository:sha256-1.sig answered 500 from the registry');
  });
});
