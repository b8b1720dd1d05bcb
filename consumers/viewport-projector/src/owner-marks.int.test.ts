import { describe, expect, it } from 'vitest';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { childSpan, newImageUID, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import { quietLogger, uniqueSuffix } from '../../../test/helpers/index.js';
import { privatePools } from '../../../test/helpers/viewport-db.js';
import { projectorBatchHandler } from './handle.js';

/**
 * Each owner's mark (migration 0020) moves in the transaction of every change to what that owner's images show, and
 * only then: the gateway keeps an owner's Helm index while it stays. Keyed by ViewPort as a whole, any upload by anyone
 * had every owner's index rendered again (found by a scale review).
 */
const poolOn = privatePools();

async function marks(pool: Pool): Promise<Map<string, string>> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT user_login, CAST(mark AS CHAR) AS mark FROM viewport_owner_marks');
  return new Map(rows.map((row) => [String(row['user_login']), String(row['mark'])]));
}

describe('owner marks', () => {
  it('moves an owner\'s mark with their own upload, chart and transfer (whoever sends it), not with another owner\'s, a rejection or a redelivery', async () => {
    const pool = await poolOn('marks');
    const project = projectorBatchHandler({ pool, groupId: `marks-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
    const offsets = new Map<string, number>();
    const message = (topic: string, event: OrbitEvent, offset?: number): ConsumedMessage<OrbitEvent> => {
      const at = offset ?? offsets.get(topic) ?? 0;
      if (offset === undefined) offsets.set(topic, at + 1);
      return { topic, partition: 0, offset: String(at), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal };
    };
    const ownerA = `mark-a-${uniqueSuffix()}`;
    const ownerB = `mark-b-${uniqueSuffix()}`;
    const eventsOf = (owner: string) => {
      const events = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`);
      const as = <E extends OrbitEvent>(event: E, username = owner): E => ({ ...event, actor: { ...event.actor, username } });
      return {
        stored: as(events[TOPICS.imageStored]), chart: as(events[TOPICS.chartGenerated]), rejected: as(events[TOPICS.imageRejected]),
        // A transfer is sent by a release manager: the index it changes is the image's owner's.
        promoted: as({ ...events[TOPICS.chartPromoted], requestId: `req-${uniqueSuffix()}`, targetEnvironment: 'Testing' }, 'release-manager'),
      };
    };
    const a = eventsOf(ownerA);
    const b = eventsOf(ownerB);

    // A's upload: A has a mark, B none yet.
    const storedA = message(TOPICS.imageStored, a.stored);
    await project([storedA]);
    const afterUploadA = (await marks(pool)).get(ownerA);
    expect(afterUploadA).toBeDefined();
    expect((await marks(pool)).has(ownerB)).toBe(false);

    // B's upload and chart: A's mark stays.
    await project([message(TOPICS.imageStored, b.stored)]);
    await project([message(TOPICS.chartGenerated, b.chart)]);
    const afterB = await marks(pool);
    expect(afterB.get(ownerA)).toBe(afterUploadA);
    expect(afterB.get(ownerB)).toBeDefined();

    // A's chart moves A's mark alone.
    await project([message(TOPICS.chartGenerated, a.chart)]);
    const afterChartA = await marks(pool);
    expect(afterChartA.get(ownerA)).not.toBe(afterUploadA);
    expect(afterChartA.get(ownerB)).toBe(afterB.get(ownerB));

    // A's version transferred by a release manager: A's mark moves, the release manager (who owns nothing) gets none.
    await project([message(TOPICS.chartPromoted, a.promoted)]);
    const afterTransferA = await marks(pool);
    expect(afterTransferA.get(ownerA)).not.toBe(afterChartA.get(ownerA));
    expect(afterTransferA.get(ownerB)).toBe(afterB.get(ownerB));
    expect(afterTransferA.has('release-manager')).toBe(false);

    // A rejection changes a request, not what anyone's images show; a redelivery (an applied offset) writes nothing.
    await project([message(TOPICS.imageRejected, b.rejected)]);
    await project([storedA]);
    expect(await marks(pool)).toEqual(afterTransferA);

    // One batch with both owners' versions moves both marks, each to a value of its own.
    const second = (events: ReturnType<typeof eventsOf>): OrbitEvent => ({ ...events.stored, requestId: `req-${uniqueSuffix()}`, metadata: { ...events.stored.metadata, imageVersion: 'v2-0-00' } });
    await project([message(TOPICS.imageStored, second(a)), message(TOPICS.imageStored, second(b))]);
    const afterBoth = await marks(pool);
    expect(afterBoth.get(ownerA)).not.toBe(afterTransferA.get(ownerA));
    expect(afterBoth.get(ownerB)).not.toBe(afterTransferA.get(ownerB));
    expect(afterBoth.get(ownerA)).not.toBe(afterBoth.get(ownerB));
  });
});
