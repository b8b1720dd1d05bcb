import { ConfigResourceTypes, type Admin } from '@orbit/lib';
import type { ProvisionStep } from './report.js';
import type { TopicSpec } from './topic-plan.js';

/**
 * Creates missing topics; for existing ones, aligns configs that differ and
 * adds partitions when the plan asks for more (Kafka cannot remove them).
 */
export async function provisionTopics(admin: Admin, plan: readonly TopicSpec[]): Promise<ProvisionStep[]> {
  const existing = new Set(await admin.listTopics());
  const missing = plan.filter((spec) => !existing.has(spec.name));
  const steps: ProvisionStep[] = [];
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((spec) => ({
        topic: spec.name,
        numPartitions: spec.partitions,
        replicationFactor: spec.replicationFactor,
        configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
      })),
    });
    for (const spec of missing) steps.push({ kind: 'topic', name: spec.name, action: 'created', detail: `${spec.partitions} partitions` });
  }
  const present = plan.filter((spec) => existing.has(spec.name));
  if (present.length === 0) return steps;
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((spec) => spec.name) });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((spec) => ({ type: ConfigResourceTypes.TOPIC, name: spec.name, configNames: Object.keys(spec.config) })),
  });
  for (const spec of present) {
    const partitions = metadata.topics.find((topic) => topic.name === spec.name)?.partitions.length ?? 0;
    const actual = new Map(configs.resources.find((resource) => resource.resourceName === spec.name)?.configEntries.map((entry) => [entry.configName, entry.configValue]) ?? []);
    const drift = Object.entries(spec.config).filter(([name, value]) => actual.get(name) !== value);
    const changes: string[] = [];
    if (partitions < spec.partitions) {
      await admin.createPartitions({ topicPartitions: [{ topic: spec.name, count: spec.partitions }] });
      changes.push(`partitions ${partitions} -> ${spec.partitions}`);
    }
    if (drift.length > 0) {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: spec.name, configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })) }] });
      changes.push(...drift.map(([name, value]) => `${name}=${value}`));
    }
    steps.push(changes.length > 0
      ? { kind: 'topic', name: spec.name, action: 'updated', detail: changes.join(', ') }
      : { kind: 'topic', name: spec.name, action: 'found' });
  }
  return steps;
}
