import { describe, expect, it } from 'vitest';
import type { EventLogReader, ImageQuery, ImageView, RequestRecord, TimelineEntry } from '../ports.js';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';
const UID = 'N'.repeat(60);

/** A gateway whose ViewPort holds no image yet, and whose request store holds `uploads`. */
function gateway(uploads: readonly RequestRecord[]) {
  const app = routeTestGateway({ uid: UID, uploads });
  const get = async (url: string, user = 'dev1') => {
    const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await routeTestToken(user)}` } });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  };
  return { get };
}

const upload = (status: RequestRecord['status']): RequestRecord => ({ requestId: 'req-1', kind: 'upload', imageUID: UID, imageVersion: 'v1-0-00', owner: 'dev1', status, error: null });

describe('GET /v1/images/{uid} before the first version is validated', () => {
  it('answers 404 IMAGE_NOT_READY naming the caller\'s upload still under way, for the image and its events', async () => {
    const { get } = gateway([upload('running')]);
    for (const url of [`/v1/images/${UID}`, `/v1/images/${UID}/events`]) {
      expect(await get(url)).toMatchObject({
        status: 404, body: { code: 'IMAGE_NOT_READY', message: expect.stringMatching(/no validated version yet: your upload req-1 of v1-0-00 is still under way; follow GET \/v1\/requests\/req-1\?wait=30/) as unknown },
      });
    }
  });

  it('stays a plain 404 for another user (UIDs cannot be probed), whether the upload is under way or failed', async () => {
    expect(await gateway([upload('accepted')]).get(`/v1/images/${UID}`, 'someone-else')).toMatchObject({ status: 404, body: { code: 'ORBIT_ERR_NOT_FOUND' } });
    expect(await gateway([upload('failed')]).get(`/v1/images/${UID}`, 'someone-else')).toMatchObject({ status: 404, body: { code: 'ORBIT_ERR_NOT_FOUND' } });
  });
});

/** Every page of the image's events as `user` with `roles` sees them, `limit` a page, following nextCursor to its end: each page's event types. */
async function walkEvents(app: ReturnType<typeof routeTestGateway>, user: string, roles: readonly string[], limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const response = await app.inject({ url: `/v1/images/${UID}/events?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, headers: { authorization: `Bearer ${await routeTestToken(user, roles)}` } });
    expect(response.statusCode).toBe(200);
    const body = response.json() as { events: TimelineEntry[]; nextCursor: string | null };
    pages.push(body.events.map((event) => event.eventType));
    cursor = body.nextCursor;
  } while (cursor !== null);
  return pages;
}

