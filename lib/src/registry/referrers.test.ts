import { describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { OCI_INDEX_TYPE, sha256Of } from './image-manifest.js';
import { RegistryPush } from './push.js';
import { listReferrers, MAX_REFERRERS_PAGES, referrerDescriptorOf, referrersListedAt } from './referrers.js';

const SUBJECT = `sha256:${'a'.repeat(64)}`;
const TAG = `sha256-${'a'.repeat(64)}`;
const sbom = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/spdx+json',
  config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${'4'.repeat(64)}`, size: 2 }, layers: [],
  subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: SUBJECT, size: 10 }, annotations: { created: 'today' },
}));

/**
 * A registry without the referrers API holding `atTag` (if anything) under
 * the tag-scheme tag, noting what is put there; `afterPut` may change what the
 * tag holds right after a put, as a concurrent writer would.
 */
function registry(atTag?: { body: string; type: string }, referrersStatus = 404, afterPut?: (put: number) => string | undefined): { push: RegistryPush; client: RegistryClient; puts: Buffer[]; held: () => unknown } {
  const puts: Buffer[] = [];
  let held = atTag;
  const client = new RegistryClient({
    registry: 'registry.test', repository: 'team/app', insecure: false,
    fetch: async (input, init) => {
      const url = String(input);
      if (url.includes('/referrers/')) return new Response('not here', { status: referrersStatus });
      if (url.endsWith(`/manifests/${TAG}`) && init?.method === 'PUT') {
        const body = Buffer.from(init.body as Uint8Array);
        puts.push(body);
        held = { body: afterPut?.(puts.length) ?? body.toString('utf8'), type: OCI_INDEX_TYPE };
        return new Response(null, { status: 201 });
      }
      if (url.endsWith(`/manifests/${TAG}`)) return held ? new Response(held.body, { headers: { 'content-type': held.type } }) : new Response(null, { status: 404 });
      return new Response(null, { status: 404 });
    },
  });
  return { push: new RegistryPush(client, 'registry.test'), client, puts, held: () => (held ? JSON.parse(held.body) as unknown : undefined) };
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

  it('tries again, never falling back to the tag scheme, when the referrers path answers busy or away (429, 502-504): a transfer read no signature there and carried none', async () => {
    for (const status of [429, 502, 503, 504]) {
      const { push, client, puts } = registry(undefined, status);
      await expect(listReferrers(push, client, SUBJECT, put), String(status)).rejects.toMatchObject({ retriable: true });
      expect(puts).toHaveLength(0);
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

  it('adds its referrer again when a concurrent writer\'s put, made from what it read before, dropped it; and gives up saying so if that never ends', async () => {
    const other = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 3, artifactType: 'application/vnd.cncf.notary.signature' };
    const theirs = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: [other] });
    // Right after our first put, the other writer puts the index it built from the empty tag it read: ours is gone.
    const raced = registry(undefined, 404, (count) => (count === 1 ? theirs : undefined));
    expect(await listReferrers(raced.push, raced.client, SUBJECT, put)).toBe('tag-scheme');
    expect(raced.puts).toHaveLength(2);
    expect(raced.held()).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: [other, referrerDescriptorOf(sbom)] });
    const losing = registry(undefined, 404, () => theirs);
    await expect(listReferrers(losing.push, losing.client, SUBJECT, put)).rejects.toThrow(/rewritten by other writers 4 times in a row/);
    expect(losing.puts).toHaveLength(4);
  });
});

/**
 * A registry whose referrers API answers `pages[n]` at page n, each page
 * after the first asked for as `?page=n`, and linking the next as `link`
 * says; it notes every URL asked.
 */
function pagingRegistry(pages: readonly (readonly string[])[], link: (next: number) => string | undefined): { push: RegistryPush; client: RegistryClient; asked: string[] } {
  const asked: string[] = [];
  const client = new RegistryClient({
    registry: 'registry.test', repository: 'team/app', insecure: false,
    fetch: async (input) => {
      const url = new URL(String(input));
      asked.push(url.href);
      if (!url.pathname.endsWith(`/referrers/${SUBJECT}`) || url.origin !== 'https://registry.test') return new Response(null, { status: 404 });
      const page = Number(url.searchParams.get('page') ?? 0);
      const manifests = (pages[page] ?? []).map((digest) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 10 }));
      const next = link(page + 1);
      return new Response(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests }), {
        headers: { 'content-type': OCI_INDEX_TYPE, ...(next === undefined ? {} : { link: next }) },
      });
    },
  });
  return { push: new RegistryPush(client, 'registry.test'), client, asked };
}

const digestOf = (character: string): string => `sha256:${character.repeat(64)}`;

describe('referrersListedAt on a registry whose referrers API answers in pages', () => {
  it('sees the referrers of every page, following Link rel="next" (a path, or a URL of the registry)', async () => {
    const pages = [[digestOf('1')], [digestOf('2')], [digestOf('3')]];
    const links = [
      (next: number) => (next < pages.length ? `</v2/team/app/referrers/${SUBJECT}?page=${next}>; rel="next"` : undefined),
      (next: number) => (next < pages.length ? `<https://registry.test/v2/team/app/referrers/${SUBJECT}?page=${next}>; rel=next, <https://registry.test/v2/team/app/referrers/${SUBJECT}>; rel="first"` : undefined),
      // Relative to the page answered, as RFC 8288 reads it.
      (next: number) => (next < pages.length ? `<?page=${next}>; rel="next"` : undefined),
    ];
    for (const link of links) {
      const { push, client } = pagingRegistry(pages, link);
      expect(await referrersListedAt(push, client, SUBJECT)).toEqual(new Set([digestOf('1'), digestOf('2'), digestOf('3')]));
    }
  });

  it('follows no link away from the registry, and stops after MAX_REFERRERS_PAGES pages of a registry that links for ever', async () => {
    const away = pagingRegistry([[digestOf('1')], [digestOf('2')]], () => `<https://elsewhere.test/v2/team/app/referrers/${SUBJECT}?page=1>; rel="next"`);
    expect(await referrersListedAt(away.push, away.client, SUBJECT)).toEqual(new Set([digestOf('1')]));
    expect(away.asked.filter((url) => url.includes('elsewhere'))).toEqual([]);
    const endless = pagingRegistry([[digestOf('1')]], (next) => `</v2/team/app/referrers/${SUBJECT}?page=${next}>; rel="next"`);
    await referrersListedAt(endless.push, endless.client, SUBJECT);
    expect(endless.asked).toHaveLength(MAX_REFERRERS_PAGES);
  });
});
