import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { dlqTopicOf } from '@orbit/lib';

/** deploy/kafka/topics.yaml, from src/provision or dist/provision alike. */
export const TOPICS_FILE = fileURLToPath(new URL('../../../kafka/topics.yaml', import.meta.url));

const configMap = z.record(z.string(), z.union([z.string(), z.number()]).transform(String));
const topicsFile = z.object({
  defaults: z.object({ partitions: z.number().int().min(1), config: configMap.default({}) }),
  dlq: z.object({ partitions: z.number().int().min(1), config: configMap.default({}) }),
  topics: z.array(z.object({ name: z.string().min(1), partitions: z.number().int().min(1).optional(), config: configMap.optional() })).min(1),
});

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: Readonly<Record<string, string>>;
}

/** Expands the declarative file into every topic and its DLQ twin. */
export function topicPlan(yamlText: string, replicationFactor: number): TopicSpec[] {
  const file = topicsFile.parse(parse(yamlText));
  // Writes survive one broker loss on a real cluster; one broker needs 1.
  const minInsync = String(Math.max(1, Math.min(2, replicationFactor - 1)));
  const specs: TopicSpec[] = [];
  for (const topic of file.topics) {
    specs.push({
      name: topic.name,
      partitions: topic.partitions ?? file.defaults.partitions,
      replicationFactor,
      config: { 'min.insync.replicas': minInsync, ...file.defaults.config, ...topic.config },
    });
    specs.push({ name: dlqTopicOf(topic.name), partitions: file.dlq.partitions, replicationFactor, config: { 'min.insync.replicas': minInsync, ...file.dlq.config } });
  }
  return specs;
}

export function loadTopicPlan(replicationFactor: number, file: string = TOPICS_FILE): TopicSpec[] {
  return topicPlan(readFileSync(file, 'utf8'), replicationFactor);
}
