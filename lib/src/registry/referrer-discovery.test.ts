import { describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { OCI_INDEX_TYPE, OCI_MANIFEST_TYPE, sha256Of } from './image-manifest.js';
import { PushRefusedError } from './push.js';
import { registryReferrerSource } from './referrer-copy.js';
import { DEFAULT_REFERRER_COPY_LIMITS, discoverReferrers, parseReferrerManifest, type ReferrerSource } from './referrer-discovery.js';
import type { ReferrerDescriptor } from './referrers.js';

const IMAGE = `sha256:${'a'.repeat(64)}`;
const PLATFORM = `sha256:${'b'.repeat(64)}`;
const EMPTY = { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256Of('{}'), size: 2 };

/** A referrer as oras attach writes it: the empty config, one layer, `subject` naming what it is about. */
function artifact(artifactType: string, content: string, subject?: string): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST_TYPE, artifactType, config: EMPTY,
    layers: [{ mediaType: artifactType, digest: sha256Of(content), size: content.length }],
    ...(subject === undefined ? {} : { subject: { mediaType: OCI_MANIFEST_TYPE, digest: subject, size: 100 } }),
  }));
}

/** A registry in memory: manifests by digest and tag, and what it lists as referrers of each subject. */
class MemorySource implements ReferrerSource {
  readonly manifests = new Map<string, Buffer>();
  readonly listings = new Map<string, ReferrerDescriptor[]>();
  readonly asked: string[] = [];

  /** Holds `bytes`, listed as a referrer of `subject` unless `unlisted`. */
  attach(bytes: Buffer, subject: string, unlisted = false): string {
    const digest = sha256Of(bytes);
    this.manifests.set(digest, bytes);
    if (!unlisted) this.listings.set(subject, [...this.listings.get(subject) ?? [], { mediaType: OCI_MANIFEST_TYPE, digest, size: bytes.length }]);
    return digest;
  }

  async listed(subject: string): Promise<readonly ReferrerDescriptor[]> {
    this.asked.push(`list ${subject}`);
    return this.listings.get(subject) ?? [];
  }

  async manifest(reference: string): Promise<Buffer | undefined> {
    return this.manifests.get(reference);
  }
}

