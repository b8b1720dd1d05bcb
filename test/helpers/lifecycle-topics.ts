/**
 * Private copies of lifecycle topics (and their DLQs) for a test, with a codec
 * that knows their schemas: a test replays or poisons its own topics, never
 * the ones the pipeline and other tests read.
 */
import { EventCodec, type Kafka } from '@orbit/lib';
import { loadSchemas } from '@orbit/schemas';
import { createTestTopics, testConfig, testKafka, uniqueSuffix } from './index.js';

export interface PrivateTopics {
  readonly kafka: Kafka;
  readonly codec: EventCodec;
  /** The private copies, in the order asked for. */
  readonly topics: readonly string[];
  /** The private copy of a lifecycle topic. */
  named(lifecycleTopic: string): string;
  /** The lifecycle topic a private copy stands for (a consume loop's logicalTopicOf). */
  lifecycleTopicOf(topic: string): string;
}

export async function privateLifecycleTopics(label: string, lifecycleTopics: readonly string[]): Promise<PrivateTopics> {
  const prefix = `test.${label}.${uniqueSuffix()}.`;
  const schemas = loadSchemas();
  const codec = new EventCodec(testConfig.SCHEMA_REGISTRY_URL, new Map([...schemas, ...[...schemas].map(([topic, schema]) => [`${prefix}${topic}`, schema] as const)]));
  const kafka = testKafka();
  const topics = lifecycleTopics.map((topic) => `${prefix}${topic}`);
  await createTestTopics(kafka, topics.flatMap((topic) => [topic, `${topic}.dlq`]));
  return { kafka, codec, topics, named: (topic) => `${prefix}${topic}`, lifecycleTopicOf: (topic) => topic.slice(prefix.length) };
}
