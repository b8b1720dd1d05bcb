import { randomBytes } from 'node:crypto';
import { ConfigResourceTypes, createKafka, createLogger, kafkaConnection, readConfig, runtimeEnv, type Admin } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import type { TopicSpec } from './topic-plan.js';
import { provisionTopics } from './topics.js';

const config = readConfig(runtimeEnv);
const log = createLogger({ service: 'test', level: 'silent' });

/** The plan's keys for a scratch topic, as topics.yaml gives them to every topic. */
const planOf = (name: string, more: Partial<TopicSpec> = {}): TopicSpec => ({
  name, partitions: 3, replicationFactor: 1, config: { 'min.insync.replicas': '1', 'retention.ms': '-1', 'cleanup.policy': 'delete', 'max.message.bytes': '1048588' }, ...more,
});

async function withAdmin(run: (admin: Admin, prefix: string) => Promise<void>): Promise<void> {
  const prefix = `s44kt.${randomBytes(4).toString('hex')}`;
  const admin = createKafka({ clientId: 'test', ...kafkaConnection(config), logger: log }).admin();
  await admin.connect();
  try {
    await run(admin, prefix);
  } finally {
    const scratch = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (scratch.length > 0) await admin.deleteTopics({ topics: scratch });
    await admin.disconnect();
  }
}

async function ownConfigs(admin: Admin, topic: string): Promise<Record<string, string>> {
  const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
  // Source 1 is TOPIC_CONFIG: what is set on the topic itself, not the broker's defaults.
  return Object.fromEntries((described.resources[0]?.configEntries ?? []).filter((entry) => entry.configSource === 1).map((entry) => [entry.configName, entry.configValue]));
}

describe('provisioning topics against the real broker (found by an ops review: a retention fix reset every other setting of the topic)', () => {
  it('keeps an operator\'s compression.type and other settings when it fixes a topic\'s retention, and names only the retention', async () => {
    await withAdmin(async (admin, prefix) => {
      const topic = `${prefix}.kept`;
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{
          topic, numPartitions: 3, replicationFactor: 1, configEntries: [
            { name: 'retention.ms', value: '604800000' }, { name: 'compression.type', value: 'zstd' }, { name: 'segment.bytes', value: '104857600' },
            { name: 'message.timestamp.type', value: 'LogAppendTime' }, { name: 'unclean.leader.election.enable', value: 'false' },
          ],
        }],
      });
      const steps = await provisionTopics(admin, [planOf(topic)]);
      expect(await ownConfigs(admin, topic)).toEqual({
        'retention.ms': '-1', 'cleanup.policy': 'delete', 'max.message.bytes': '1048588', 'min.insync.replicas': '1',
        'compression.type': 'zstd', 'segment.bytes': '104857600', 'message.timestamp.type': 'LogAppendTime', 'unclean.leader.election.enable': 'false',
      });
      expect(steps).toEqual([{
        kind: 'topic', name: topic, action: 'updated',
        detail: 'retention.ms 604800000 -> -1; its own compression.type, message.timestamp.type, segment.bytes, unclean.leader.election.enable kept',
      }]);
      expect(await provisionTopics(admin, [planOf(topic)])).toEqual([{ kind: 'topic', name: topic, action: 'found' }]);
    });
  });

  it('fails on a topic with fewer replicas than planned, changing nothing; finds one with more partitions, warning of the order broken', async () => {
    await withAdmin(async (admin, prefix) => {
      const few = `${prefix}.few`;
      const many = `${prefix}.many`;
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: few, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '1000' }] }] });
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: many, numPartitions: 6, replicationFactor: 1 }] });
      const replicated = planOf(few, { replicationFactor: 3, config: { ...planOf(few).config, 'min.insync.replicas': '2' } });
      await expect(provisionTopics(admin, [replicated])).rejects.toThrow(new RegExp(`topic ${few.replaceAll('.', '\\.')} has replication factor 1, below KAFKA_REPLICATION_FACTOR=3`));
      expect(await ownConfigs(admin, few)).toEqual({ 'retention.ms': '1000' });
      const [step] = await provisionTopics(admin, [planOf(many, { config: {} })]);
      expect(step).toMatchObject({ action: 'found', detail: expect.stringMatching(/^6 partitions, more than the plan's 3, .*per-image order was broken/) as unknown });
    });
  });
});
