import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3, retryPolicy, type ResolveHost } from '@orbit/lib';
import { sampleEvents, type UploadRequested } from '@orbit/schemas';
import { testConfig } from '../../../test/helpers/index.js';
import { pullIntoStaging, type PullIntoStagingResult } from './pull-into-staging.js';
import { pullGuards, type ListedRegistries } from './redirect-policy.js';
import { stageReference } from './stage-reference.js';

/**
 * A registry of the user's whose token realm, or redirect, names a service
 * of Orbit's own network (found by a review: MinIO's, the schema registry's
 * and the gateway's answers were quoted in the upload's error). Here the
 * service is a server on this host answering a secret; the registry is a
 * tiny hostile one on this host too, named `localhost:<port>`.
 */
const SECRET = 'viewport-secret-bucket: 42 objects';
let service: Server;
let servicePort = 0;
let serviceRequests = 0;
let registry: Server;
let registryPort = 0;
let closedPort = 0;

const listen = async (server: Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

beforeAll(async () => {
  service = createServer((_request, response) => {
    serviceRequests += 1;
    response.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'DENIED', message: SECRET }] }));
  });
  servicePort = await listen(service);
  const closed = createServer();
  closedPort = await listen(closed);
  await new Promise((resolve) => closed.close(resolve));
  // /v2/<how>/app/…: `realm` names the service as its token service, `rebind` by a name, `redirect` sends the manifest there, `closed` a port nothing listens on.
  registry = createServer((request, response) => {
    const how = /^\/v2\/([a-z]+)\//.exec(request.url ?? '')?.[1];
    if (how === 'redirect') return void response.writeHead(307, { location: `http://127.0.0.1:${servicePort}/viewport-secret-bucket/` }).end();
    const realm = how === 'rebind' ? `http://localhost:${servicePort}/token` : `http://127.0.0.1:${how === 'closed' ? closedPort : servicePort}/token`;
    response.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="hostile"` }).end();
  });
  registryPort = await listen(registry);
});

afterAll(async () => {
  for (const server of [service, registry]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/**
 * The validator's own pull of `localhost:<port>/<how>/app:v1` (stageReference
 * under pullIntoStaging, checked by pullGuards as main.ts wires them), with
 * `resolveHost` telling the policy where `localhost` is: a public address
 * stands for a registry on the internet (its connections still reach this
 * host, which is what a name that rebinds does), 127.0.0.1 for an in-house one.
 */
async function pulled(how: string, resolveHost: ResolveHost, listed?: ListedRegistries): Promise<PullIntoStagingResult> {
  const reference = `localhost:${registryPort}/${how}/app:v1`;
  const event: UploadRequested = { ...sampleEvents('M'.repeat(60), `req-hostile-${how}`)['orbit.upload.requested'], staging: null, source: 'REFERENCE', reference };
  // The registry itself is listed: its connections reach this host, which a registry found on the internet may not
  // do unlisted (a name that rebinds); what the policy judges here is where the registry sends Orbit.
  const withRegistry: ListedRegistries = { allowed: listed?.allowed ?? [], insecure: new Set([...(listed?.insecure ?? []), `localhost:${registryPort}`]) };
  const guards = pullGuards({ own: ['127.0.0.1:5050/orbit'], resolveHost, interfaceAddresses: new Set(), listed: withRegistry });
  const access = { insecure: new Set<string>(), credentials: new Map() };
  const pull = () => stageReference(event, { s3: createS3(testConfig), stagingBucket: testConfig.ORBIT_BUCKET_STAGING, access, maxBytes: 1 << 20, ...guards });
  return pullIntoStaging(reference, pull, { registryPatience: { patienceMs: 1_000, policy: retryPolicy({ initialDelayMs: 100, maxDelayMs: 200 }) } });
}
const onTheInternet: ResolveHost = async (host) => (host === 'localhost' ? ['203.0.113.10'] : []);
const inHouse: ResolveHost = async (host) => (host === 'localhost' ? ['127.0.0.1'] : []);

describe('a registry that names a service inside Orbit\'s network (SSRF with read-back, found by a review)', () => {
  it('is refused before the service is asked when the registry is on the internet: by the realm\'s address, by the address a name reached, and for a redirect', async () => {
    const before = serviceRequests;
    const refusals = { realm: /^the registry sent Orbit to 127\.0\.0\.1:\d+, which is on a private network/, rebind: /^a connection for the pull to localhost:\d+ reached an address on a private network/, redirect: /^the registry sent Orbit to 127\.0\.0\.1:\d+/ };
    for (const [how, refusal] of Object.entries(refusals)) {
      const result = await pulled(how, onTheInternet);
      expect(result, how).toMatchObject({ kind: 'refused', reasonCode: 'REGISTRY_NOT_ALLOWED', message: expect.stringMatching(refusal) as unknown });
      expect(JSON.stringify(result), how).not.toContain('viewport-secret-bucket');
    }
    expect(serviceRequests).toBe(before);
  });

  it('asks a service the operator listed, and says its refusal by status and error code alone, never its words', async () => {
    const before = serviceRequests;
    const result = await pulled('realm', onTheInternet, { allowed: [], insecure: new Set([`127.0.0.1:${servicePort}`]) });
    expect(serviceRequests).toBe(before + 1);
    expect(result).toMatchObject({ kind: 'refused', reasonCode: 'REGISTRY_UNAUTHORIZED', message: expect.stringContaining(`the token service the registry named (127.0.0.1:${servicePort}) refused the token request (403: DENIED)`) as unknown });
    expect(JSON.stringify(result)).not.toContain('viewport-secret-bucket');
  });

  it('lets an in-house registry (the local stack\'s, on 127.0.0.1) use its token service on this host, still without quoting another host\'s words', async () => {
    const result = await pulled('realm', inHouse);
    expect(result).toMatchObject({ kind: 'refused', reasonCode: 'REGISTRY_UNAUTHORIZED', message: expect.stringContaining('refused the token request (403: DENIED)') as unknown });
    expect(JSON.stringify(result)).not.toContain('viewport-secret-bucket');
  });

  it('says a token service it could not reach is unreachable, not how the connection failed (a port-scan oracle)', async () => {
    const result = await pulled('closed', inHouse);
    expect(result).toMatchObject({ kind: 'refused', reasonCode: 'REGISTRY_UNAVAILABLE', message: expect.stringContaining(`could not reach the token service the registry named (127.0.0.1:${closedPort})`) as unknown });
    expect(JSON.stringify(result)).not.toMatch(/ECONNREFUSED|other side closed|HTTP\/1\.1 protocol/);
  });
});
