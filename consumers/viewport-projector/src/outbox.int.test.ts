import { childSpan, inTransaction } from '@orbit/lib';
import type { ViewportUpdated } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import { drainOutbox, enqueueUpdates } from './outbox.js';

let viewport: PrivateViewport;
beforeAll(async () => {
  viewport = await privateViewport('outbox', 6);
});
afterAll(async () => { await viewport.drop(); });

const update = (eventId: string, status: string): ViewportUpdated => ({ eventId, requestId: 'req-outbox', imageUID: 'uid-outbox', status } as unknown as ViewportUpdated);

/** As the projector enqueues: in its READ COMMITTED projection transaction. */
async function enqueue(event: ViewportUpdated): Promise<void> {
  await inTransaction(viewport.pool, (connection) => enqueueUpdates(connection, [{ event, trace: childSpan(undefined) }]), { isolation: 'READ COMMITTED' });
}

describe('draining the outbox while the projector goes on', () => {
  it('does not hold a projection transaction while it publishes, and still announces in the order enqueued', async () => {
    const published: string[] = [];
    const publishing = (ms: number) => ({
      publish: async (_topic: string, event: { eventId: string; status?: string }) => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        published.push(`${event.eventId}:${String(event.status)}`);
      },
    });
    await enqueue(update('r1', 'running'));
    // A drain publishing r1 to a slow broker (each batch handler drains after its commit, and the sweep every 5 s)...
    const slow = drainOutbox(viewport.pool, publishing(1_500));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // ...and the next projection transaction, the request's end, enqueueing its announcement meanwhile.
    const started = Date.now();
    await enqueue(update('r2', 'succeeded'));
    const waitedMs = Date.now() - started;
    // Its own drain, after its commit, finds the outbox's head being published and leaves it to that drain.
    const quick = await drainOutbox(viewport.pool, publishing(0));
    const drained = await slow;
    expect(waitedMs).toBeLessThan(1_000);
    expect(published).toEqual(['r1:running', 'r2:succeeded']);
    expect(quick + drained).toBe(2);
    const [unsent] = await viewport.pool.query<RowDataPacket[]>('SELECT id FROM viewport_outbox WHERE sent_at IS NULL');
    expect(unsent).toHaveLength(0);
  });
});
