/**
 * Whether a lifecycle topic still holds the history the projection was made from. Kafka topic ids would tell a
 * recreated topic at once, but kafkajs 2.x speaks Metadata up to v6, before topic ids (v10): what it does see is a
 * partition ending before the offset the projection has applied up to, which its own history never does.
 */
import { ConfigResourceTypes, OrbitError, type Kafka } from '@orbit/lib';

/**
 * A lifecycle topic partition ends before what ViewPort has applied of it: the topic was deleted and created again
 * (offsets start at 0 again), or the consumers were pointed at another cluster or a copy with offsets of its own.
 * Projected on, the new topic's first events would be taken for applied ones and dropped without a trace, so the
 * live projector holds the partition (retriable: it goes on by itself once an operator has put it right) and the
 * rebuild refuses to start.
 */
export class HistoryReplacedError extends OrbitError {
  constructor(readonly replaced: readonly string[], doing: 'projecting' | 'rebuilding') {
    super('ORBIT_ERR_HISTORY_REPLACED',
      `the history of ${replaced.join(', ')} was replaced (the topic deleted and created again, or moved to another cluster or copy): ` +
      `ViewPort has applied more of it than the topic now holds. ${doing === 'projecting' ? 'The partition is held, nothing of it is projected or skipped' : 'Nothing was rebuilt, the live projection is as it was'}; ` +
      'restore the topic with its offsets (from a mirror or backup), or, to project the new topic on top of ViewPort as it is, delete the partition\'s row from viewport_applied_offsets (README, Operations)',
      { retriable: doing === 'projecting' });
  }
}

/**
 * A live partition's next event to project is gone: ViewPort expects an offset below the partition's log start (its
 * low watermark), the records between removed by retention or deleteRecords, most likely after ViewPort was restored
 * from a backup older than the topic's retention. Whether they held events or only a transaction's markers cannot be
 * told any more, and passing over them would leave whatever they projected missing without a trace, so the partition
 * is held (retriable: it goes on by itself once the topic is restored, or an operator accepts the loss).
 */
export class HistoryTruncatedLiveError extends OrbitError {
  constructor(readonly at: string, readonly low: bigint, readonly expected: bigint) {
    super('ORBIT_ERR_HISTORY_TRUNCATED',
      `events are gone from ${at}: ViewPort expects offset ${expected} next but the partition starts at offset ${low} (retention or deleted records, ` +
      'e.g. after ViewPort was restored from a backup older than the topic\'s retention). The partition is held, nothing of it is projected or skipped; ' +
      `restore the topic (or a newer ViewPort backup), or accept the loss of offsets ${expected}..${low - 1n} by setting the partition's next_offset in viewport_applied_offsets to ${low} (docs/errors.md)`,
      { retriable: true });
  }
}

/** Whether a gap opening at `expected` (the offset ViewPort expects next) starts below the partition's log start `low`: records removed, not markers. */
export const gapLostToRetention = (expected: bigint, low: bigint): boolean => expected < low;

/**
 * A lifecycle topic is compacted (its cleanup.policy is not `delete` alone): the broker drops every event but an
 * image's last from the middle of the log, with its start offset still 0, so a replay would swap in a projection
 * without the earlier versions.
 */
export class HistoryCompactedError extends OrbitError {
  constructor(compacted: readonly string[]) {
    super('ORBIT_ERR_HISTORY_COMPACTED',
      `cannot rebuild: ${compacted.join(', ')} (compaction keeps only the last event of each image, so earlier versions may be gone from the history); ` +
      'the live projection was left as it is. Set cleanup.policy=delete on the topic (`npm run provision` does), and restore what compaction removed before rebuilding');
  }
}

/** A partition as `topic/partition`, with the offsets it ends at and ViewPort has applied up to. */
export interface ReplacedPartition {
  readonly at: string;
  readonly high: bigint;
  readonly applied: bigint;
}

/**
 * The partitions whose end (`highs`, by `topic/partition`, a partition missing from a topic counted as empty) is
 * below the offset ViewPort has applied up to (`applied`), among `topics`.
 */
export function replacedPartitions(applied: ReadonlyMap<string, bigint>, highs: ReadonlyMap<string, bigint>, topics: ReadonlySet<string>): ReplacedPartition[] {
  return [...applied].flatMap(([at, next]) => {
    const topic = at.slice(0, at.lastIndexOf('/'));
    const high = highs.get(at) ?? 0n;
    return topics.has(topic) && next > high ? [{ at, high, applied: next }] : [];
  });
}

export const describeReplaced = (replaced: readonly ReplacedPartition[]): string[] =>
  replaced.map(({ at, high, applied }) => `${at} (ends at offset ${high}, ViewPort applied up to ${applied})`);

/** The cleanup.policy of each topic that is not `delete`, as `topic has cleanup.policy=…`. */
export async function compactedTopics(admin: Pick<ReturnType<Kafka['admin']>, 'describeConfigs'>, topics: readonly string[]): Promise<string[]> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })),
  });
  return described.resources.flatMap((resource) => {
    const policy = resource.configEntries.find((entry) => entry.configName === 'cleanup.policy')?.configValue;
    return policy === undefined || policy.trim() === 'delete' ? [] : [`${resource.resourceName} has cleanup.policy=${policy}`];
  });
}

/**
 * Reads a partition's high watermark (the offset after its last record) for the live projector, and with `low` its low
 * watermark (the log start offset); `close` lets its admin go.
 */
export interface HighWatermarks {
  (topic: string, partition: number): Promise<bigint>;
  low(topic: string, partition: number): Promise<bigint>;
  close(): Promise<void>;
}

/**
 * One admin connection, made on the first question: the projector asks only when a batch starts below what it has
 * applied (the high watermark), or opens with a gap after what it has applied (the low one).
 */
export function kafkaHighWatermarks(kafka: Kafka): HighWatermarks {
  let admin: Promise<ReturnType<Kafka['admin']>> | undefined;
  const connected = (): Promise<ReturnType<Kafka['admin']>> => {
    admin ??= (async () => {
      const made = kafka.admin();
      await made.connect();
      return made;
    })().catch((error: unknown) => {
      admin = undefined;
      throw error;
    });
    return admin;
  };
  const ask = async (topic: string, partition: number, end: 'high' | 'low'): Promise<bigint> => {
    const offsets = await (await connected()).fetchTopicOffsets(topic);
    return BigInt(offsets.find((entry) => entry.partition === partition)?.[end] ?? '0');
  };
  return Object.assign((topic: string, partition: number) => ask(topic, partition, 'high'), {
    low: (topic: string, partition: number) => ask(topic, partition, 'low'),
    close: async () => {
      const made = admin;
      admin = undefined;
      await made?.then((connectedAdmin) => connectedAdmin.disconnect()).catch(() => undefined);
    },
  });
}
