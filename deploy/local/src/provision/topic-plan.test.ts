import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_TOPICS } from '@orbit/lib';
import { loadTopicPlan, topicPlan, TOPICS_FILE } from './topic-plan.js';

describe('topic plan', () => {
  it('declares exactly the topics the code uses, each with a DLQ twin', () => {
    const names = loadTopicPlan(1).map((spec) => spec.name);
    expect(names.filter((name) => !name.endsWith('.dlq')).sort()).toEqual([...ALL_TOPICS].sort());
    for (const topic of ALL_TOPICS) expect(names).toContain(`${topic}.dlq`);
  });

  it('keeps lifecycle topics forever so ViewPort can be rebuilt by replay', () => {
    for (const spec of loadTopicPlan(1)) expect(spec.config['retention.ms']).toBe('-1');
  });

  it('takes the replication factor from config and derives min.insync.replicas', () => {
    const text = readFileSync(TOPICS_FILE, 'utf8');
    expect(topicPlan(text, 1)[0]?.config['min.insync.replicas']).toBe('1');
    expect(topicPlan(text, 3)[0]?.config['min.insync.replicas']).toBe('2');
    expect(topicPlan(text, 3)[0]?.replicationFactor).toBe(3);
  });

  it('lets every DLQ take a letter of the largest message its topic takes, with room for the letter\'s headers', () => {
    const plan = loadTopicPlan(1);
    for (const spec of plan.filter((topic) => !topic.name.endsWith('.dlq'))) {
      const dlq = plan.find((topic) => topic.name === `${spec.name}.dlq`);
      expect(Number(dlq?.config['max.message.bytes']), spec.name).toBeGreaterThanOrEqual(Number(spec.config['max.message.bytes']) + 64 * 1024);
    }
  });

  it('rejects a malformed file', () => {
    expect(() => topicPlan('topics: []', 1)).toThrow();
  });
});
