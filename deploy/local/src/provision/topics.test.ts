import { describe, expect, it } from 'vitest';
import { StackError } from '../stack/errors.js';
import type { TopicSpec } from './topic-plan.js';
import { alignConfigs, provisionTopics, type TopicAdmin } from './topics.js';

type Entry = Awaited<ReturnType<TopicAdmin['describeConfigs']>>['resources'][number]['configEntries'][number];

const TOPIC_CONFIG = 1;
const DEFAULT_CONFIG = 5;
const STATIC_BROKER_CONFIG = 4;

/** A described config entry: set on the topic unless said otherwise. */
function entry(configName: string, configValue: string | null, more: Partial<Omit<Entry, 'configValue'>> = {}): Entry {
  const configSource = more.configSource ?? TOPIC_CONFIG;
  // The protocol's value is nullable (a sensitive one), though kafkajs types it as string.
  return { configName, configValue: configValue as string, isDefault: configSource === DEFAULT_CONFIG, configSource, isSensitive: false, readOnly: false, configSynonyms: [], ...more };
}

interface FakeTopic {
  partitions: number;
  replicas: number;
  configs: Entry[];
}

/** A broker holding the given topics; records what provisioning asks it to change. */
function fakeAdmin(topics: Record<string, FakeTopic>): TopicAdmin & { calls: string[]; altered: { name: string; value: string }[][] } {
  const calls: string[] = [];
  const altered: { name: string; value: string }[][] = [];
  const admin = {
    calls,
    altered,
    listTopics: () => Promise.resolve(Object.keys(topics)),
    fetchTopicMetadata: ({ topics: names = [] }: { topics?: string[] } = {}) => Promise.resolve({
      topics: names.map((name) => ({
        name,
        partitions: Array.from({ length: topics[name]?.partitions ?? 0 }, (_, partitionId) => ({
          partitionErrorCode: 0, partitionId, leader: 1, replicas: Array.from({ length: topics[name]?.replicas ?? 0 }, (__, broker) => broker + 1), isr: [1], offlineReplicas: [],
        })),
      })),
    }),
    describeConfigs: ({ resources }: { resources: { name: string }[] }) => Promise.resolve({
      throttleTime: 0,
      resources: resources.map((resource) => ({ errorCode: 0, errorMessage: '', resourceName: resource.name, resourceType: 2, configEntries: topics[resource.name]?.configs ?? [] })),
    }),
    createTopics: ({ topics: created }: { topics: { topic: string }[] }) => {
      calls.push(...created.map((topic) => `create ${topic.topic}`));
      return Promise.resolve(true);
    },
    createPartitions: ({ topicPartitions }: { topicPartitions: { topic: string; count: number }[] }) => {
      calls.push(...topicPartitions.map((partitions) => `partitions ${partitions.topic} ${partitions.count}`));
      return Promise.resolve(true);
    },
    alterConfigs: ({ resources }: { resources: { name: string; configEntries: { name: string; value: string }[] }[] }) => {
      for (const resource of resources) {
        calls.push(`alter ${resource.name}`);
        altered.push(resource.configEntries);
      }
      return Promise.resolve({});
    },
  };
  return admin as unknown as TopicAdmin & { calls: string[]; altered: { name: string; value: string }[][] };
}

const spec = (name: string, more: Partial<TopicSpec> = {}): TopicSpec => ({
  name, partitions: 3, replicationFactor: 1, config: { 'min.insync.replicas': '1', 'retention.ms': '-1', 'cleanup.policy': 'delete' }, ...more,
});

/** The plan's keys as a topic made by an earlier provisioning carries them. */
const planned = (): Entry[] => [entry('min.insync.replicas', '1'), entry('retention.ms', '-1'), entry('cleanup.policy', 'delete')];

