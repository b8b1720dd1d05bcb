import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTopics, testKafka, uniqueSuffix } from '../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../test/helpers/viewport-db.js';
import { setGroupOffsets } from './kafka/group-offsets.js';
import { findLostProjection } from './projection-state.js';

const kafka = testKafka();
const admin = kafka.admin();
const topic = `test.projection-state.${uniqueSuffix()}`;
let viewport: PrivateViewport;

beforeAll(async () => {
  await createTestTopics(kafka, [topic], 2);
  await admin.connect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [0, 1, 2].map((n) => ({ partition: 0, value: String(n) })) });
  await producer.disconnect();
  viewport = await privateViewport('lost');
});

afterAll(async () => {
  await admin.disconnect();
  await viewport.drop();
});

describe('findLostProjection against the real broker and MySQL', () => {
  it('finds a projection lost once its group is past messages it holds no offset for, and nothing before or after', async () => {
    const group = `projector-${uniqueSuffix()}`;
    // A new projector: nothing committed, nothing applied.
    expect(await findLostProjection(admin, viewport.pool, group, [topic])).toEqual([]);
    // The database lost while Kafka kept the group's place.
    await setGroupOffsets(kafka, group, [{ topic, partition: 0, offset: '3' }]);
    expect(await findLostProjection(admin, viewport.pool, group, [topic])).toEqual([`${topic}/0`]);
    // A rebuild swapped the offsets back in (another group's rows do not count).
    await viewport.pool.query("INSERT INTO viewport_applied_offsets (consumer_group, topic, kafka_partition, next_offset, updated_at) VALUES ('someone-else', ?, 0, 3, UTC_TIMESTAMP(3))", [topic]);
    expect(await findLostProjection(admin, viewport.pool, group, [topic])).toEqual([`${topic}/0`]);
    await viewport.pool.query('INSERT INTO viewport_applied_offsets (consumer_group, topic, kafka_partition, next_offset, updated_at) VALUES (?, ?, 0, 3, UTC_TIMESTAMP(3))', [group, topic]);
    expect(await findLostProjection(admin, viewport.pool, group, [topic])).toEqual([]);
  });
});
