import { describe, expect, it } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { childSpan, ConfigError, createLogger, StoreUnavailableError, TOPICS, type DeadLetteredMessage } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import { projectorDeadLetterHook, refuseStatementBinlog } from './handle.js';

const stored = sampleEvents('img-hook', 'req-hook')['orbit.image.stored'];
const letter: DeadLetteredMessage<OrbitEvent> = {
  topic: TOPICS.imageStored, partition: 0, offset: '7', error: new Error('refused'),
  message: { topic: TOPICS.imageStored, partition: 0, offset: '7', key: stored.imageUID, event: stored, headers: {}, trace: childSpan(undefined), log: createLogger({ service: 'test', level: 'silent' }), signal: new AbortController().signal },
};
// Stands in for ViewPort away: the letter cannot be passed (recorded as applied), a retriable failure.
const away = new StoreUnavailableError('MySQL', new Error('connect ECONNREFUSED'));
const poolAway = { getConnection: () => Promise.reject(away) } as unknown as Pool;
const refusal = Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), { name: 'KafkaJSProtocolError', retriable: false });

describe('projectorDeadLetterHook', () => {
  it('reports both when the letter cannot be passed and the failure notice was refused, so the refusal is not lost unlogged', async () => {
    const published: string[] = [];
    const hook = projectorDeadLetterHook({ pool: poolAway, groupId: 'viewport-projector', publisher: { publish: async (topic) => { published.push(topic); throw refusal; } } });
    const error = await hook(letter).then(() => undefined, (caught: unknown) => caught);
    expect(published).toEqual([TOPICS.pipelineFailed]);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors).toEqual([away, refusal]);
  });

  it('lets the pass failure through alone when the notice went out', async () => {
    const hook = projectorDeadLetterHook({ pool: poolAway, groupId: 'viewport-projector', publisher: { publish: async () => undefined } });
    await expect(hook(letter)).rejects.toBe(away);
  });
});

describe('refuseStatementBinlog', () => {
  const serverWith = (row: Record<string, unknown>): Pool => ({ query: () => Promise.resolve([[row], []]) }) as unknown as Pool;

  // READ COMMITTED writes cannot be logged as statements: every message was refused (1665) and dead-lettered.
  it('refuses to start on a server whose binary log is in STATEMENT format, saying to use ROW or MIXED', async () => {
    const refused = await refuseStatementBinlog(serverWith({ logBin: 1, sqlLogBin: 1, format: 'STATEMENT' })).then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect(refused).toMatchObject({ code: 'ORBIT_ERR_CONFIG' });
    expect((refused as Error).message).toMatch(/binlog_format is STATEMENT.*'ROW' \(or 'MIXED'\)/);
  });

  it('starts on ROW, MIXED, or no binary log at all', async () => {
    await expect(refuseStatementBinlog(serverWith({ logBin: 1, sqlLogBin: 1, format: 'ROW' }))).resolves.toBeUndefined();
    await expect(refuseStatementBinlog(serverWith({ logBin: 1, sqlLogBin: 1, format: 'MIXED' }))).resolves.toBeUndefined();
    await expect(refuseStatementBinlog(serverWith({ logBin: 0, sqlLogBin: 1, format: 'STATEMENT' }))).resolves.toBeUndefined();
  });
});
