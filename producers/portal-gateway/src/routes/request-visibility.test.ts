import { describe, expect, it } from 'vitest';
import type { EventLogReader, ImageView, RequestRecord, TimelineEntry } from '../ports.js';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';

const UID = 'V'.repeat(60);
const POLICY = { chain: ['Development', 'Testing', 'Staging', 'Production'] as const, roles: new Map([['Production' as const, 'release-manager']]) };

/** dev1's image: v1 went all the way to Production, v2 is still in Development, v3 reached Testing only. */
const image: ImageView = {
  imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development', 'Testing', 'Staging', 'Production'],
  versions: [
    { imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing', 'Staging', 'Production'] },
    { imageVersion: 'v2-0-00', status: 'ready', environments: ['Development'] },
    { imageVersion: 'v3-0-00', status: 'ready', environments: ['Development', 'Testing'] },
  ],
};

const id = (n: number): string => `b0000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const upload = (n: number, imageVersion: string): RequestRecord => ({ requestId: id(n), kind: 'upload', imageUID: UID, imageVersion, owner: 'dev1', status: 'succeeded', error: null });
const promotion = (n: number, imageVersion: string, targetEnvironment: string, owner = 'dev1', status: RequestRecord['status'] = 'succeeded'): RequestRecord => ({
  requestId: id(n), kind: 'transfer', imageUID: UID, imageVersion, owner, status, error: null, targetEnvironment, notes: `${owner}'s notes`,
});

/** Every request about the image, each with who may read it: the requester and the owner always, a release manager as the events show it. */
const requests = {
  v1Upload: upload(1, 'v1-0-00'),
  v2Upload: upload(2, 'v2-0-00'),
  v1IntoTesting: promotion(3, 'v1-0-00', 'Testing'),
  v1IntoStaging: promotion(4, 'v1-0-00', 'Staging'),
  v1IntoProduction: promotion(5, 'v1-0-00', 'Production', 'rm1'),
  v3IntoTesting: promotion(6, 'v3-0-00', 'Testing'),
  // rm1 asked for v2, which it does not see: refused VERSION_NOT_FOUND, yet rm1's own request.
  rm1AskedV2: promotion(7, 'v2-0-00', 'Production', 'rm1', 'failed'),
};

/** A request's steps as the event log holds them: each names its version (uploads in their metadata) and who asked. */
function stepsOf(record: RequestRecord): TimelineEntry[] {
  const actor = { username: record.owner };
  const first = record.kind === 'upload'
    ? { eventType: 'upload-requested', payload: { actor, metadata: { imageVersion: record.imageVersion } } }
    : { eventType: record.status === 'failed' ? 'transfer-failed' : 'transfer-requested', payload: { actor, imageVersion: record.imageVersion, targetEnvironment: record.targetEnvironment } };
  // ViewPort's update names no version when the request failed: it goes with the rest of its request.
  const last = { eventType: 'viewport-updated', payload: { actor, status: record.status, imageVersion: record.status === 'failed' ? null : record.imageVersion } };
  return [first, last].map((step, index) => ({ pid: `p-${record.requestId}-${index}`, at: '2026-12-06T10:00:00.000Z', correlationId: record.requestId, ...step }));
}

const log = Object.values(requests).flatMap(stepsOf);
const events: EventLogReader = {
  byCorrelationId: async (correlationId) => log.filter((entry) => entry.correlationId === correlationId),
  byImageUID: async () => ({ entries: log }),
};
const app = routeTestGateway({
  uid: UID, image, uploads: Object.values(requests), events,
  transfers: { claims: { claim: async () => ({ requestId: 'r', status: null }), find: async () => undefined }, publish: { transferRefused: async () => undefined }, policy: POLICY },
});

async function get(url: string, user: string, roles: readonly string[]) {
  return app.inject({ url, headers: { authorization: `Bearer ${await routeTestToken(user, roles)}` } });
}

/** The requests `user` reads by id, and those whose steps its image's events show them (none when the image is a 404). */
async function viewsOf(user: string, roles: readonly string[] = []): Promise<{ byId: string[]; inTimeline: string[] }> {
  const byId: string[] = [];
  for (const [name, record] of Object.entries(requests)) {
    const answer = await get(`/v1/requests/${record.requestId}`, user, roles);
    expect([200, 404], `${user} reading ${name}`).toContain(answer.statusCode);
    if (answer.statusCode === 200) byId.push(name);
  }
  const timeline = await get(`/v1/images/${UID}/events`, user, roles);
  const shown = timeline.statusCode === 200 ? new Set((timeline.json() as { events: TimelineEntry[] }).events.map((event) => event.correlationId)) : new Set<string>();
  return { byId, inTimeline: Object.entries(requests).filter(([, record]) => shown.has(record.requestId)).map(([name]) => name) };
}

describe('GET /v1/requests/{id} and GET /v1/images/{uid}/events, who reads which request', () => {
  it('the owner reads every request about their image, by id and in its events', async () => {
    const views = await viewsOf('dev1');
    expect(views.byId).toEqual(Object.keys(requests));
    expect(views.inTimeline).toEqual(views.byId);
  });

  it('another user reads none of them: 404 by id, and the image is a 404', async () => {
    expect(await viewsOf('dev2')).toEqual({ byId: [], inTimeline: [] });
    expect((await get(`/v1/images/${UID}/events`, 'dev2', [])).statusCode).toBe(404);
  });

  it('a release manager reads by id exactly the requests whose steps the events show them: every one about a version it sees, none about a version it does not (found by a review: a Staging promotion in the events answered 404)', async () => {
    const views = await viewsOf('rm2', ['release-manager']);
    // v1 is in Staging and Production: its upload and every promotion of it are its history. v2 (Development) and v3
    // (Testing) are not in an environment the role reads: neither their upload nor their Testing promotion is shown.
    expect(views.byId).toEqual(['v1Upload', 'v1IntoTesting', 'v1IntoStaging', 'v1IntoProduction']);
    expect(views.inTimeline).toEqual(views.byId);
  });

  it('a release manager also reads its own request about a version it does not see, by id and in the events, and another release manager does not', async () => {
    const own = await viewsOf('rm1', ['release-manager']);
    expect(own.byId).toEqual(['v1Upload', 'v1IntoTesting', 'v1IntoStaging', 'v1IntoProduction', 'rm1AskedV2']);
    expect(own.inTimeline).toEqual(own.byId);
    expect((await viewsOf('rm2', ['release-manager'])).byId).not.toContain('rm1AskedV2');
  });

  it('answers a long poll (?wait=) by the same rule', async () => {
    expect((await get(`/v1/requests/${requests.v1IntoStaging.requestId}?wait=0.2`, 'rm2', ['release-manager'])).statusCode).toBe(200);
    expect((await get(`/v1/requests/${requests.v3IntoTesting.requestId}?wait=0.2`, 'rm2', ['release-manager'])).statusCode).toBe(404);
  });
});
