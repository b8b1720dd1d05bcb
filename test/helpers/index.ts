/**
 * Shared helpers of the integration and end-to-end tests. Every test makes its
 * own topics, groups, keys and prefixes with a random suffix and waits with a
 * bounded `waitFor`, never a fixed sleep.
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createKafka, createLogger, readConfig, runtimeEnv, bucketEnv, type Kafka, type Logger } from '@orbit/lib';

export const testConfig = readConfig({ ...runtimeEnv, ...bucketEnv });

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

export const quietLogger: Logger = createLogger({ service: 'test', level: process.env['TEST_LOG_LEVEL'] === undefined ? 'silent' : 'debug' });

export function testKafka(clientId = `test-${uniqueSuffix()}`): Kafka {
  return createKafka({ clientId, brokers: testConfig.KAFKA_BROKERS, logger: quietLogger });
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
  throw new Error(`timed out waiting for ${options.what}${lastError ? `; last error: ${String(lastError)}` : ''}`);
}

/**
 * Runs `start` (a service or the pipeline: they read the environment as they start) with `name` set to `value`, or
 * unset when `value` is undefined, then gives the test its environment back as it was.
 */
export async function startingWith<T>(name: string, value: string | undefined, start: () => Promise<T>): Promise<T> {
  const before = process.env[name];
  const set = (to: string | undefined): void => {
    if (to === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = to;
  };
  set(value);
  try {
    return await start();
  } finally {
    set(before);
  }
}

/** Resolves with the first `event` payload that matches, or fails after the timeout. */
export function nextEvent<T>(emitter: EventEmitter, event: string, matches: (payload: T) => boolean = () => true, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    function listener(payload: T): void {
      if (!matches(payload)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(payload);
    }
    emitter.on(event, listener);
  });
}

/** Creates throwaway topics (and their DLQs) for one test. */
export async function createTestTopics(kafka: Kafka, names: readonly string[], partitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
  } finally {
    await admin.disconnect();
  }
}

/** Reads every message currently on `topic` (from the beginning) with a throwaway group. */
export async function readAll(kafka: Kafka, topic: string, expected: number, timeoutMs = 30_000): Promise<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string> }[]> {
  const consumer = kafka.consumer({ groupId: `reader-${uniqueSuffix()}` });
  const seen: { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {})) if (value !== undefined) headers[name] = String(value);
      seen.push({ key: message.key, value: message.value, headers });
    },
  });
  try {
    await waitFor(() => seen.length >= expected, { timeoutMs, what: `${expected} messages on ${topic}` });
    return seen;
  } finally {
    await consumer.disconnect();
  }
}
