import { ConfigResourceTypes, type Admin } from '@orbit/lib';
import { StackError } from '../stack/errors.js';
import type { ProvisionStep } from './report.js';
import type { TopicSpec } from './topic-plan.js';

/** What provisioning asks of the broker: the rest of Admin is not used, so a test's fake need not have it. */
export type TopicAdmin = Pick<Admin, 'listTopics' | 'createTopics' | 'fetchTopicMetadata' | 'describeConfigs' | 'createPartitions' | 'alterConfigs'>;

type ConfigEntry = Awaited<ReturnType<Admin['describeConfigs']>>['resources'][number]['configEntries'][number];
type TopicMetadata = Awaited<ReturnType<Admin['fetchTopicMetadata']>>['topics'][number];

/** kafkajs's ConfigSource.TOPIC_CONFIG (the protocol's config_source 1): a value set on the topic itself, which @orbit/lib does not re-export. */
const TOPIC_CONFIG_SOURCE = 1;

const ORDER_DOC = 'docs/events.md, What a subscriber can count on';

/**
 * How one existing topic's configs are to be aligned with the plan. kafkajs has
 * only AlterConfigs (not IncrementalAlterConfigs), which replaces every setting
 * made on the topic: whatever is not sent goes back to the broker's default.
 * So the topic's own settings (source TOPIC_CONFIG) that the plan does not
 * manage are sent along with the plan's, unchanged: an operator's
 * compression.type or segment.bytes survives a retention fix.
 */
export interface ConfigAlignment {
  /** The plan's keys whose value changes: [name, value before, value after]. */
  readonly changes: readonly (readonly [string, string | null | undefined, string])[];
  /** Everything AlterConfigs is sent: the topic's own settings outside the plan, then the plan's. */
  readonly entries: readonly { readonly name: string; readonly value: string }[];
  /** The names of the topic's own settings outside the plan, sent back as they are. */
  readonly kept: readonly string[];
  /**
   * The topic's own settings outside the plan that cannot be sent back (sensitive, so described without a value, or
   * read-only): altering would drop them, so the topic is not altered (topicProblems).
   */
  readonly unkeepable: readonly string[];
}

export function alignConfigs(spec: TopicSpec, described: readonly ConfigEntry[]): ConfigAlignment {
  const actual = new Map(described.map((entry) => [entry.configName, entry]));
  const changes = Object.entries(spec.config)
    .filter(([name, value]) => actual.get(name)?.configValue !== value)
    .map(([name, value]) => [name, actual.get(name)?.configValue, value] as const);
  const own = described.filter((entry) => entry.configSource === TOPIC_CONFIG_SOURCE && !Object.hasOwn(spec.config, entry.configName));
  // kafkajs types configValue as string, but the protocol's is nullable: a sensitive value is described as null.
  const resendable = (entry: ConfigEntry): boolean => !entry.isSensitive && !entry.readOnly && typeof entry.configValue === 'string';
  return {
    changes,
    entries: [
      ...own.filter(resendable).map((entry) => ({ name: entry.configName, value: entry.configValue })),
      ...Object.entries(spec.config).map(([name, value]) => ({ name, value })),
    ],
    // Sorted: the broker lists them in an order of its own, and the report should read the same run after run.
    kept: own.filter(resendable).map((entry) => entry.configName).sort(),
    unkeepable: own.filter((entry) => !resendable(entry)).map((entry) => entry.configName),
  };
}

/** The fewest replicas of any of its partitions: during a reassignment a partition lists more, never fewer. */
export function replicationFactorOf(topic: TopicMetadata | undefined): number | undefined {
  const counts = (topic?.partitions ?? []).map((partition) => partition.replicas.length);
  return counts.length > 0 ? Math.min(...counts) : undefined;
}