describe('GET /v1/images/{uid}/events, a page at a time', () => {
  const image: ImageView = {
    imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development', 'Staging'],
    versions: [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing', 'Staging'] }, { imageVersion: 'v2-0-00', status: 'ready', environments: ['Development'] }],
  };
  // v2's events (which a release manager may not see) in runs between v1's, as the log of a busy image holds them.
  // And one run of 38 of v2's, longer than the reads a page takes before it holds an event.
  const log: TimelineEntry[] = Array.from({ length: 80 }, (_, index) => ({
    pid: `p-${index}`, eventType: `step-${index}`, at: '2026-12-04T00:00:00.000Z', correlationId: 'c', payload: { imageVersion: index % 8 < 2 && (index < 40 || index >= 72) ? 'v1-0-00' : 'v2-0-00' },
  }));
  const events: EventLogReader = {
    byCorrelationId: async () => [],
    byImageUID: async (_uid, page) => {
      const from = page.after ? Number(page.after.eventKey) + 1 : 0;
      const entries = log.slice(from, from + page.limit);
      const last = from + entries.length - 1;
      return { entries, ...(last < log.length - 1 ? { next: { eventKey: String(last), pid: `p-${last}` } } : {}) };
    },
  };
  const app = routeTestGateway({
    uid: UID, image, events,
    transfers: { claims: { claim: async () => ({ requestId: 'r', status: null }), find: async () => undefined }, publish: { transferRefused: async () => undefined }, policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Staging', 'release-manager']]) } },
  });
  const walk = (user: string, roles: readonly string[], limit: number) => walkEvents(app, user, roles, limit);

  it('fills each page with what a release manager may see, never an empty page with a cursor (found by a probe)', async () => {
    const visible = log.filter((event) => (event.payload as { imageVersion: string }).imageVersion === 'v1-0-00').map((event) => event.eventType);
    for (const limit of [1, 3, 7]) {
      const pages = await walk('rm1', ['release-manager'], limit);
      expect(pages.flat(), `limit ${limit}`).toEqual(visible);
      // Full pages, short only where a page gave up filling itself in a long run of others' events; never empty but for
      // the last (the log's tail may hold only others' events, which a page cannot know without reading them).
      expect(pages.slice(0, -1).every((page) => page.length > 0), `limit ${limit}: ${JSON.stringify(pages)}`).toBe(true);
      expect(pages.filter((page) => page.length < limit).length, `limit ${limit}: ${JSON.stringify(pages)}`).toBeLessThanOrEqual(2);
    }
    expect((await walk('dev1', [], 16)).flat()).toEqual(log.map((event) => event.eventType));
  });

  it('shows a release manager a request whole even when a page\'s read cuts it: a refused transfer\'s ViewPort update read apart from its failure', async () => {
    const entry = (index: number, correlationId: string, payload: unknown): TimelineEntry => ({ pid: `q-${index}`, eventType: `step-${index}`, at: '2026-12-04T00:00:00.000Z', correlationId, payload });
    const requests: TimelineEntry[] = [
      entry(0, 'up', { metadata: { imageVersion: 'v1-0-00' } }),
      entry(1, 'seen', { imageVersion: 'v1-0-00', reasonCode: 'NOT_A_PROMOTION' }), entry(2, 'seen', { status: 'failed', imageVersion: null }),
      entry(3, 'hidden', { imageVersion: 'v2-0-00', reasonCode: 'ROLE_REQUIRED' }), entry(4, 'hidden', { status: 'failed', imageVersion: null }),
      // Read first, before the failure it goes with: the update can land in the log ahead of it.
      entry(5, 'late', { status: 'failed', imageVersion: null }), entry(6, 'late', { imageVersion: 'v1-0-00', reasonCode: 'NOT_A_PROMOTION' }),
    ];
    const split = routeTestGateway({
      uid: UID, image, transfers: { claims: { claim: async () => ({ requestId: 'r', status: null }), find: async () => undefined }, publish: { transferRefused: async () => undefined }, policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Staging', 'release-manager']]) } },
      events: {
        byCorrelationId: async (correlationId) => requests.filter((request) => request.correlationId === correlationId),
        byImageUID: async (_uid, page) => {
          const from = page.after ? Number(page.after.eventKey) + 1 : 0;
          const entries = requests.slice(from, from + page.limit);
          const last = from + entries.length - 1;
          return { entries, ...(last < requests.length - 1 ? { next: { eventKey: String(last), pid: `q-${last}` } } : {}) };
        },
      },
    });
    const seenBy = async (limit: number): Promise<string[]> => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const response = await split.inject({ url: `/v1/images/${UID}/events?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, headers: { authorization: `Bearer ${await routeTestToken('rm1', ['release-manager'])}` } });
        const body = response.json() as { events: TimelineEntry[]; nextCursor: string | null };
        seen.push(...body.events.map((event) => event.eventType));
        cursor = body.nextCursor;
      } while (cursor !== null);
      return seen;
    };
    for (const limit of [1, 2, 3, 20]) expect(await seenBy(limit), `limit ${limit}`).toEqual(['step-0', 'step-1', 'step-2', 'step-5', 'step-6']);
  });

  it('refuses a cursor another listing gave out, or another image\'s, or one holding an empty position, with 400 (a 500 before; found by a probe)', async () => {
    const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const cursor of [json(['images', 'billing-api', UID]), json([`events:${'M'.repeat(60)}`, '3', 'p-3']), json([`events:${UID}`, '', '']), json(['', ''])]) {
      const response = await app.inject({ url: `/v1/images/${UID}/events?cursor=${cursor}`, headers: { authorization: `Bearer ${await routeTestToken('dev1')}` } });
      expect([response.statusCode, response.json().problems], cursor).toEqual([400, [{ field: 'querystring.cursor', message: 'cursor is not one this listing gave out with these filters: pass a nextCursor as it came, with the query of the page it came with' }]]);
    }
  });
});

describe('GET /v1/images/{uid}/versions, newest first, a page at a time', () => {
  const versions = Array.from({ length: 7 }, (_, at) => ({ imageVersion: `v${at + 1}-0-00`, status: 'ready', environments: at % 3 === 0 ? ['Development', 'Testing', 'Staging'] : ['Development'] }));
  const image: ImageView = { imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development', 'Testing', 'Staging'], versions };
  const app = routeTestGateway({
    uid: UID, image,
    transfers: { claims: { claim: async () => ({ requestId: 'r', status: null }), find: async () => undefined }, publish: { transferRefused: async () => undefined }, policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Staging', 'release-manager']]) } },
  });
  const get = async (url: string, user = 'dev1', roles: readonly string[] = []) => {
    const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await routeTestToken(user, roles)}` } });
    return { status: response.statusCode, body: response.json() as { versions: { imageVersion: string }[]; nextCursor: string | null; code?: string } };
  };
  const walk = async (user: string, roles: readonly string[], limit: number): Promise<string[][]> => {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const { status, body } = await get(`/v1/images/${UID}/versions?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, user, roles);
      expect(status).toBe(200);
      pages.push(body.versions.map((version) => version.imageVersion));
      cursor = body.nextCursor;
    } while (cursor);
    return pages;
  };

  it('gives the owner every version once, newest first, in pages of the size asked for (found by a probe: a thousand versions were megabytes per read)', async () => {
    expect(await walk('dev1', [], 3)).toEqual([['v7-0-00', 'v6-0-00', 'v5-0-00'], ['v4-0-00', 'v3-0-00', 'v2-0-00'], ['v1-0-00']]);
    expect((await walk('dev1', [], 50)).flat()).toHaveLength(7);
  });

  it('gives a release manager only the versions in the environments their role reads, and anyone else a 404', async () => {
    expect((await walk('rm1', ['release-manager'], 1)).flat()).toEqual(['v7-0-00', 'v4-0-00', 'v1-0-00']);
    expect(await get(`/v1/images/${UID}/versions`, 'someone-else')).toMatchObject({ status: 404, body: { code: 'ORBIT_ERR_NOT_FOUND' } });
    expect((await get(`/v1/images/${'Z'.repeat(60)}/versions`)).status).toBe(404);
  });

  it('refuses a cursor of another listing, another image or a tampered position with 400', async () => {
    const first = await get(`/v1/images/${UID}/versions?limit=2`);
    const cursor = String(first.body.nextCursor);
    expect((await get(`/v1/images/${UID}/events?cursor=${cursor}`)).status).toBe(400);
    const forged = Buffer.from(JSON.stringify([`versions:${UID}`, 'not-a-number', 'v1-0-00'])).toString('base64url');
    expect((await get(`/v1/images/${UID}/versions?cursor=${forged}`)).status).toBe(400);
    expect((await get(`/v1/images/${UID}/versions?limit=0`)).status).toBe(400);
  });
});

describe('GET /v1/images/{uid}/versions?environment= and GET /v1/images/{uid}?environment=', () => {
  const image: ImageView = { imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development'], versions: Array.from({ length: 3 }, (_, at) => ({ imageVersion: `v${at + 1}-0-00`, status: 'ready', environments: ['Development'] })) };
  const app = routeTestGateway({ uid: UID, image });
  const get = async (url: string) => {
    const response = await app.inject({ url, headers: { authorization: `Bearer ${await routeTestToken('dev1')}` } });
    return { status: response.statusCode, body: response.json() as { nextCursor?: string | null; code?: string; problems?: { field: string }[] } };
  };

  it('takes the environment in any letter case and refuses an unknown one with 400 UNKNOWN_ENVIRONMENT, as the listing does (it was refused as an unknown parameter)', async () => {
    for (const url of [`/v1/images/${UID}/versions?environment=testing`, `/v1/images/${UID}/versions?environment=DEVELOPMENT`, `/v1/images/${UID}?environment=testing`]) expect((await get(url)).status, url).toBe(200);
    for (const url of [`/v1/images/${UID}/versions?environment=Prod`, `/v1/images/${UID}?environment=Prod`]) {
      expect(await get(url), url).toMatchObject({ status: 400, body: { code: 'UNKNOWN_ENVIRONMENT', problems: [{ field: 'querystring.environment' }] } });
    }
  });

  it('binds a versions cursor to its environment: one of the filtered pages is refused on the unfiltered ones and back, and kept across letter case', async () => {
    const filtered = String((await get(`/v1/images/${UID}/versions?limit=1&environment=development`)).body.nextCursor);
    const unfiltered = String((await get(`/v1/images/${UID}/versions?limit=1`)).body.nextCursor);
    expect((await get(`/v1/images/${UID}/versions?limit=1&cursor=${filtered}`)).status).toBe(400);
    expect((await get(`/v1/images/${UID}/versions?limit=1&environment=Development&cursor=${unfiltered}`)).status).toBe(400);
    expect((await get(`/v1/images/${UID}/versions?limit=1&environment=Testing&cursor=${filtered}`)).status).toBe(400);
    expect((await get(`/v1/images/${UID}/versions?limit=1&environment=DEVELOPMENT&cursor=${filtered}`)).status).toBe(200);
    expect((await get(`/v1/images/${UID}/versions?limit=1&cursor=${unfiltered}`)).status).toBe(200);
  });
});

describe('GET /v1/images?environment=', () => {
  it('takes any letter case and refuses an unknown environment with 400, as every other environment parameter does (found by a probe)', async () => {
    const searched: ImageQuery[] = [];
    const app = routeTestGateway({ uid: UID, searched });
    const search = async (query: string) => app.inject({ url: `/v1/images?${query}`, headers: { authorization: `Bearer ${await routeTestToken('dev1')}` } });
    for (const environment of ['testing', 'TESTING', 'Testing']) expect((await search(`environment=${environment}`)).statusCode).toBe(200);
    expect(searched.map((query) => query.environment)).toEqual(['Testing', 'Testing', 'Testing']);
    const unknown = await search('environment=Prod');
    expect([unknown.statusCode, unknown.json().problems?.[0]?.field]).toEqual([400, 'querystring.environment']);
    expect(searched).toHaveLength(3);
  });
});

describe('GET /v1/images/{uid}/events with a step published twice', () => {
  it('shows the step once, as a request\'s steps do (its stage ran again and the log has a row per message)', async () => {
    const image: ImageView = { imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development'], versions: [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development'] }] };
    const step = (pid: string, eventId: string, at: string): TimelineEntry => ({ pid, eventType: pid, at, correlationId: 'c', payload: { imageVersion: 'v1-0-00', eventId } });
    const log = [step('validated', 'e-1', '2026-12-04T00:00:01.000Z'), step('stored', 'e-2', '2026-12-04T00:00:02.000Z'), step('stored', 'e-2', '2026-12-04T00:00:09.000Z'), step('charted', 'e-3', '2026-12-04T00:00:10.000Z')];
    const events: EventLogReader = { byCorrelationId: async () => [], byImageUID: async () => ({ entries: log }) };
    const app = routeTestGateway({ uid: UID, image, events });
    const response = await app.inject({ url: `/v1/images/${UID}/events`, headers: { authorization: `Bearer ${await routeTestToken('dev1')}` } });
    expect((response.json() as { events: TimelineEntry[] }).events.map((event) => [event.pid, event.at])).toEqual([
      ['validated', '2026-12-04T00:00:01.000Z'], ['stored', '2026-12-04T00:00:02.000Z'], ['charted', '2026-12-04T00:00:10.000Z'],
    ]);
  });
});

describe('GET /v1/images/{uid} and /v1/images of an image of many versions', () => {
  const versions = Array.from({ length: 150 }, (_, index) => ({ imageVersion: `v1-0-${String(index).padStart(3, '0')}`, status: 'ready', environments: index < 3 ? ['Development', 'Testing', 'Staging'] : ['Development'] }));
  const image: ImageView = { imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: 'latest', environments: ['Development', 'Testing', 'Staging'], versions };

  it('shows the newest 100 versions, oldest first, with the count of all and where every one is present; a role holder, of those they read', async () => {
    const app = routeTestGateway({
      uid: UID, image,
      transfers: { claims: { claim: async () => ({ requestId: 'r', status: null }), find: async () => undefined }, publish: { transferRefused: async () => undefined }, policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Staging', 'release-manager']]) } },
    });
    const read = async (user: string, roles: string[] = []) => (await app.inject({ url: `/v1/images/${UID}`, headers: { authorization: `Bearer ${await routeTestToken(user, roles)}` } })).json() as ImageView;
    const own = await read('dev1');
    expect([own.versionCount, own.versions.length, own.versions[0]?.['imageVersion'], own.versions.at(-1)?.['imageVersion'], own.environments])
      .toEqual([150, 100, 'v1-0-050', 'v1-0-149', ['Development', 'Testing', 'Staging']]);
    const manager = await read('rm', ['release-manager']);
    expect([manager.versionCount, manager.versions.map((version) => version['imageVersion'])]).toEqual([3, ['v1-0-000', 'v1-0-001', 'v1-0-002']]);
  });

  it('asks the store for each image of a listing page with its newest 10 versions, not whole', async () => {
    const searched: ImageQuery[] = [];
    const app = routeTestGateway({ uid: UID, image, searched });
    expect((await app.inject({ url: '/v1/images', headers: { authorization: `Bearer ${await routeTestToken('dev1')}` } })).statusCode).toBe(200);
    expect(searched.map((query) => query.newest)).toEqual([10]);
  });
});

describe('GET /v1/images/{uid}/events of a big image', () => {
  const image: ImageView = {
    imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development', 'Testing'],
    versions: [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing'] }, { imageVersion: 'v2-0-00', status: 'ready', environments: ['Development'] }],
  };
  /** A gateway whose release managers read Staging (and Testing, the environment before it). */
  const gatewayOver = (events: EventLogReader, reads: string[] = []) => routeTestGateway({
    uid: UID, image, events, reads,
    transfers: { claims: { claim: async () => ({ requestId: 'r', status: null }), find: async () => undefined }, publish: { transferRefused: async () => undefined }, policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Staging', 'release-manager']]) } },
  });
  /** An event log over `log`, a row a position, counting the reads of the image's rows and the rows they took. */
  const logOf = (log: readonly TimelineEntry[]) => {
    const read = { queries: 0, rows: 0 };
    const events: EventLogReader = {
      byCorrelationId: async () => [],
      byImageUID: async (_uid, page) => {
        const from = page.after ? Number(page.after.eventKey) + 1 : 0;
        const entries = log.slice(from, from + page.limit);
        read.queries += 1;
        read.rows += entries.length;
        const last = from + entries.length - 1;
        return { entries, ...(last < log.length - 1 ? { next: { eventKey: String(last), pid: `p-${last}` } } : {}) };
      },
    };
    return { events, read };
  };
  const step = (index: number, imageVersion: string): TimelineEntry => ({ pid: `p-${index}`, eventType: `step-${index}`, at: '2026-12-06T00:00:00.000Z', correlationId: `c-${index}`, payload: { imageVersion } });
  const walk = walkEvents;

  it('reads whose image it is and which versions the caller sees, never the image whole (found by a review: 33 MB a page at 10 000 versions)', async () => {
    const log = Array.from({ length: 12 }, (_, index) => step(index, index % 3 === 0 ? 'v1-0-00' : 'v2-0-00'));
    const reads: string[] = [];
    const app = gatewayOver(logOf(log).events, reads);
    expect((await walk(app, 'dev1', [], 5)).flat()).toEqual(log.map((entry) => entry.eventType));
    expect((await walk(app, 'rm1', ['release-manager'], 2)).flat()).toEqual(['step-0', 'step-3', 'step-6', 'step-9']);
    const nobody = await app.inject({ url: `/v1/images/${UID}/events`, headers: { authorization: `Bearer ${await routeTestToken('someone-else')}` } });
    expect(nobody.statusCode).toBe(404);
    expect([...new Set(reads)]).toEqual(['outline']);
  });

  it('reads a long run of others\' events in growing chunks and bounds what a page reads, passing over none the caller sees (found by a review: 38.9 s at limit=5 over 10 000)', async () => {
    // 3 000 of v2's events, a run of v1's longer than a page, 25 000 more of v2's (past what one page reads), then v1's again.
    const versions = [...Array<string>(3_000).fill('v2-0-00'), ...Array<string>(12).fill('v1-0-00'), ...Array<string>(25_000).fill('v2-0-00'), ...Array<string>(3).fill('v1-0-00')];
    const log = versions.map((imageVersion, index) => step(index, imageVersion));
    const { events, read } = logOf(log);
    const app = gatewayOver(events);
    const pages = await walk(app, 'rm1', ['release-manager'], 5);
    expect(pages.flat()).toEqual(log.filter((entry) => (entry.payload as { imageVersion: string }).imageVersion === 'v1-0-00').map((entry) => entry.eventType));
    expect(pages.every((page) => page.length <= 5)).toBe(true);
    // A read per `limit` rows was 5 600 reads; a page past 20 000 rows answers what it has (here nothing) with its cursor.
    expect(read.queries).toBeLessThan(150);
    expect(pages.filter((page) => page.length === 0).length).toBeLessThanOrEqual(2);
    // Every row is read once, and what a page read too far and read again only as far as it takes.
    expect(read.rows).toBeLessThan(log.length * 1.2);
  });
});
