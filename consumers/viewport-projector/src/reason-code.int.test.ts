import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { childSpan, MALFORMED_REASON_CODE, newImageUID, REASON_CODE_PATTERN, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import { mysqlRequestStore } from '../../../producers/portal-gateway/src/stores/mysql-requests.js';
import { quietLogger, uniqueSuffix } from '../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import { passDeadLetters, projectorBatchHandler } from './handle.js';

let viewport: PrivateViewport;
let pool: Pool;
beforeAll(async () => {
  viewport = await privateViewport('reasoncode');
  pool = viewport.pool;
});
afterAll(async () => { await viewport.drop(); });

const consumed = (topic: string, event: OrbitEvent, offset: number): ConsumedMessage<OrbitEvent> => ({
  topic, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
});

describe('a failure event\'s reason code in ViewPort (MariaDB)', () => {
  for (const topic of [TOPICS.pipelineFailed, TOPICS.imageRejected] as const) {
    it(`fails the request of a ${topic} whose reasonCode is not one (65 or 10 000 characters, control characters, non-ASCII, empty) MALFORMED_REASON_CODE, and the gateway's answer quotes the code; it failed with ER_DATA_TOO_LONG and left the request running (found by a review)`, async () => {
      const groupId = `test-${uniqueSuffix()}`;
      const handle = projectorBatchHandler({ pool, groupId, publisher: { publish: async () => undefined } });
      const sample = sampleEvents(newImageUID(), randomUUID())[topic];
      const codes = ['A'.repeat(65), 'B'.repeat(10_000), 'BAD\u0000\n\u0007CODE', 'ÜBERGRÖSSE_\u{1F600}', '\u{1F600}'.repeat(65), ''];
      const failures = codes.map((reasonCode) => ({ ...sample, requestId: randomUUID(), reasonCode }));
      const wellFormed = { ...sample, requestId: randomUUID() };
      // One batch: a malformed code no longer rolls back the events beside it.
      await handle([...failures, wellFormed].map((event, offset) => consumed(topic, event, offset)));
      const store = mysqlRequestStore(pool);
      for (const [index, failure] of failures.entries()) {
        const code = codes[index] ?? '';
        const request = await store.get(failure.requestId);
        expect(request, code.slice(0, 20)).toMatchObject({ status: 'failed', error: { code: MALFORMED_REASON_CODE } });
        expect(request?.error?.message).toBe(`reason code ${JSON.stringify(code)} (${[...code].length} characters) is not a reason code (${REASON_CODE_PATTERN}); the failure's message: ${sample.message}`);
      }
      expect(await store.get(wellFormed.requestId)).toMatchObject({ status: 'failed', error: { code: sample.reasonCode, message: sample.message } });
      const [applied] = await pool.execute<RowDataPacket[]>('SELECT next_offset FROM viewport_applied_offsets WHERE consumer_group = ?', [groupId]);
      expect(applied.map((row) => String(row['next_offset']))).toEqual([String(failures.length + 1)]);
    });
  }

  // A guard, not a fix: INSERT IGNORE has MariaDB cut the code to the column. A plain INSERT would fail the pass,
  // and the partition would be re-read and the message set aside again for ever.
  it('passes a letter whose error code is longer than viewport_set_aside.error_code, recording it cut', async () => {
    const groupId = `test-${uniqueSuffix()}`;
    const pass = passDeadLetters({ pool, groupId });
    const event = sampleEvents(newImageUID(), randomUUID())['orbit.image.stored'];
    const error = Object.assign(new Error('refused'), { code: `E_${'X'.repeat(200)}` });
    await pass({ topic: TOPICS.imageStored, partition: 0, offset: '0', error, message: consumed(TOPICS.imageStored, event, 0) });
    const [rows] = await pool.execute<RowDataPacket[]>('SELECT error_code FROM viewport_set_aside WHERE consumer_group = ?', [groupId]);
    expect(rows.map((row) => row['error_code'])).toEqual([`E_${'X'.repeat(62)}`]);
  });
});
