import { OCI_INDEX_TYPE, RegistryClient, RegistryPush, sha256Of } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../../test/helpers/index.js';
import { placeReferrers, referrersInPlace, type PushableReferrer } from './place-referrers.js';
import type { PushTargetClient } from './push-image.js';

const subject = `sha256:${'a'.repeat(64)}`;
const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/spdx+json', subject: { digest: subject } }));
const referrer: PushableReferrer = { digest: sha256Of(manifest), subject, tag: null, blobs: [] };

/** A registry that holds nothing and answers every manifest PUT with `status`. */
function failingOnPuts(status: number): { target: PushTargetClient; push: RegistryPush; puts: string[] } {
  const puts: string[] = [];
  const client = new RegistryClient({
    registry: 'registry.test', repository: 'team/app', insecure: false,
    fetch: async (input, init) => {
      if (init?.method === 'PUT') {
        puts.push(String(input));
        return new Response('{"errors":[{"code":"UNKNOWN","message":"boom"}]}', { status });
      }
      return new Response(null, { status: 404 });
    },
  });
  return { target: { client, registry: 'registry.test', repository: 'team/app', name: 'registry.test/team/app', tags: [] }, push: new RegistryPush(client, 'registry.test'), puts };
}

describe('placeReferrers', () => {
  it('goes on without a referrer the registry refuses or fails on (a 500 for a manifest type it does not take would otherwise retry the upload for ever), counting it', async () => {
    for (const status of [400, 500, 503]) {
      const { target, push, puts } = failingOnPuts(status);
      expect(await placeReferrers(push, target, [referrer], async () => manifest, quietLogger)).toEqual({ listed: 0, refused: 1 });
      expect(puts).toEqual([`https://registry.test/v2/team/app/manifests/${referrer.digest}`]);
    }
  });
});

describe('referrersInPlace', () => {
  const signature = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.cncf.notary.signature', subject: { digest: subject } }));
  const second: PushableReferrer = { digest: sha256Of(signature), subject, tag: null, blobs: [] };

  /** A registry holding both referrers, whose referrers API lists one per page, the first page linking the second. */
  function pagedListing(): PushTargetClient {
    const client = new RegistryClient({
      registry: 'registry.test', repository: 'team/app', insecure: false,
      fetch: async (input) => {
        const url = new URL(String(input));
        if (url.pathname.includes('/manifests/')) return new Response(null, { status: 200, headers: { 'docker-content-digest': url.pathname.split('/').pop() ?? '' } });
        if (!url.pathname.endsWith(`/referrers/${subject}`)) return new Response(null, { status: 404 });
        const onSecondPage = url.searchParams.get('last') !== null;
        const listed = onSecondPage ? second : referrer;
        return new Response(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: listed.digest, size: 1 }] }), {
          headers: { 'content-type': OCI_INDEX_TYPE, ...(onSecondPage ? {} : { link: `</v2/team/app/referrers/${subject}?n=1&last=${referrer.digest}>; rel="next"` }) },
        });
      },
    });
    return { client, registry: 'registry.test', repository: 'team/app', name: 'registry.test/team/app', tags: [] };
  }

  it('sees a referrer the registry lists on a later page of its referrers API as in place (else images:push would push it again for ever)', async () => {
    expect(await referrersInPlace(pagedListing(), [referrer, second])).toBe(true);
  });
});
