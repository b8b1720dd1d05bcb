/**
 * The live projector's hold on a partition whose next event is gone (ViewPort restored from a backup older than the
 * topic's retention): it expected offset 2, the partition now starts at 5. Before, a second re-read landing on 5 again
 * counted as proof and offsets 2..4 were passed over with an info line (found by a disaster-recovery review).
 */
import { describe, expect, it } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { childSpan, newImageUID, SeekRequest, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import { memoryLogger } from '../../../test/helpers/memory-logger.js';
import { projectorBatchHandler, projectorHandler, type ProjectorDeps } from './handle.js';
import { gapLostToRetention, HistoryTruncatedLiveError } from './history.js';

/** A ViewPort that has applied its partition up to `nextOffset` (and answers nothing else: every call here stops before planning). */
function viewportAt(nextOffset: bigint): Pool {
  const connection = {
    query: async () => [[{ id: 1 }], []],
    execute: async (sql: string) => {
      if (!sql.startsWith('SELECT next_offset')) throw new Error(`unexpected statement: ${sql}`);
      return [[{ next_offset: nextOffset.toString() }], []];
    },
    beginTransaction: async () => undefined,
    commit: async () => undefined,
    rollback: async () => undefined,
    release: () => undefined,
  };
  return { getConnection: async () => connection } as unknown as Pool;
}

const { logger, lines } = memoryLogger();

function messageAt(offset: number): ConsumedMessage<OrbitEvent> {
  const event = sampleEvents(newImageUID(), `req-${offset}`)[TOPICS.imageStored];
  return { topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: logger, signal: new AbortController().signal };
}

function depsWith(low: () => bigint, expected = 2n): { deps: ProjectorDeps; asked: () => number } {
  let asked = 0;
  const deps: ProjectorDeps = {
    pool: viewportAt(expected), groupId: 'viewport-projector', publisher: { publish: async () => undefined },
    lowWatermark: async (topic, partition) => {
      expect([topic, partition]).toEqual([TOPICS.imageStored, 0]);
      asked += 1;
      return low();
    },
  };
  return { deps, asked: () => asked };
}

const outcomeOf = (work: Promise<void>): Promise<unknown> => work.then(() => 'projected', (error: unknown) => error);

describe('a live partition whose next event was removed by retention', () => {
  it('is held with a retriable ORBIT_ERR_HISTORY_TRUNCATED, at the committed offset and at the log start alike, one message or a batch', async () => {
    const { deps } = depsWith(() => 5n);
    const single = projectorHandler(deps);
    for (const offset of [6, 5, 5]) {
      const held = await outcomeOf(single(messageAt(offset)));
      expect(held).toBeInstanceOf(HistoryTruncatedLiveError);
      expect(held).toMatchObject({ code: 'ORBIT_ERR_HISTORY_TRUNCATED', retriable: true, low: 5n, expected: 2n });
      expect(String((held as Error).message)).toContain(`${TOPICS.imageStored}/0`);
    }
    const batchHeld = await outcomeOf(projectorBatchHandler(deps)([messageAt(5), messageAt(6), messageAt(7)]));
    expect(batchHeld).toMatchObject({ code: 'ORBIT_ERR_HISTORY_TRUNCATED', retriable: true });
  });

  it('says so at error once per partition and low watermark (the loop\'s retries say it at warn)', async () => {
    lines.length = 0;
    let low = 5n;
    const single = projectorHandler({ ...depsWith(() => low).deps, groupId: 'viewport-projector-said' });
    await outcomeOf(single(messageAt(6)));
    await outcomeOf(single(messageAt(5)));
    low = 7n;
    await outcomeOf(single(messageAt(7)));
    const errors = lines.filter((line) => line['level'] === 'error');
    expect(errors.map((line) => [line['code'], line['lowWatermark'], line['expected']])).toEqual([
      ['ORBIT_ERR_HISTORY_TRUNCATED', '5', '2'],
      ['ORBIT_ERR_HISTORY_TRUNCATED', '7', '2'],
    ]);
  });

  it('still re-reads a gap above the log start (a transaction\'s markers, aborted records, a database behind its group) as before', async () => {
    for (const low of [0n, 2n]) {
      const { deps, asked } = depsWith(() => low);
      const seek = await outcomeOf(projectorHandler({ ...deps, groupId: `viewport-projector-above-${low}` })(messageAt(6)));
      expect(seek).toBeInstanceOf(SeekRequest);
      expect(seek).toMatchObject({ code: 'ORBIT_ERR_SEEK', offset: '2' });
      expect(asked()).toBe(1);
    }
  });

  it('does not ask Kafka when a message delivered in the same call is before the gap (it is above the log start)', async () => {
    const { deps, asked } = depsWith(() => 5n);
    // Offset 0 is applied already: the gap 2..5 after it is unproven (1, the last applied, was not fetched with it), a
    // re-read, but no gap the call opens with, so no question for Kafka.
    const outcome = await outcomeOf(projectorBatchHandler(deps)([messageAt(0), messageAt(6)]));
    expect(outcome).toBeInstanceOf(SeekRequest);
    expect(asked()).toBe(0);
  });

  it('decides on the offsets alone: a gap opening below the log start is lost, one at or above it is not', () => {
    expect(gapLostToRetention(2n, 5n)).toBe(true);
    expect(gapLostToRetention(5n, 5n)).toBe(false);
    expect(gapLostToRetention(6n, 5n)).toBe(false);
  });
});
