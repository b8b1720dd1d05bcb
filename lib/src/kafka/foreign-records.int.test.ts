/**
 * Records Orbit's own producer never writes but other clients and the broker
 * do: compressed with lz4, snappy or zstd (by librdkafka, or by the broker
 * recompressing to a topic's compression.type), or with a header that has no
 * value. The loop must hand each over and go on past it.
 */
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadSchemas, sampleEvents, type TransferRequested } from '@orbit/schemas';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { quietLogger, testConfig, testKafka, uniqueSuffix, waitFor } from '../../../test/helpers/index.js';
import { EventCodec } from '../codec.js';
import { retryPolicy } from '../retry.js';
import { ConsumeLoop, type ConsumedMessage } from './consume-loop.js';
import { CONSUMER_EVENTS } from './instrumentation.js';
import { EventPublisher } from './publisher.js';

const execFileAsync = promisify(execFile);
/** Confluent's Python client (librdkafka inside), as test/e2e/subscribe.test.ts pins it, in the same cached virtualenv. */
const PYTHON_CLIENT = 'confluent-kafka[avro]==2.16.1';
const VENV = join(homedir(), '.cache', 'orbit', 'python-subscriber');
const PYTHON = join(VENV, 'bin', 'python');

/** Produces the records it reads on stdin to partition 0, each batch compressed as told, and fails unless all are acknowledged. */
const PRODUCE = `
import json, sys
from confluent_kafka import Producer
spec = json.load(sys.stdin)
failed = []
p = Producer({'bootstrap.servers': spec['brokers'], 'compression.type': spec['compression'], 'linger.ms': 0})
for r in spec['records']:
    headers = [(name, None if value is None else bytes.fromhex(value)) for name, value in r['headers']]
    p.produce(spec['topic'], key=r['key'].encode(), value=bytes.fromhex(r['value']), partition=0, headers=headers,
              on_delivery=lambda err, msg: err and failed.append(str(err)))
left = p.flush(30)
if left or failed:
    sys.exit(f'not delivered: {left} left, {failed}')
`;

const kafka = testKafka();
const schema = loadSchemas().get('orbit.transfer.requested')!;

beforeAll(async () => {
  const has = await execFileAsync(PYTHON, ['-c', 'import confluent_kafka']).then(() => true, () => false);
  if (has) return;
  await execFileAsync('python3', ['-m', 'venv', VENV]);
  await execFileAsync(join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', PYTHON_CLIENT], { maxBuffer: 16 * 1024 * 1024 });
});

type Compression = 'none' | 'lz4' | 'snappy' | 'zstd';

/** A topic of the test's own (and its DLQ), a codec for it and Orbit's publisher, closed when the test ends. */
async function topicOf(label: string, compression?: Compression): Promise<{ topic: string; codec: EventCodec; publisher: EventPublisher }> {
  const topic = `test.foreign.${uniqueSuffix()}.${label}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const configEntries = compression ? [{ name: 'compression.type', value: compression === 'none' ? 'uncompressed' : compression }] : [];
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries }, { topic: `${topic}.dlq`, numPartitions: 1, replicationFactor: 1 }] });
  } finally {
    await admin.disconnect();
  }
  const codec = new EventCodec(testConfig.SCHEMA_REGISTRY_URL, new Map([[topic, schema]]));
  const publisher = await EventPublisher.connect(kafka, codec, quietLogger);
  onTestFinished(() => publisher.disconnect());
  return { topic, codec, publisher };
}

/** An event whose notes (well past one 64 KiB LZ4 block) compress to a fraction of their size. */
function event(imageUID: string): TransferRequested {
  return { ...sampleEvents(imageUID, `req-${uniqueSuffix()}`)['orbit.transfer.requested'], notes: `ready for QA ${imageUID}; `.repeat(8_000) };
}

async function producedByPython(topic: string, compression: Compression, records: { key: string; value: Buffer; headers: [string, Buffer | null][] }[]): Promise<void> {
  const spec = {
    brokers: testConfig.KAFKA_BROKERS.join(','), topic, compression,
    records: records.map((record) => ({ key: record.key, value: record.value.toString('hex'), headers: record.headers.map(([name, value]) => [name, value?.toString('hex') ?? null]) })),
  };
  const child = execFile(PYTHON, ['-c', PRODUCE], { maxBuffer: 16 * 1024 * 1024 });
  const done = new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the Python producer failed (${code}): ${stderr}`))));
  });
  child.stdin?.end(JSON.stringify(spec));
  await done;
}

