import type { Admin } from './kafka/client.js';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { isRetriable } from './retry-classifier.js';
import { retryPolicy, withRetry } from './retry.js';

/** A consumer group's committed offsets, as kafkajs's `admin.fetchOffsets` gives them. */
export type CommittedOffsets = readonly { readonly topic: string; readonly partitions: readonly { readonly partition: number; readonly offset: string }[] }[];

/**
 * The partitions (`topic/partition`) the projector's group has committed past
 * their first message but the projection holds no applied offset for. The
 * projector writes a partition's applied offset in the transaction of its
 * first message and commits to Kafka only after it, so such a partition means
 * the database was lost (created again, or restored empty) while Kafka kept
 * the group's place. `-1` is kafkajs's "nothing committed".
 */
export function lostPartitions(committed: CommittedOffsets, applied: ReadonlySet<string>): string[] {
  return committed.flatMap(({ topic, partitions }) => partitions
    .filter(({ partition, offset }) => BigInt(offset) > 0n && !applied.has(`${topic}/${partition}`))
    .map(({ partition }) => `${topic}/${partition}`));
}

/**
 * A group's committed offsets on `topics`. A coordinator that is moving or
 * still loading answers NOT_COORDINATOR, and kafkajs's admin does not try
 * again, so this does (up to `maxAttempts`).
 */
export function committedOffsets(admin: Pick<Admin, 'fetchOffsets'>, groupId: string, topics: readonly string[], maxAttempts = 20): Promise<CommittedOffsets> {
  return withRetry(() => admin.fetchOffsets({ groupId, topics: [...topics] }), {
    isRetriable, policy: retryPolicy({ initialDelayMs: 100, maxDelayMs: 2_000, maxAttempts }),
  });
}

/**
 * Asks Kafka and ViewPort whether the projection was lost (see lostPartitions).
 * Returns the lost partitions; none on an intact projection or a new one.
 */
export async function findLostProjection(admin: Pick<Admin, 'fetchOffsets'>, pool: Pick<Pool, 'query'>, groupId: string, topics: readonly string[]): Promise<string[]> {
  // A few attempts only: the gateway looks again in a moment anyway.
  const committed = await committedOffsets(admin, groupId, topics, 5);
  const [rows] = await pool.query<RowDataPacket[]>('SELECT topic, kafka_partition FROM viewport_applied_offsets WHERE consumer_group = ?', [groupId]);
  return lostPartitions(committed, new Set(rows.map((row) => `${String(row['topic'])}/${String(row['kafka_partition'])}`)));
}