describe('discovering the referrers to carry', () => {
  it('finds a signature of the SBOM below the SBOM of the image, each after its subject, and cosign\'s tag besides', async () => {
    const source = new MemorySource();
    const sbom = source.attach(artifact('application/spdx+json', 'sbom', IMAGE), IMAGE);
    const signature = source.attach(artifact('application/vnd.cncf.notary.signature', 'sig', sbom), sbom);
    const cosign = artifact('application/vnd.oci.image.config.v1+json', 'cosign');
    source.manifests.set(`${IMAGE.replace(':', '-')}.sig`, cosign);

    const found = await discoverReferrers(source, [IMAGE]);
    expect(found.referrers.map((referrer) => [referrer.digest, referrer.subject, referrer.tag])).toEqual([
      [sha256Of(cosign), IMAGE, `${IMAGE.replace(':', '-')}.sig`], [sbom, IMAGE, null], [signature, sbom, null],
    ]);
    expect(found.referrers[1]?.blobs).toEqual([{ digest: EMPTY.digest, size: 2 }, { digest: sha256Of('sbom'), size: 4 }]);
    expect(found.stale).toEqual([]);
  });

  it('looks at the index and every platform of a multi-platform image, and takes a referrer listed twice (two subjects, two pages) once', async () => {
    const source = new MemorySource();
    const ofPlatform = source.attach(artifact('application/spdx+json', 'arm sbom', PLATFORM), PLATFORM);
    const ofIndex = source.attach(artifact('application/vnd.cncf.notary.signature', 'index sig', IMAGE), IMAGE);
    source.listings.set(IMAGE, [...source.listings.get(IMAGE)!, ...source.listings.get(IMAGE)!]);
    const found = await discoverReferrers(source, [IMAGE, PLATFORM]);
    expect(found.referrers.map((referrer) => referrer.digest)).toEqual([ofIndex, ofPlatform]);
    expect(source.asked).toContain(`list ${PLATFORM}`);
  });

  it('skips what a stale tag-scheme index lists: a manifest gone from the registry, or one about another subject', async () => {
    const source = new MemorySource();
    const elsewhere = source.attach(artifact('application/spdx+json', 'other image', PLATFORM), PLATFORM);
    const gone = `sha256:${'c'.repeat(64)}`;
    source.listings.set(IMAGE, [{ mediaType: OCI_MANIFEST_TYPE, digest: elsewhere, size: 1 }, { mediaType: OCI_MANIFEST_TYPE, digest: gone, size: 1 }]);
    const found = await discoverReferrers(source, [IMAGE]);
    expect(found).toEqual({ referrers: [], stale: [elsewhere, gone] });
  });

  it('refuses rather than leave out what is past its limits: too deep, too many, too large', async () => {
    const source = new MemorySource();
    let subject = IMAGE;
    for (let depth = 1; depth <= 3; depth += 1) subject = source.attach(artifact('application/vnd.example', `level ${depth}`, subject), subject);
    await expect(discoverReferrers(source, [IMAGE], { count: 10, depth: 3, bytes: 1000, manifestBytes: 10_000 })).resolves.toMatchObject({ referrers: [{}, {}, {}] });
    await expect(discoverReferrers(source, [IMAGE], { count: 10, depth: 2, bytes: 1000, manifestBytes: 10_000 })).rejects.toThrow(/deeper than 2 referrers of referrers/);
    await expect(discoverReferrers(source, [IMAGE], { count: 2, depth: 5, bytes: 1000, manifestBytes: 10_000 })).rejects.toThrow(/more than 2 referrer manifests/);
    await expect(discoverReferrers(source, [IMAGE], { count: 10, depth: 5, bytes: 10, manifestBytes: 10_000 })).rejects.toThrow(PushRefusedError);
  });

  it('refuses referrers whose manifests add up past manifestBytes, as they are all held in memory until the copy ends (found by a review: 128 of 4 MiB passed, 0.5 GiB per transfer)', async () => {
    const source = new MemorySource();
    const large = (n: number) => Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST_TYPE, artifactType: 'application/vnd.example', config: EMPTY, layers: [],
      subject: { mediaType: OCI_MANIFEST_TYPE, digest: IMAGE, size: 100 }, annotations: { pad: 'x'.repeat(1000), n: String(n) },
    }));
    for (let n = 0; n < 3; n += 1) source.attach(large(n), IMAGE);
    await expect(discoverReferrers(source, [IMAGE], { count: 10, depth: 2, bytes: 1000, manifestBytes: 5000 })).resolves.toMatchObject({ referrers: [{}, {}, {}] });
    await expect(discoverReferrers(source, [IMAGE], { count: 10, depth: 2, bytes: 1000, manifestBytes: 3000 })).rejects.toThrow(/referrer manifests add up to more than 3000 bytes/);
    expect(DEFAULT_REFERRER_COPY_LIMITS.manifestBytes).toBe(64 * 1024 * 1024);
  });

  it('refuses a referrer index listing more manifests than the copy takes before reading them, so they are never all held', async () => {
    const source = new MemorySource();
    const children = Array.from({ length: 5 }, (_, n) => artifact('application/vnd.in-toto+json', `statement ${n}`));
    for (const child of children) source.manifests.set(sha256Of(child), child);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: children.map((child) => ({ mediaType: OCI_MANIFEST_TYPE, digest: sha256Of(child), size: child.length })),
      subject: { mediaType: OCI_MANIFEST_TYPE, digest: IMAGE, size: 100 },
    }));
    source.attach(index, IMAGE);
    const read: string[] = [];
    const counting: ReferrerSource = { listed: async (subject) => source.listed(subject), manifest: async (reference) => { read.push(reference); return source.manifest(reference); } };
    await expect(discoverReferrers(counting, [IMAGE], { count: 3, depth: 2, bytes: 10_000, manifestBytes: 100_000 })).rejects.toThrow(/lists 5 manifests, past the 3/);
    expect(read.filter((reference) => children.some((child) => sha256Of(child) === reference))).toEqual([]);
  });

  it('refuses a manifest served with other bytes than its digest names, since its copy would not be the referrer', async () => {
    const source = new MemorySource();
    const digest = source.attach(artifact('application/spdx+json', 'sbom', IMAGE), IMAGE);
    source.manifests.set(digest, artifact('application/spdx+json', 'tampered', IMAGE));
    await expect(discoverReferrers(source, [IMAGE])).rejects.toThrow(/with other bytes/);
  });

  it('takes a referrer index with the manifests it lists, which are put before it', async () => {
    const source = new MemorySource();
    const child = artifact('application/vnd.in-toto+json', 'statement');
    source.manifests.set(sha256Of(child), child);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_INDEX_TYPE, artifactType: 'application/vnd.example.bundle', manifests: [{ mediaType: OCI_MANIFEST_TYPE, digest: sha256Of(child), size: child.length }],
      subject: { mediaType: OCI_MANIFEST_TYPE, digest: IMAGE, size: 100 },
    }));
    source.attach(index, IMAGE);
    const [found] = (await discoverReferrers(source, [IMAGE])).referrers;
    expect(found?.children.map((entry) => entry.digest)).toEqual([sha256Of(child)]);
  });

  it('refuses what it cannot copy as it is: no manifest, descriptors without a digest', () => {
    expect(() => parseReferrerManifest(Buffer.from('{"schemaVersion":1,"fsLayers":[]}'), IMAGE)).toThrow(/neither an image manifest nor an index/);
    expect(() => parseReferrerManifest(Buffer.from(JSON.stringify({ config: { digest: '../../x', size: 1 }, layers: [] })), IMAGE)).toThrow(/valid digest/);
  });
});

