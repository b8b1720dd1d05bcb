import { Writable } from 'node:stream';
import { createLogger, IMAGE_VERSION_PATTERN, pidOf } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import type { PipelineFailed, TransferRequested } from '@orbit/schemas';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';
import { TransferKeyTaken, type AcceptedRequest, type ImageView, type KeyedTransfer, type RequestRecord, type TransferKey } from '../ports.js';
import { differingAsk } from '../transfer-rules.js';
import type { HeldTransfer } from './transfers.js';

const UID = 'T'.repeat(60);

/**
 * One image in Development and Testing; claims and refusals kept in memory, to see what a request leaves behind.
 * `uploads`: the requests the request store lists (newest first). A claim shares a promotion `held` names (a holder
 * that has not failed keeps it), and claims bind Idempotency-Keys as transfer_idempotency_keys does: `statuses` says how
 * each request stands now.
 */
function harness(held: Map<string, HeldTransfer> = new Map(), uploads: readonly RequestRecord[] = [], versions?: ImageView['versions']) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
  const image: ImageView = {
    imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development', 'Testing'],
    versions: versions ?? [
      { imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing'] },
      { imageVersion: 'v2-0-00', status: 'ready', environments: ['Development'] },
    ],
  };
  const commands: TransferRequested[] = [];
  const refusals: PipelineFailed[] = [];
  const refusedRequests: AcceptedRequest[] = [];
  const statuses = new Map<string, string>();
  const keys = new Map<string, KeyedTransfer>();
  const keyed = (bound: KeyedTransfer): KeyedTransfer => ({ ...bound, status: statuses.get(bound.requestId) ?? null });
  /** False when the key named a live request sent with the same ask already (it stays with it). */
  const bind = (key: TransferKey, requestId: string): boolean => {
    const bound = keys.get(`${key.owner}:${key.key}`);
    if (bound && keyed(bound).status !== 'failed') {
      if (differingAsk(bound, key).length > 0) throw new TransferKeyTaken(keyed(bound));
      return false;
    }
    keys.set(`${key.owner}:${key.key}`, { requestId, status: null, imageUID: key.imageUID, imageVersion: key.imageVersion, targetEnvironment: key.targetEnvironment, notes: key.notes });
    return true;
  };
  const reads: string[] = [];
  const app = routeTestGateway({
    uid: UID, image, uploads, logger, reads,
    transfers: {
      claims: {
        claim: async (target, request, command, _trace, key) => {
          const holder = held.get(`${request.imageVersion ?? ''}:${target}`);
          const shared = holder && holder.status !== 'failed' ? holder : undefined;
          const keyNamedItBefore = key ? !bind(key, shared?.requestId ?? request.requestId) : false;
          if (shared) return keyNamedItBefore ? { ...shared, keyNamedItBefore } : shared;
          commands.push(command);
          statuses.set(request.requestId, 'accepted');
          return { requestId: request.requestId, status: null };
        },
        find: async (_uid, version, target) => held.get(`${version}:${target}`),
        findKey: async (owner, key) => { const bound = keys.get(`${owner}:${key}`); return bound && keyed(bound); },
        bindKey: async (key, requestId) => { bind(key, requestId); },
      },
      publish: { transferRefused: async (event, _trace, request) => { refusals.push(event); refusedRequests.push(request); } },
      policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Production', 'release-manager']]) },
    },
  });
  const transfer = async (body: object, user = 'dev1', uid = UID, roles: readonly string[] = [], headers: Record<string, string | string[]> = {}) => {
    const response = await app.inject({
      method: 'POST', url: `/v1/images/${uid}/transfers`, headers: { ...headers, authorization: `Bearer ${await routeTestToken(user, roles)}` }, payload: body,
    });
    return { status: response.statusCode, body: response.json() as Record<string, unknown>, replayed: response.headers['idempotent-replayed'] };
  };
  const read = async (url: string, user: string, roles: readonly string[] = []) => (await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await routeTestToken(user, roles)}` } })).statusCode;
  const document = async () => (await app.inject('/docs/json')).json() as { paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema?: { pattern?: string } }[]; responses: Record<string, unknown> }>> };
  return { app, transfer, read, document, commands, refusals, refusedRequests, lines, statuses, reads };
}

describe('POST /v1/images/{uid}/transfers with dryRun', () => {
  it('answers what the request would do, and starts, claims and records nothing', async () => {
    const done = 'a0000000-0000-4000-8000-000000000001';
    const running = 'a0000000-0000-4000-8000-000000000002';
    const { transfer, commands, refusals } = harness(new Map([['v1-0-00:Testing', { requestId: done, status: 'succeeded' }], ['v1-0-00:Staging', { requestId: running, status: 'running' }]]));
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', dryRun: true })).toEqual({
      status: 200,
      body: { dryRun: true, outcome: 'allowed', imageUID: UID, imageVersion: 'v2-0-00', sourceEnvironment: 'Development', targetEnvironment: 'Testing', requestId: null },
    });
    expect((await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Staging', dryRun: true })).body).toMatchObject({ outcome: 'under-way', requestId: running });
    expect((await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', dryRun: true })).body).toMatchObject({ outcome: 'done', requestId: done, sourceEnvironment: null });
    // Refused as the request itself would be, but with no request id: there is no request, and no error-log row.
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Staging', dryRun: true })).toEqual({ status: 409, body: { code: 'SKIPS_ENVIRONMENT', message: expect.any(String), problems: [] } });
    expect(await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Production', dryRun: true })).toMatchObject({ status: 403, body: { code: 'ROLE_REQUIRED' } });
    expect(await transfer({ imageVersion: 'v9-0-00', transferEnvironment: 'Testing', dryRun: true })).toMatchObject({ status: 404, body: { code: 'VERSION_NOT_FOUND' } });
    expect(commands).toEqual([]);
    expect(refusals).toEqual([]);

    // The same requests for real: a command, and refusals that are recorded.
    expect((await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', dryRun: false })).status).toBe(202);
    expect((await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Staging' })).status).toBe(409);
    expect(commands).toHaveLength(1);
    // The refusal's event names the target asked for, so a rebuild from the topics gives the request row its target back.
    expect(refusals.map((event) => [event.reasonCode, event.targetEnvironment])).toEqual([['SKIPS_ENVIRONMENT', 'Staging']]);
  });

  it('decides on the version asked for, and of another owner\'s image on which versions the caller sees, never the image read whole (found by a review: 33 MB a dry run at 10 000 versions)', async () => {
    const { transfer, commands, reads } = harness(new Map(), [], [
      { imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing', 'Staging'] },
      { imageVersion: 'v2-0-00', status: 'ready', environments: ['Development', 'Testing'] },
      { imageVersion: 'v3-0-00', status: 'ready', environments: ['Development'] },
    ]);
    expect((await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Staging', dryRun: true })).body).toMatchObject({ outcome: 'allowed', sourceEnvironment: 'Testing' });
    expect(await transfer({ imageVersion: 'v9-0-00', transferEnvironment: 'Testing', dryRun: true })).toMatchObject({ status: 404, body: { code: 'VERSION_NOT_FOUND' } });
    // A release manager reads Staging and Production: v1 is theirs to promote; v2 and v3 they do not see, so the image
    // is one they read with no such version (as read whole), and for anyone else no image at all.
    const manager = async (imageVersion: string, user = 'rm1', roles: readonly string[] = ['release-manager']) => transfer({ imageVersion, transferEnvironment: 'Production', dryRun: true }, user, UID, roles);
    expect((await manager('v1-0-00')).body).toMatchObject({ outcome: 'allowed', sourceEnvironment: 'Staging' });
    expect(await manager('v2-0-00')).toMatchObject({ status: 404, body: { code: 'VERSION_NOT_FOUND', message: 'billing-api has no version v2-0-00' } });
    expect(await manager('v9-0-00')).toMatchObject({ status: 404, body: { code: 'VERSION_NOT_FOUND' } });
    expect(await manager('v1-0-00', 'someone-else', [])).toMatchObject({ status: 404, body: { code: 'IMAGE_NOT_FOUND' } });
    expect((await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Production' }, 'rm1', UID, ['release-manager'])).status).toBe(202);
    expect(commands).toHaveLength(1);
    expect(reads.filter((method) => method !== 'getVersion' && method !== 'outline')).toEqual([]);
  });

  it('answers a promotion asked while the one before it is under way "not yet, follow it", not SKIPS_ENVIRONMENT (found by a probe: a chain promoted step after step failed)', async () => {
    const testing = 'a0000000-0000-4000-8000-000000000003';
    const { transfer, refusals } = harness(new Map([['v2-0-00:Testing', { requestId: testing, status: 'running' }]]));
    const notYet = { status: 409, body: { code: 'NOT_IN_SOURCE_ENVIRONMENT', message: `v2-0-00 is still being promoted into Testing (request ${testing}); it can be promoted into Staging once that request succeeds`, problems: [] } };
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Staging', dryRun: true })).toEqual(notYet);
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Staging' })).toMatchObject(notYet);
    expect(refusals.map((event) => event.reasonCode)).toEqual(['NOT_IN_SOURCE_ENVIRONMENT']);
    // Claimed, not projected yet (status null): under way too. Failed: the version is where it was, and skipping is refused as before.
    expect(await harness(new Map([['v2-0-00:Testing', { requestId: testing, status: null }]])).transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Staging', dryRun: true })).toEqual(notYet);
    expect(await harness(new Map([['v2-0-00:Testing', { requestId: testing, status: 'failed' }]])).transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Staging', dryRun: true }))
      .toMatchObject({ status: 409, body: { code: 'SKIPS_ENVIRONMENT' } });
    // Two steps ahead of a promotion under way still skips one.
    expect(await harness(new Map([['v2-0-00:Testing', { requestId: testing, status: 'running' }]])).transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Production', dryRun: true }, 'dev1', UID, ['release-manager']))
      .toMatchObject({ status: 409, body: { code: 'SKIPS_ENVIRONMENT' } });
  });

  it('takes the body as sent: a version in an array, or "true" and 1 for dryRun, are refused naming the field, not coerced (found by a probe)', async () => {
    const { transfer, commands } = harness(new Map());
    for (const [body, field] of [
      [{ imageVersion: ['v2-0-00'], transferEnvironment: 'Testing' }, 'body.imageVersion'],
      [{ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', dryRun: 'true' }, 'body.dryRun'],
      [{ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', dryRun: 1 }, 'body.dryRun'],
    ] as const) {
      const refused = await transfer(body);
      expect([refused.status, (refused.body as { problems?: { field: string }[] }).problems?.[0]?.field], JSON.stringify(body)).toEqual([400, field]);
    }
    expect(commands).toEqual([]);
  });

  it('refuses a misspelt field (a "dryrun" that would otherwise be dropped and the transfer run for real), starting nothing', async () => {
    const { transfer, commands, refusals } = harness(new Map());
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', dryrun: true })).toEqual({
      status: 400,
      body: { code: 'ORBIT_ERR_BAD_REQUEST', message: expect.any(String), problems: [{ field: 'body.dryrun', message: 'unexpected field "dryrun"' }] },
    });
    expect(commands).toEqual([]);
    expect(refusals).toEqual([]);
  });

  it('a failed earlier transfer does not hold a dry run back: a new request would replace it', async () => {
    const { transfer } = harness(new Map([['v2-0-00:Testing', { requestId: 'a0000000-0000-4000-8000-000000000003', status: 'failed' }]]));
    expect((await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', dryRun: true })).body).toMatchObject({ outcome: 'allowed', requestId: null });
  });
});

describe('POST /v1/images/{uid}/transfers by a role holder while the owner\'s promotion into the source is under way', () => {
  const staging = 'a0000000-0000-4000-8000-000000000031';
  const notYet = (version: string) => ({
    status: 409, body: { code: 'NOT_IN_SOURCE_ENVIRONMENT', message: `${version} is still being promoted into Staging (request ${staging}); it can be promoted into Production once that request succeeds`, problems: [] },
  });
  const manager = { user: 'rm1', roles: ['release-manager'] };
  const production = (imageVersion: string, dryRun = false) => ({ imageVersion, transferEnvironment: 'Production', ...(dryRun ? { dryRun } : {}) });

  it('answers 409 naming that request, as the owner gets, and records it as the owner\'s is, not 404 "has no version" for a version that exists (found by a README walk)', async () => {
    // v1 is in Staging (the release manager reads the image); v2 is in Testing, on its way into Staging.
    const { transfer, refusals, refusedRequests, commands } = harness(new Map([['v2-0-00:Staging', { requestId: staging, status: 'running' }]]), [], [
      { imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing', 'Staging'] },
      { imageVersion: 'v2-0-00', status: 'ready', environments: ['Development', 'Testing'] },
    ]);
    expect(await transfer(production('v2-0-00', true), manager.user, UID, manager.roles)).toEqual(notYet('v2-0-00'));
    expect(await transfer(production('v2-0-00'), manager.user, UID, manager.roles)).toMatchObject({ ...notYet('v2-0-00'), body: { ...notYet('v2-0-00').body, requestId: expect.any(String) } });
    // The owner asking the same is answered alike, and both refusals are recorded, each the asker's own.
    expect(await transfer(production('v2-0-00'), 'dev1', UID, manager.roles)).toMatchObject(notYet('v2-0-00'));
    expect(refusals.map((event) => [event.reasonCode, event.targetEnvironment, event.message])).toEqual([
      ['NOT_IN_SOURCE_ENVIRONMENT', 'Production', notYet('v2-0-00').body.message], ['NOT_IN_SOURCE_ENVIRONMENT', 'Production', notYet('v2-0-00').body.message],
    ]);
    expect(refusedRequests.map((request) => request.owner)).toEqual(['rm1', 'dev1']);
    expect(commands).toEqual([]);
  });

  it('does so too when no version of the image is in an environment the role reads yet (IMAGE_NOT_FOUND before)', async () => {
    const { transfer } = harness(new Map([['v1-0-00:Staging', { requestId: staging, status: null }]]));
    expect(await transfer(production('v1-0-00', true), manager.user, UID, manager.roles)).toEqual(notYet('v1-0-00'));
  });

  it('keeps today\'s 404 for a version that does not exist, one with nothing under way into Staging, and anyone without the role', async () => {
    const versions = [
      { imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing', 'Staging'] },
      { imageVersion: 'v2-0-00', status: 'ready', environments: ['Development', 'Testing'] },
      { imageVersion: 'v3-0-00', status: 'ready', environments: ['Development'] },
    ];
    const { transfer, refusals } = harness(new Map([
      ['v2-0-00:Staging', { requestId: staging, status: 'running' }], ['v3-0-00:Testing', { requestId: 'a0000000-0000-4000-8000-000000000032', status: 'running' }],
    ]), [], versions);
    const noVersion = (version: string) => ({ status: 404, body: { code: 'VERSION_NOT_FOUND', message: `billing-api has no version ${version}`, problems: [] } });
    expect(await transfer(production('v9-0-00', true), manager.user, UID, manager.roles)).toEqual(noVersion('v9-0-00'));
    // Under way into Testing, not into the environment Production promotes from: still hidden.
    expect(await transfer(production('v3-0-00', true), manager.user, UID, manager.roles)).toEqual(noVersion('v3-0-00'));
    // Without the role the image stays unknown, and nothing is recorded for it.
    expect(await transfer(production('v2-0-00'), 'someone-else', UID, [])).toEqual({ status: 404, body: { code: 'IMAGE_NOT_FOUND', message: 'no such image for this caller', problems: [] } });
    expect(refusals).toEqual([]);
    for (const status of ['failed', 'succeeded'] as const) {
      const ended = harness(new Map([['v2-0-00:Staging', { requestId: staging, status }]]), [], versions);
      expect(await ended.transfer(production('v2-0-00', true), manager.user, UID, manager.roles), status).toEqual(noVersion('v2-0-00'));
    }
  });
});

describe('POST /v1/images/{uid}/transfers while the version is still being uploaded', () => {
  const upload = (requestId: string, imageUID: string, imageVersion: string, status: RequestRecord['status'], owner = 'dev1'): RequestRecord => ({
    requestId, kind: 'upload', imageUID, imageVersion, owner, status, error: null,
  });
  const NEW_UID = 'N'.repeat(60);

  it('answers 409 "not yet" naming the upload, records the refusal, and starts nothing', async () => {
    const { transfer, commands, refusals } = harness(new Map(), [
      upload('a0000000-0000-4000-8000-000000000011', NEW_UID, 'v1-0-00', 'running'),
      upload('a0000000-0000-4000-8000-000000000012', UID, 'v3-0-00', 'accepted'),
    ]);
    // A new image, and a new version of a known one: ViewPort has neither yet.
    const first = await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, 'dev1', NEW_UID);
    expect(first).toMatchObject({ status: 409, body: { code: 'NOT_IN_SOURCE_ENVIRONMENT' } });
    expect(first.body['message']).toContain('a0000000-0000-4000-8000-000000000011');
    expect(await transfer({ imageVersion: 'v3-0-00', transferEnvironment: 'Testing' })).toMatchObject({ status: 409, body: { code: 'NOT_IN_SOURCE_ENVIRONMENT' } });
    expect(await transfer({ imageVersion: 'v3-0-00', transferEnvironment: 'Testing', dryRun: true })).toMatchObject({ status: 409, body: { code: 'NOT_IN_SOURCE_ENVIRONMENT' } });
    expect(commands).toEqual([]);
    expect(refusals.map((event) => [event.imageUID, event.reasonCode])).toEqual([[NEW_UID, 'NOT_IN_SOURCE_ENVIRONMENT'], [UID, 'NOT_IN_SOURCE_ENVIRONMENT']]);
  });

  it('names the upload once ViewPort holds the version but it is not ready yet (validated, not stored), as before it held it (found by a probe)', async () => {
    const uploading = 'a0000000-0000-4000-8000-000000000013';
    const { transfer, commands } = harness(new Map(), [upload(uploading, UID, 'v3-0-00', 'running')], [
      { imageVersion: 'v3-0-00', status: 'stored', environments: ['Development'] },
    ]);
    const refused = await transfer({ imageVersion: 'v3-0-00', transferEnvironment: 'Testing' });
    expect(refused).toMatchObject({ status: 409, body: { code: 'NOT_IN_SOURCE_ENVIRONMENT' } });
    expect(refused.body['message']).toContain(`still being uploaded (request ${uploading})`);
    expect(commands).toEqual([]);
  });

  it('still answers 404 when that upload failed, is another version, or is someone else\'s', async () => {
    const { transfer, refusals } = harness(new Map(), [
      upload('a0000000-0000-4000-8000-000000000021', NEW_UID, 'v1-0-00', 'failed'),
      upload('a0000000-0000-4000-8000-000000000022', UID, 'v4-0-00', 'running', 'mallory'),
      upload('a0000000-0000-4000-8000-000000000023', UID, 'v5-0-00', 'running'),
    ]);
    expect(await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, 'dev1', NEW_UID)).toMatchObject({ status: 404, body: { code: 'IMAGE_NOT_FOUND' } });
    expect(await transfer({ imageVersion: 'v4-0-00', transferEnvironment: 'Testing' })).toMatchObject({ status: 404, body: { code: 'VERSION_NOT_FOUND' } });
    expect(await transfer({ imageVersion: 'v9-0-00', transferEnvironment: 'Testing' })).toMatchObject({ status: 404, body: { code: 'VERSION_NOT_FOUND' } });
    expect(refusals.map((event) => event.reasonCode)).toEqual(['VERSION_NOT_FOUND', 'VERSION_NOT_FOUND']);
  });

  it('hands out a request id only for a refusal it recorded, and records the target a refused request asked for (found by a probe)', async () => {
    const { transfer, refusedRequests, lines } = harness();
    const unknown = await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, 'dev1', 'Z'.repeat(60));
    expect(unknown).toEqual({ status: 404, body: { code: 'IMAGE_NOT_FOUND', message: 'no such image for this caller', problems: [] } });
    const skipped = await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'staging' });
    expect(skipped).toMatchObject({ status: 409, body: { code: 'SKIPS_ENVIRONMENT', requestId: expect.any(String) as unknown } });
    const narnia = await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Narnia' });
    expect(narnia).toMatchObject({ status: 400, body: { code: 'UNKNOWN_ENVIRONMENT' } });
    expect(refusedRequests.map((request) => [request.requestId, request.targetEnvironment ?? null])).toEqual([[skipped.body['requestId'], 'Staging'], [narnia.body['requestId'], null]]);
    // Each refusal is in the gateway's log, the unknown image's too, which leaves no error-log row (found by a probe: none was logged).
    expect(lines.filter((line) => line['msg'] === 'request refused').map((line) => [line['status'], line['code'], line['imageUID'], line['correlationId'] ?? null])).toEqual([
      [404, 'IMAGE_NOT_FOUND', 'Z'.repeat(60), null], [409, 'SKIPS_ENVIRONMENT', UID, skipped.body['requestId']], [400, 'UNKNOWN_ENVIRONMENT', UID, narnia.body['requestId']],
    ]);
  });

  it('names the pid of the event each line stands for, as an upload\'s lines do, and its code as reasonCode too, as the consumers\' lines do (found by a review: no pid on either)', async () => {
    const { transfer, refusals, commands, lines } = harness();
    const accepted = await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing' });
    const roleless = await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Production' });
    await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, 'dev1', 'Z'.repeat(60));
    expect([accepted.status, roleless.status, roleless.body['code']]).toEqual([202, 403, 'ROLE_REQUIRED']);
    expect(lines.filter((line) => line['msg'] === 'request accepted')).toEqual([
      expect.objectContaining({ correlationId: accepted.body['requestId'], imageUID: UID, pid: commands[0]?.pid }),
    ]);
    // The recorded refusal's line names its error-log row's pid; an unknown image's records nothing, so names none.
    expect(lines.filter((line) => line['msg'] === 'request refused').map((line) => [line['code'], line['reasonCode'], line['correlationId'] ?? null, line['pid'] ?? null])).toEqual([
      ['ROLE_REQUIRED', 'ROLE_REQUIRED', roleless.body['requestId'], refusals[0]?.pid], ['IMAGE_NOT_FOUND', 'IMAGE_NOT_FOUND', null, null],
    ]);
    expect([commands[0]?.pid, refusals[0]?.pid]).toEqual([pidOf('transferRequested'), pidOf('transferFailed')]);
  });
});

describe('POST /v1/images/{uid}/transfers of a version not by the naming rule', () => {
  it('refuses a version not by the naming rule uploads hold versions to (400 naming body.imageVersion), recording nothing (found by a review: ESC, U+202E were recorded in the owner\'s timeline)', async () => {
    const { transfer, commands, refusals } = harness(new Map());
    const odd = ['v2-0-00\u0000', 'v2-0-00\u001b[31mAPPROVED BY SECURITY', 'v2-0-00\u202e', '\u200bv2-0-00', 'v２-0-00', 'V2-0-00', 'v2-0-00 ', ' v2-0-00', 'v2-0-00\n', '../v2-0-00', 'x'.repeat(128), '1.0.0-rc1'];
    for (const imageVersion of odd) {
      for (const dryRun of [false, true]) {
        const refused = await transfer({ imageVersion, transferEnvironment: 'Testing', dryRun });
        expect([refused.status, refused.body['code'], refused.body['problems']], JSON.stringify(imageVersion)).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', [{ field: 'body.imageVersion', message: expect.any(String) as unknown }]]);
        expect(refused.body['requestId'], JSON.stringify(imageVersion)).toBeUndefined();
      }
    }
    expect(refusals).toEqual([]);
    expect(commands).toEqual([]);
    // Both forms the rule takes still name versions: an unknown one is the recorded 404 it was.
    expect((await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing' })).status).toBe(202);
    expect(await transfer({ imageVersion: '9.9.9', transferEnvironment: 'Testing' })).toMatchObject({ status: 404, body: { code: 'VERSION_NOT_FOUND' } });
    expect(refusals.map((refusal) => refusal.imageVersion)).toEqual(['9.9.9']);
  });

  it('says in the API document what a version must look like', async () => {
    const operation = (await harness().document()).paths['/v1/images/{uid}/transfers']?.['post'] as unknown as { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } };
    expect(operation.requestBody.content['application/json']?.schema.properties['imageVersion']).toMatchObject({ type: 'string', maxLength: 64, pattern: IMAGE_VERSION_PATTERN });
  });
});

describe('POST /v1/images/{uid}/transfers with text no store keeps', () => {
  it('refuses notes holding half a surrogate pair (400 naming the field) and records nothing, but takes emoji', async () => {
    const { transfer, commands, refusals } = harness();
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', notes: 'rc1 \ud83d' })).toMatchObject({
      status: 400, body: { code: 'ORBIT_ERR_BAD_REQUEST', problems: [{ field: 'body.notes' }] },
    });
    expect(commands).toEqual([]);
    expect(refusals).toEqual([]);
    expect((await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', notes: 'rc1 🚀' })).status).toBe(202);
    expect(commands[0]?.notes).toBe('rc1 🚀');
  });

  it('refuses notes whose bytes are not UTF-8 (400 naming the body), where they were stored as U+FFFD (found by a review)', async () => {
    const { app, commands } = harness();
    for (const bytes of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0xbd], [0xe2, 0x82]]) {
      const payload = Buffer.concat([Buffer.from('{"imageVersion":"v2-0-00","transferEnvironment":"Testing","notes":"x'), Buffer.from(bytes), Buffer.from('y"}')]);
      const answer = await app.inject({ method: 'POST', url: `/v1/images/${UID}/transfers`, headers: { authorization: `Bearer ${await routeTestToken('dev1')}`, 'content-type': 'application/json' }, payload });
      expect([answer.statusCode, answer.json().problems], bytes.join(' ')).toEqual([400, [{ field: 'body', message: expect.stringMatching(/^the body is not UTF-8 text: the bytes? [0-9A-F ]+ at offset 68 /) as unknown }]]);
    }
    expect(commands).toEqual([]);
  });

  it('refuses notes holding a control character other than tab and line breaks, naming it (found by a review: ESC and BEL reach the terminals that print them)', async () => {
    const { transfer, commands } = harness();
    for (const [notes, code] of [['x\u001b]8;;http://evil\u0007link', '001B'], ['bell\u0007', '0007'], ['nul\u0000', '0000'], ['c1\u0085', '0085'], ['del\u007f', '007F']] as const) {
      expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', notes }), code).toMatchObject({
        status: 400, body: { code: 'ORBIT_ERR_BAD_REQUEST', problems: [{ field: 'body.notes', message: expect.stringMatching(new RegExp(`^body\\.notes holds U\\+${code}, a control character`)) as unknown }] },
      });
    }
    expect(commands).toEqual([]);
    expect((await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', notes: 'line one\r\n\tline two' })).status).toBe(202);
  });

  it('documents the notes it refuses with a pattern that agrees with the route at every edge of its class (found by a review: the document said only maxLength)', async () => {
    const { app, document } = harness();
    const documented = (await document()) as unknown as { paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: { properties: Record<string, { pattern?: string }> } }> } }>> };
    const pattern = new RegExp(documented.paths['/v1/images/{uid}/transfers']?.['post']?.requestBody.content['application/json']?.schema.properties['notes']?.pattern ?? '(?!)', 'u');
    const dryRun = async (notes: string) => (await app.inject({
      method: 'POST', url: `/v1/images/${UID}/transfers`, headers: { authorization: `Bearer ${await routeTestToken('dev1')}` },
      payload: { imageVersion: 'v2-0-00', transferEnvironment: 'Testing', notes, dryRun: true },
    })).statusCode;
    // Each side of every edge of C0, DEL and C1, tab and line breaks, and far above them.
    for (const code of [0x00, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x1f, 0x20, 0x7e, 0x7f, 0x9f, 0xa0, 0x2028, 0xfffe, 0xffff, 0x10000, 0x10ffff]) {
      const notes = `a${String.fromCodePoint(code)}b`;
      expect([code.toString(16), pattern.test(notes)]).toEqual([code.toString(16), (await dryRun(notes)) === 200]);
    }
  });

  it('names where a 202 is followed in Location, also when it joins the transfer under way (RFC 9110: a 202 points at its monitor)', async () => {
    const running = 'a0000000-0000-4000-8000-000000000002';
    const { app } = harness(new Map([['v1-0-00:Staging', { requestId: running, status: 'running' }]]));
    const send = async (body: object) => app.inject({ method: 'POST', url: `/v1/images/${UID}/transfers`, headers: { authorization: `Bearer ${await routeTestToken('dev1')}` }, payload: body });
    const accepted = await send({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing' });
    expect([accepted.statusCode, accepted.headers['location']]).toEqual([202, accepted.json().statusUrl]);
    const joined = await send({ imageVersion: 'v1-0-00', transferEnvironment: 'Staging' });
    expect([joined.statusCode, joined.json().requestId, joined.headers['location']]).toEqual([202, running, joined.json().statusUrl]);
    const dryRun = await send({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', dryRun: true });
    expect([dryRun.statusCode, dryRun.headers['location']]).toEqual([200, undefined]);
  });

  it('says a body over 1 MiB is that, without telling of metadata, which a transfer has none of (found by a review)', async () => {
    const { app } = harness();
    const answer = await app.inject({
      method: 'POST', url: `/v1/images/${UID}/transfers`, headers: { authorization: `Bearer ${await routeTestToken('dev1')}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', notes: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect([answer.statusCode, answer.json()]).toEqual([413, { code: 'ORBIT_ERR_BAD_REQUEST', message: 'the JSON body is over 1 MiB', problems: [] }]);
  });
});

