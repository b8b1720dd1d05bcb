import { describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '@orbit/lib';
import type { EventLogReader, RequestRecord, TimelineEntry } from '../ports.js';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';

const ID = '6e4c5b48-0000-4000-8000-000000000001';
const UID = 'U'.repeat(60);
const finished: RequestRecord = { requestId: ID, kind: 'upload', imageUID: UID, imageVersion: 'v1-0-00', owner: 'dev1', status: 'succeeded', error: null };

const step = (eventType: string, payload: unknown = null): TimelineEntry => ({ pid: 'c8bms30-c32bre03-e85', eventType, at: '2026-12-01T10:00:00.000Z', correlationId: ID, payload });
/** Every step of an upload that succeeded, ViewPort's final update included. */
const settled = [...['upload-requested', 'image-validated', 'image-stored', 'helm-chart-generated'].map((eventType) => step(eventType)), step('viewport-updated', { status: 'succeeded' })];

/** An event log that gives `timeline()` and counts how often it was read. */
function countingLog(timeline: () => TimelineEntry[]): EventLogReader & { reads: number } {
  const log = { reads: 0, byCorrelationId: async () => { log.reads += 1; return timeline(); }, byImageUID: async () => ({ entries: [] }) };
  return log;
}

async function get(events: EventLogReader, query = '') {
  const app = routeTestGateway({ uid: UID, uploads: [finished], events });
  return app.inject({ url: `/v1/requests/${ID}${query}`, headers: { authorization: `Bearer ${await routeTestToken('dev1')}` } });
}

describe('GET /v1/requests/{id} when the event log cannot be read', () => {
  const unreadable: EventLogReader = {
    byCorrelationId: async () => { throw new StoreUnavailableError('dynamodb', 'the event log did not answer'); },
    byImageUID: async () => ({ entries: [] }),
  };

  it('answers the status (ViewPort\'s) with the steps marked unavailable instead of a 503', async () => {
    for (const query of ['', '?wait=1']) {
      const answer = await get(unreadable, query);
      expect([answer.statusCode, answer.json()], query).toEqual([200, expect.objectContaining({ requestId: ID, status: 'succeeded', steps: [], stepsUnavailable: true })]);
    }
  });

  it('says nothing of the kind when the steps were read, even when there are none yet', async () => {
    const answer = await get(countingLog(() => []));
    expect(answer.json()).toMatchObject({ status: 'succeeded', steps: [] });
    expect(answer.json()).not.toHaveProperty('stepsUnavailable');
  });
});

describe('GET /v1/requests/{id}?wait= for a finished request whose steps trail', () => {
  it('looks at the event log less and less often while a step does not come: a dozen reads a second, not a hundred', async () => {
    const log = countingLog(() => settled.slice(0, 2));
    const started = Date.now();
    const answer = await get(log, '?wait=1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(answer.json().steps.map((entry: { eventType: string }) => entry.eventType)).toEqual(['upload-requested', 'image-validated']);
    expect(log.reads).toBeLessThanOrEqual(12);
  });

  it('still sees steps that come a moment after the status at once', async () => {
    const from = Date.now();
    const log = countingLog(() => (Date.now() - from < 30 ? settled.slice(0, 2) : settled));
    const answer = await get(log, '?wait=5');
    expect(Date.now() - from).toBeLessThan(400);
    expect(answer.json().steps).toHaveLength(settled.length);
  });

  it('answers within the wait when the wall clock steps back during it (found by a review: it held the answer as long past the wait as the step)', async () => {
    const wallClock = Date.now.bind(Date);
    const spy = vi.spyOn(Date, 'now');
    try {
      // At the first look the clock is set 3 s back (NTP, a VM restored): the steps never settle, so the wait runs out.
      // Timed from that look, within the handler: building the app took seconds on a loaded machine.
      let firstLook = 0;
      const log = countingLog(() => {
        if (log.reads === 1) {
          firstLook = performance.now();
          spy.mockImplementation(() => wallClock() - 3_000);
        }
        return settled.slice(0, 2);
      });
      const answer = await get(log, '?wait=1');
      expect(answer.json().steps).toHaveLength(2);
      expect(performance.now() - firstLook).toBeLessThan(1_800);
    } finally {
      spy.mockRestore();
    }
  }, 15_000);

  it('answers with the steps read before when a later look fails, not without the status', async () => {
    let reads = 0;
    const events: EventLogReader = {
      byCorrelationId: async () => {
        reads += 1;
        if (reads > 1) throw new StoreUnavailableError('dynamodb', 'the event log did not answer');
        return settled.slice(0, 2);
      },
      byImageUID: async () => ({ entries: [] }),
    };
    const answer = await get(events, '?wait=5');
    expect([answer.statusCode, answer.json().steps.length, reads]).toEqual([200, 2, 2]);
    expect(answer.json()).not.toHaveProperty('stepsUnavailable');
  });
});
