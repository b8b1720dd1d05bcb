import { RegistryClient, RegistryPush, sha256Of } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../../test/helpers/index.js';
import { placeReferrers, type PushableReferrer } from './place-referrers.js';
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