/** What is wrong with the existing topics that provisioning cannot put right in place: each a sentence naming how to. */
export function topicProblems(
  present: readonly TopicSpec[], metadata: ReadonlyMap<string, TopicMetadata>, alignments: ReadonlyMap<string, ConfigAlignment>,
): string[] {
  const problems: string[] = [];
  const byFactor = new Map<number, string[]>();
  for (const spec of present) {
    const factor = replicationFactorOf(metadata.get(spec.name));
    if (factor !== undefined && factor < spec.replicationFactor) byFactor.set(factor, [...(byFactor.get(factor) ?? []), spec.name]);
  }
  const wanted = present[0]?.replicationFactor ?? 0;
  const minInsync = Number(present[0]?.config['min.insync.replicas'] ?? 1);
  for (const [factor, names] of byFactor) {
    problems.push(`${names.length === 1 ? 'topic' : 'topics'} ${names.join(', ')} ${names.length === 1 ? 'has' : 'have'} replication factor ${factor}, `
      + `below KAFKA_REPLICATION_FACTOR=${wanted}`
      + (minInsync > factor ? ` (and the plan's min.insync.replicas=${minInsync} would have the broker refuse every write acknowledged by all replicas)` : '')
      + `. A topic's replication factor is not changed by provisioning: raise it keeping its messages `
      + `with a partition reassignment listing ${wanted} brokers per partition (kafka-reassign-partitions.sh --bootstrap-server <broker> `
      + `--reassignment-json-file <file> --execute), or set KAFKA_REPLICATION_FACTOR=${factor} if the cluster is meant to keep ${factor} ${factor === 1 ? 'copy' : 'copies'} of each message, then provision again`);
  }
  for (const spec of present) {
    const alignment = alignments.get(spec.name);
    if (!alignment || alignment.changes.length === 0 || alignment.unkeepable.length === 0) continue;
    problems.push(`topic ${spec.name} needs ${alignment.changes.map(([name, , value]) => `${name}=${value}`).join(', ')}, but its own `
      + `${alignment.unkeepable.join(', ')} (sensitive or read-only) cannot be sent back, and altering its configs without them would drop them: `
      + `set the plan's values with an incremental change, which leaves the others as they are (kafka-configs.sh --bootstrap-server <broker> --alter `
      + `--entity-type topics --entity-name ${spec.name} --add-config ${alignment.changes.map(([name, , value]) => `${name}=${value}`).join(',')}), then provision again`);
  }
  return problems;
}

/** One existing topic's line of the report: what this run changed on it, and what an operator should know of it. */
function presentStep(spec: TopicSpec, partitions: number, alignment: ConfigAlignment): ProvisionStep {
  const changes: string[] = [];
  const notes: string[] = [];
  if (partitions < spec.partitions) {
    changes.push(`partitions ${partitions} -> ${spec.partitions}`);
    notes.push(`keys move partition: an image's events from before and after sit on different partitions and may be read out of order, order them by occurredAt (${ORDER_DOC})`);
  } else if (partitions > spec.partitions) {
    notes.push(`${partitions} partitions, more than the plan's ${spec.partitions}, which Kafka cannot remove: keys moved partition when they were added, `
      + `so per-image order was broken at that change, order an image's events from before it by occurredAt (${ORDER_DOC})`);
  }
  if (alignment.changes.length > 0) {
    changes.push(...alignment.changes.map(([name, before, after]) => `${name} ${before ?? '(unset)'} -> ${after}`));
    if (alignment.kept.length > 0) notes.push(`its own ${alignment.kept.join(', ')} kept`);
  }
  const detail = [...(changes.length > 0 ? [changes.join(', ')] : []), ...notes].join('; ');
  return { kind: 'topic', name: spec.name, action: changes.length > 0 ? 'updated' : 'found', ...(detail ? { detail } : {}) };
}

/**
 * Creates missing topics; for existing ones, aligns configs that differ
 * (keeping the topic's other settings, alignConfigs) and adds partitions when
 * the plan asks for more (Kafka cannot remove them, nor does provisioning
 * change a replication factor). An existing topic that cannot be put right in
 * place (a replication factor below the plan's, say) fails provisioning before
 * anything is changed, naming how to put it right, as a table whose key
 * differs does.
 */
export async function provisionTopics(admin: TopicAdmin, plan: readonly TopicSpec[]): Promise<ProvisionStep[]> {
  const existing = new Set(await admin.listTopics());
  const missing = plan.filter((spec) => !existing.has(spec.name));
  const present = plan.filter((spec) => existing.has(spec.name));
  const metadata = new Map<string, TopicMetadata>();
  const alignments = new Map<string, ConfigAlignment>();
  if (present.length > 0) {
    for (const topic of (await admin.fetchTopicMetadata({ topics: present.map((spec) => spec.name) })).topics) metadata.set(topic.name, topic);
    // Every entry, not the plan's alone: the topic's own settings are sent back with the plan's (alignConfigs).
    const configs = await admin.describeConfigs({ includeSynonyms: false, resources: present.map((spec) => ({ type: ConfigResourceTypes.TOPIC, name: spec.name })) });
    for (const spec of present) {
      alignments.set(spec.name, alignConfigs(spec, configs.resources.find((resource) => resource.resourceName === spec.name)?.configEntries ?? []));
    }
    const problems = topicProblems(present, metadata, alignments);
    if (problems.length > 0) throw new StackError('ORBIT_ERR_STACK_PROVISION', 'kafka', `${problems.join('. ')}. Nothing was changed on the topics`);
  }
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
  for (const spec of present) {
    const partitions = metadata.get(spec.name)?.partitions.length ?? 0;
    const alignment = alignments.get(spec.name) ?? alignConfigs(spec, []);
    if (partitions < spec.partitions) await admin.createPartitions({ topicPartitions: [{ topic: spec.name, count: spec.partitions }] });
    if (alignment.changes.length > 0) {
      // A setting an operator makes between the describe above and this is lost: AlterConfigs replaces the whole set.
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: spec.name, configEntries: [...alignment.entries] }] });
    }
    steps.push(presentStep(spec, partitions, alignment));
  }
  return steps;
}