describe('GET /v1/requests/{id} of a transfer someone else asked for', () => {
  it('answers the image\'s owner and the holders of the target\'s role, who are handed its id, and no one else (found by a probe: they got 404)', async () => {
    const requestId = 'a0000000-0000-4000-8000-000000000009';
    const promotion: RequestRecord = { requestId, kind: 'transfer', imageUID: UID, imageVersion: 'v1-0-00', owner: 'rm1', status: 'succeeded', error: null, targetEnvironment: 'Production' };
    const { read } = harness(new Map(), [promotion], [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing', 'Staging', 'Production'] }]);
    const url = `/v1/requests/${requestId}`;
    expect(await read(url, 'rm1', ['release-manager'])).toBe(200); // who asked
    expect(await read(url, 'dev1')).toBe(200); // the image's owner
    expect(await read(url, 'rm2', ['release-manager'])).toBe(200); // another release manager, handed the same id when asking again
    expect(await read(`${url}?wait=1`, 'dev1')).toBe(200);
    expect(await read(url, 'dev2')).toBe(404);
    expect(await read(url, 'dev2', ['auditor'])).toBe(404);
    // Into an environment no role guards, only the requester and the owner.
    const testing = { ...promotion, requestId: 'a0000000-0000-4000-8000-00000000000a', targetEnvironment: 'Testing', owner: 'dev1' };
    const other = harness(new Map(), [testing]);
    expect(await other.read(`/v1/requests/${testing.requestId}`, 'dev2', ['release-manager'])).toBe(404);
    // Of a version the role does not read (a refused transfer of one still in Development, skipping environments): not
    // the role holder's to read, as no read route shows them that version or its notes (found by a review).
    const skipping: RequestRecord = { ...promotion, requestId: 'a0000000-0000-4000-8000-00000000000b', imageVersion: 'v2-0-00', owner: 'dev1', status: 'failed' };
    const hidden = harness(new Map(), [skipping]);
    expect(await hidden.read(`/v1/requests/${skipping.requestId}`, 'rm2', ['release-manager'])).toBe(404);
    expect(await hidden.read(`/v1/requests/${skipping.requestId}`, 'dev1')).toBe(200);
  });
});

describe('POST /v1/images/{uid}/transfers of a promotion already done', () => {
  const T1 = 'a0000000-0000-4000-8000-0000000000b1';
  const T2 = 'a0000000-0000-4000-8000-0000000000b2';
  const transferRecord = (requestId: string, status: RequestRecord['status']): RequestRecord => ({
    requestId, kind: 'transfer', imageUID: UID, imageVersion: 'v1-0-00', owner: 'dev1', status, error: null, targetEnvironment: 'Testing',
  });

  it('names the request ViewPort records as having promoted it, with its status, not a later claim holder that failed (T1 dead-lettered, T2 failed, T1 re-driven)', async () => {
    // T2 took the claim over while T1 sat dead-lettered, then failed; the re-driven T1 is the one that put the version in Testing.
    const { transfer, commands } = harness(new Map([['v1-0-00:Testing', { requestId: T2, status: 'failed' }]]), [transferRecord(T1, 'succeeded'), transferRecord(T2, 'failed')], [
      { imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing'], promotions: { Testing: { requestId: T1, promotedBy: 'dev1' } } },
    ]);
    expect(await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing' })).toMatchObject({
      status: 200, body: { requestId: T1, status: 'succeeded', statusUrl: expect.stringMatching(new RegExp(`/v1/requests/${T1}$`)) as unknown },
    });
    expect((await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', dryRun: true })).body).toMatchObject({ outcome: 'done', requestId: T1 });
    expect(commands).toEqual([]);
  });

  it('points at no request rather than a failed one when ViewPort names none (promoted before promotions were kept)', async () => {
    const { transfer } = harness(new Map([['v1-0-00:Testing', { requestId: T2, status: 'failed' }]]), [transferRecord(T2, 'failed')]);
    expect(await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing' })).toMatchObject({ status: 200, body: { requestId: null, status: 'succeeded', statusUrl: null } });
    expect((await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', dryRun: true })).body).toMatchObject({ outcome: 'done', requestId: null });
  });
});

describe('POST /v1/images/{uid}/transfers with an Idempotency-Key', () => {
  const key = (value: string | string[]) => ({ 'idempotency-key': value });

  it('is in the API document, with the form it must have and the 422 of a key reused, so a generated client can send it', async () => {
    const operation = (await harness().document()).paths['/v1/images/{uid}/transfers']?.['post'];
    expect(operation?.parameters?.find((parameter) => parameter.name === 'idempotency-key')).toMatchObject({ in: 'header', schema: { pattern: expect.any(String) as unknown } });
    expect(Object.keys(operation?.responses ?? {})).toContain('422');
  });

  it('refuses a malformed or doubled key with 400 naming the header, starting and recording nothing', async () => {
    const { transfer, commands, refusals } = harness();
    for (const bad of ['""', 'x'.repeat(256), '"ci-build "', ['k1', 'k2']]) {
      expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing' }, 'dev1', UID, [], key(bad)), JSON.stringify(bad))
        .toMatchObject({ status: 400, body: { code: 'ORBIT_ERR_BAD_REQUEST', problems: [{ field: 'header.idempotency-key' }] } });
    }
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', dryRun: true }, 'dev1', UID, [], key(['k1', 'k2']))).toMatchObject({ status: 400 });
    expect(commands).toEqual([]);
    expect(refusals).toEqual([]);
  });

  it('answers a repeat with the first request (200, Idempotent-Replayed) and refuses the key with another version, target or notes (422), starting one transfer', async () => {
    const { transfer, commands, statuses } = harness();
    const first = await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', notes: 'rc1' }, 'dev1', UID, [], key('ci-4711'));
    expect(first).toMatchObject({ status: 202, body: { status: 'accepted' }, replayed: undefined });
    const requestId = first.body['requestId'];
    statuses.set(String(requestId), 'running');
    // The same ask, its target in another letter case and the key quoted as the draft spells it.
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'testing', notes: 'rc1' }, 'dev1', UID, [], key('"ci-4711"'))).toEqual({
      status: 200, replayed: 'true', body: { requestId, pid: 'c8fms06-c8bms18-e10', status: 'running', statusUrl: expect.stringMatching(/\/v1\/requests\//) as unknown },
    });
    for (const [body, fields] of [
      [{ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', notes: 'rc1' }, ['imageVersion']],
      [{ imageVersion: 'v2-0-00', transferEnvironment: 'Staging', notes: 'rc1' }, ['transferEnvironment']],
      [{ imageVersion: 'v2-0-00', transferEnvironment: 'Testing' }, ['notes']],
      [{ imageVersion: 'v2-0-00', transferEnvironment: 'Staging', notes: 'rc1', dryRun: true }, ['transferEnvironment']],
    ] as const) {
      const reused = await transfer(body, 'dev1', UID, [], key('ci-4711'));
      expect(reused, JSON.stringify(body)).toMatchObject({ status: 422, body: { code: 'ORBIT_ERR_IDEMPOTENCY_KEY_REUSED', problems: fields.map((field) => ({ field })) } });
      expect(reused.body['message']).toContain(String(requestId));
    }
    // Another caller's key of the same name is theirs.
    expect((await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Staging' }, 'dev2', UID, [], key('ci-4711'))).status).not.toBe(422);
    expect(commands.map((command) => command.requestId)).toEqual([requestId]);
    // Once its transfer failed, the key may start another, with any ask, and names that one from then on.
    statuses.set(String(requestId), 'failed');
    const again = await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', notes: 'second try' }, 'dev1', UID, [], key('ci-4711'));
    expect(again).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(again.body['requestId']).not.toBe(requestId);
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', notes: 'second try' }, 'dev1', UID, [], key('ci-4711'))).toMatchObject({ status: 200, replayed: 'true', body: { requestId: again.body['requestId'] } });
  });

  it('binds the key to the transfer already under way it was answered with, and to a promotion found done', async () => {
    const running = 'a0000000-0000-4000-8000-0000000000c1';
    const { transfer, commands } = harness(new Map([['v2-0-00:Testing', { requestId: running, status: 'running' }]]));
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing' }, 'dev1', UID, [], key('shared'))).toMatchObject({ status: 202, body: { requestId: running } });
    expect((await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Staging' }, 'dev1', UID, [], key('shared'))).status).toBe(422);
    expect(await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, 'dev1', UID, [], key('done'))).toMatchObject({ status: 200, body: { requestId: null } });
    const promoted = 'a0000000-0000-4000-8000-0000000000c2';
    const withPromotion = harness(new Map(), [], [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing'], promotions: { Testing: { requestId: promoted } } }, { imageVersion: 'v2-0-00', status: 'ready', environments: ['Development'] }]);
    expect(await withPromotion.transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, 'dev1', UID, [], key('done'))).toMatchObject({ status: 200, body: { requestId: promoted } });
    expect(await withPromotion.transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing' }, 'dev1', UID, [], key('done'))).toMatchObject({ status: 422, body: { problems: [{ field: 'imageVersion' }] } });
    expect([...commands, ...withPromotion.commands]).toEqual([]);
  });

  it('refuses the key when a concurrent call bound it to another ask first, starting nothing (the claim is undone with it)', async () => {
    const other: KeyedTransfer = { requestId: 'a0000000-0000-4000-8000-0000000000e1', status: 'accepted', imageUID: UID, imageVersion: 'v1-0-00', targetEnvironment: 'Staging', notes: null };
    const app = routeTestGateway({
      uid: UID, image: { imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development'], versions: [{ imageVersion: 'v2-0-00', status: 'ready', environments: ['Development'] }] },
      transfers: {
        // Not found before the claim, taken by the time the claim binds it.
        claims: {
          claim: async (_target, request, _command, _trace, bound) => { if (bound) throw new TransferKeyTaken(other); return { requestId: request.requestId, status: null }; },
          find: async () => undefined, findKey: async () => undefined,
        },
        publish: { transferRefused: async () => undefined },
        policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map() },
      },
    });
    const response = await app.inject({
      method: 'POST', url: `/v1/images/${UID}/transfers`, headers: { authorization: `Bearer ${await routeTestToken('dev1')}`, 'idempotency-key': 'race' },
      payload: { imageVersion: 'v2-0-00', transferEnvironment: 'Testing' },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'ORBIT_ERR_IDEMPOTENCY_KEY_REUSED', problems: [{ field: 'imageVersion' }, { field: 'transferEnvironment' }] });
  });

  it('answers a repeat that raced the call binding its key as a later repeat is answered: 200, Idempotent-Replayed, that request (found by a review: 202, not replayed)', async () => {
    const first = 'a0000000-0000-4000-8000-0000000000f1';
    const app = routeTestGateway({
      uid: UID, image: { imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development'], versions: [{ imageVersion: 'v2-0-00', status: 'ready', environments: ['Development'] }] },
      transfers: {
        // Not found before the claim; bound to the first call, with this ask, by the time the claim binds it.
        claims: { claim: async () => ({ requestId: first, status: 'accepted', keyNamedItBefore: true }), find: async () => undefined, findKey: async () => undefined },
        publish: { transferRefused: async () => undefined },
        policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map() },
      },
    });
    const response = await app.inject({
      method: 'POST', url: `/v1/images/${UID}/transfers`, headers: { authorization: `Bearer ${await routeTestToken('dev1')}`, 'idempotency-key': 'race' },
      payload: { imageVersion: 'v2-0-00', transferEnvironment: 'Testing' },
    });
    expect([response.statusCode, response.headers['idempotent-replayed'], response.json()]).toEqual([200, 'true', { requestId: first, pid: 'c8fms06-c8bms18-e10', status: 'accepted', statusUrl: expect.stringContaining(first) as unknown }]);
  });

  it('answers a keyed call that joins a transfer under way 202 (the first of its key, no replay), as the one under way was sent, and a repeat of it as a replay', async () => {
    const running = 'a0000000-0000-4000-8000-0000000000f2';
    const { transfer, commands } = harness(new Map([['v2-0-00:Testing', { requestId: running, status: 'running' }]]));
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', notes: 'mine' }, 'dev1', UID, [], key('join'))).toMatchObject({ status: 202, replayed: undefined, body: { requestId: running } });
    expect(await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Testing', notes: 'mine' }, 'dev1', UID, [], key('join'))).toMatchObject({ status: 200, replayed: 'true', body: { requestId: running } });
    expect(commands).toEqual([]);
  });

  it('says in the API document that a request joining one under way does not apply its notes', async () => {
    const operation = (await harness().document()).paths['/v1/images/{uid}/transfers']?.['post'];
    expect(operation?.responses['202']).toMatchObject({ description: expect.stringContaining('notes are not applied') as unknown });
  });
});