describe('reading the referrers at a registry', () => {
  const signature = artifact('application/vnd.cncf.notary.signature', 'sig', IMAGE);
  const sbom = artifact('application/spdx+json', 'sbom', IMAGE);
  const entry = (bytes: Buffer) => ({ mediaType: OCI_MANIFEST_TYPE, digest: sha256Of(bytes), size: bytes.length });
  const manifests = new Map([[sha256Of(signature), signature], [sha256Of(sbom), sbom]]);
  const index = (...entries: Buffer[]) => JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: entries.map(entry) });

  function registry(referrers: (url: URL) => Response): RegistryClient {
    return new RegistryClient({
      registry: 'registry.test', repository: 'team/app', insecure: false,
      fetch: async (url) => {
        if (url.pathname.includes('/referrers/')) return referrers(url);
        const reference = url.pathname.split('/manifests/')[1] ?? '';
        if (reference === IMAGE.replace(':', '-')) return new Response(index(sbom), { headers: { 'content-type': OCI_INDEX_TYPE } });
        const bytes = manifests.get(reference);
        return bytes ? new Response(bytes, { headers: { 'content-type': OCI_MANIFEST_TYPE } }) : new Response('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', { status: 404 });
      },
    });
  }

  it('follows the referrers API\'s Link pages', async () => {
    const client = registry((url) => (url.searchParams.has('next')
      ? new Response(index(sbom), { headers: { 'content-type': OCI_INDEX_TYPE } })
      : new Response(index(signature), { headers: { 'content-type': OCI_INDEX_TYPE, link: `<${url.pathname}?next=1>; rel="next"` } })));
    const found = await discoverReferrers(registryReferrerSource(client, 'registry.test'), [IMAGE]);
    expect(found.referrers.map((referrer) => referrer.digest)).toEqual([sha256Of(signature), sha256Of(sbom)]);
  });

  it('reads the tag-scheme index when the API answers 404', async () => {
    const client = registry(() => new Response('404 page not found', { status: 404 }));
    const found = await discoverReferrers(registryReferrerSource(client, 'registry.test'), [IMAGE]);
    expect(found.referrers.map((referrer) => referrer.digest)).toEqual([sha256Of(sbom)]);
  });
});