describe('provisionTopics', () => {
  it('sends an operator\'s own settings back with a retention fix, naming only the keys it changes', async () => {
    const admin = fakeAdmin({
      't.a': {
        partitions: 3, replicas: 1, configs: [
          entry('min.insync.replicas', '1'), entry('retention.ms', '604800000'), entry('cleanup.policy', 'delete', { configSource: DEFAULT_CONFIG }),
          entry('compression.type', 'zstd'), entry('segment.bytes', '104857600'), entry('message.timestamp.type', 'LogAppendTime'),
          entry('unclean.leader.election.enable', 'false'),
          // Not the topic's own: the broker's, which AlterConfigs on the topic leaves alone.
          entry('max.message.bytes', '1048588', { configSource: DEFAULT_CONFIG }), entry('segment.ms', '3600000', { configSource: STATIC_BROKER_CONFIG }),
        ],
      },
    });
    const steps = await provisionTopics(admin, [spec('t.a')]);
    expect(admin.altered).toHaveLength(1);
    expect(Object.fromEntries((admin.altered[0] ?? []).map((sent) => [sent.name, sent.value]))).toEqual({
      'compression.type': 'zstd', 'segment.bytes': '104857600', 'message.timestamp.type': 'LogAppendTime', 'unclean.leader.election.enable': 'false',
      'min.insync.replicas': '1', 'retention.ms': '-1', 'cleanup.policy': 'delete',
    });
    expect(steps).toEqual([{
      kind: 'topic', name: 't.a', action: 'updated',
      detail: 'retention.ms 604800000 -> -1; its own compression.type, message.timestamp.type, segment.bytes, unclean.leader.election.enable kept',
    }]);
  });

  it('lets the plan win on a key it manages, naming the value it replaced', async () => {
    const admin = fakeAdmin({ 't.a': { partitions: 3, replicas: 1, configs: [entry('min.insync.replicas', '2'), entry('retention.ms', '-1'), entry('cleanup.policy', 'delete')] } });
    const steps = await provisionTopics(admin, [spec('t.a')]);
    expect(steps[0]).toEqual({ kind: 'topic', name: 't.a', action: 'updated', detail: 'min.insync.replicas 2 -> 1' });
    expect(admin.altered[0]).toEqual([{ name: 'min.insync.replicas', value: '1' }, { name: 'retention.ms', value: '-1' }, { name: 'cleanup.policy', value: 'delete' }]);
  });

  it('changes nothing on a topic as planned, whatever else is set on it', async () => {
    const admin = fakeAdmin({ 't.a': { partitions: 3, replicas: 1, configs: [...planned(), entry('compression.type', 'zstd')] } });
    expect(await provisionTopics(admin, [spec('t.a')])).toEqual([{ kind: 'topic', name: 't.a', action: 'found' }]);
    expect(admin.calls).toEqual([]);
  });

  it('refuses, changing nothing, a topic whose own sensitive or read-only setting could not be sent back', async () => {
    const admin = fakeAdmin({
      't.a': { partitions: 3, replicas: 1, configs: [entry('min.insync.replicas', '1'), entry('retention.ms', '1000'), entry('cleanup.policy', 'delete'), entry('some.secret', null, { isSensitive: true })] },
      't.b': { partitions: 3, replicas: 1, configs: [entry('min.insync.replicas', '1'), entry('retention.ms', '1000'), entry('cleanup.policy', 'delete')] },
    });
    const refused = provisionTopics(admin, [spec('t.a'), spec('t.b'), spec('t.new')]);
    await expect(refused).rejects.toThrow(StackError);
    await expect(refused).rejects.toThrow(/topic t\.a needs retention\.ms=-1, but its own some\.secret .*--entity-name t\.a --add-config retention\.ms=-1\).*Nothing was changed/);
    expect(admin.calls).toEqual([]);
  });

  it('leaves a sensitive setting alone when the topic needs no change', async () => {
    const admin = fakeAdmin({ 't.a': { partitions: 3, replicas: 1, configs: [...planned(), entry('some.secret', null, { isSensitive: true })] } });
    expect(await provisionTopics(admin, [spec('t.a')])).toEqual([{ kind: 'topic', name: 't.a', action: 'found' }]);
  });

  it('fails, before changing anything, on topics with fewer replicas than planned, naming how to raise them', async () => {
    const plan = (name: string): TopicSpec => spec(name, { replicationFactor: 3, config: { 'min.insync.replicas': '2', 'retention.ms': '-1', 'cleanup.policy': 'delete' } });
    const configs = [entry('min.insync.replicas', '1'), entry('retention.ms', '-1'), entry('cleanup.policy', 'delete')];
    const admin = fakeAdmin({ 't.a': { partitions: 3, replicas: 1, configs }, 't.b': { partitions: 3, replicas: 1, configs }, 't.c': { partitions: 3, replicas: 3, configs } });
    const refused = provisionTopics(admin, [plan('t.a'), plan('t.b'), plan('t.c'), plan('t.new')]);
    await expect(refused).rejects.toThrow(/topics t\.a, t\.b have replication factor 1, below KAFKA_REPLICATION_FACTOR=3 \(and the plan's min\.insync\.replicas=2 would have the broker refuse every write/);
    await expect(refused).rejects.toThrow(/kafka-reassign-partitions\.sh .*KAFKA_REPLICATION_FACTOR=1/);
    expect(admin.calls).toEqual([]);
  });

  it('finds a topic with more replicas than planned', async () => {
    const admin = fakeAdmin({ 't.a': { partitions: 3, replicas: 3, configs: planned() } });
    expect(await provisionTopics(admin, [spec('t.a')])).toEqual([{ kind: 'topic', name: 't.a', action: 'found' }]);
  });

  it('finds a topic with more partitions than planned, warning that per-image order was broken when they were added', async () => {
    const admin = fakeAdmin({ 't.a': { partitions: 6, replicas: 1, configs: planned() } });
    const [step] = await provisionTopics(admin, [spec('t.a')]);
    expect(step).toMatchObject({ kind: 'topic', name: 't.a', action: 'found' });
    expect(step?.detail).toMatch(/^6 partitions, more than the plan's 3, which Kafka cannot remove: .*per-image order was broken at that change/);
    expect(admin.calls).toEqual([]);
  });

  it('grows a topic to the planned partitions, saying that keys move', async () => {
    const admin = fakeAdmin({ 't.a': { partitions: 3, replicas: 1, configs: planned() } });
    const [step] = await provisionTopics(admin, [spec('t.a', { partitions: 12 })]);
    expect(admin.calls).toEqual(['partitions t.a 12']);
    expect(step).toMatchObject({ action: 'updated' });
    expect(step?.detail).toMatch(/^partitions 3 -> 12; keys move partition: .*out of order/);
  });

  it('creates missing topics with the plan\'s configs', async () => {
    const admin = fakeAdmin({});
    expect(await provisionTopics(admin, [spec('t.new')])).toEqual([{ kind: 'topic', name: 't.new', action: 'created', detail: '3 partitions' }]);
    expect(admin.calls).toEqual(['create t.new']);
  });
});

describe('alignConfigs', () => {
  it('keeps a read-only setting of the topic out of what is sent, naming it', () => {
    const alignment = alignConfigs(spec('t.a'), [entry('retention.ms', '1'), entry('x.fixed', '7', { readOnly: true })]);
    expect(alignment.unkeepable).toEqual(['x.fixed']);
    expect(alignment.entries.map((sent) => sent.name)).not.toContain('x.fixed');
  });
});