/** Runs the loop on `topic` until it has handled `expected` (by imageUID, in order); fails on any crash of its consumer. */
async function handledInOrder(topic: string, codec: EventCodec, expected: readonly string[]): Promise<ConsumedMessage<TransferRequested>[]> {
  const handled: ConsumedMessage<TransferRequested>[] = [];
  const crashes: unknown[] = [];
  const loop = new ConsumeLoop<TransferRequested>({
    kafka, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, maxWaitTimeMs: 500, stallMs: 10_000,
    retryPolicy: retryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0 }),
    decode: (name, value) => codec.decode(name, value) as Promise<TransferRequested>,
    handler: async (message) => {
      handled.push(message);
    },
  });
  loop.on(CONSUMER_EVENTS.crash, ({ error }: { error: unknown }) => crashes.push(error));
  await loop.start();
  try {
    await waitFor(() => handled.length >= expected.length || crashes.length > 0, { timeoutMs: 30_000, what: `${expected.length} messages handled` });
  } finally {
    await loop.stop();
  }
  expect(crashes.map(String)).toEqual([]);
  expect(handled.map((message) => message.event.imageUID)).toEqual(expected);
  return handled;
}

describe('ConsumeLoop with records of other producers', () => {
  it.each(['lz4', 'snappy', 'zstd'] as const)('hands over a %s-compressed record from librdkafka, and the ones after it', async (compression) => {
    const { topic, codec, publisher } = await topicOf(compression);
    const [before, foreign, after] = [event(`uid-before-${uniqueSuffix()}`), event(`uid-${compression}-${uniqueSuffix()}`), event(`uid-after-${uniqueSuffix()}`)];
    await publisher.publish(topic, before);
    await producedByPython(topic, compression, [{ key: foreign.imageUID, value: await codec.encode(topic, foreign), headers: [['x', Buffer.from('1')]] }]);
    await publisher.publish(topic, after);
    const handled = await handledInOrder(topic, codec, [before.imageUID, foreign.imageUID, after.imageUID]);
    expect(handled[1]?.event.notes).toBe(foreign.notes);
  });

  it.each(['lz4', 'snappy', 'zstd'] as const)('reads Orbit\'s own events on a topic the broker recompresses with %s', async (compression) => {
    const { topic, codec, publisher } = await topicOf(`topic-${compression}`, compression);
    const events = [1, 2, 3].map((n) => event(`uid-${n}-${uniqueSuffix()}`));
    for (const one of events) await publisher.publish(topic, one);
    await handledInOrder(topic, codec, events.map((one) => one.imageUID));
  });

  it('hands over a record with a header that has no value (absent to the handler), and the ones after it', async () => {
    const { topic, codec, publisher } = await topicOf('null-header');
    const [before, foreign, after] = [event(`uid-before-${uniqueSuffix()}`), event(`uid-null-${uniqueSuffix()}`), event(`uid-after-${uniqueSuffix()}`)];
    await publisher.publish(topic, before);
    await producedByPython(topic, 'none', [{ key: foreign.imageUID, value: await codec.encode(topic, foreign), headers: [['x-null', null], ['x-kept', Buffer.from('yes')]] }]);
    await publisher.publish(topic, after);
    const handled = await handledInOrder(topic, codec, [before.imageUID, foreign.imageUID, after.imageUID]);
    expect(handled[1]?.headers).toEqual({ 'x-kept': 'yes' });
  });
});
