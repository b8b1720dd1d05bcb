import { StoreUnavailableError } from '../errors.js';
import { RegistryUnavailableError } from '../registry/registry-errors.js';

/** Lifecycle events of a consume loop; tests and metrics wait on these names. */
export const CONSUMER_EVENTS = {
  ready: 'consumer.ready',
  processed: 'consumer.processed',
  lag: 'consumer.lag',
  retry: 'consumer.retry',
  deadLettered: 'consumer.dlq',
  crash: 'consumer.crash',
  replaced: 'consumer.replaced',
  stopped: 'consumer.stopped',
} as const;

export interface MessagePosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface ConsumerEventPayloads {
  [CONSUMER_EVENTS.ready]: { groupId: string };
  [CONSUMER_EVENTS.processed]: MessagePosition & { durationMs: number };
  /**
   * Messages of the partition after the last one handled, as its batch's fetch saw the partition (its high watermark):
   * when a batch is fetched (so a partition held on a message that keeps failing shows the messages behind it) and
   * after each message handled.
   */
  [CONSUMER_EVENTS.lag]: { topic: string; partition: number; lag: number };
  [CONSUMER_EVENTS.retry]: MessagePosition & { attempt: number; delayMs: number; error: unknown };
  [CONSUMER_EVENTS.deadLettered]: MessagePosition & { error: unknown; attempts: number };
  [CONSUMER_EVENTS.crash]: { error: unknown; restart: boolean };
  [CONSUMER_EVENTS.replaced]: { groupId: string; reason: string };
  [CONSUMER_EVENTS.stopped]: { groupId: string };
}

/**
 * What a consume loop emits with its partitions each time it joins its group (after every rebalance): the lag of a
 * partition no longer among them is forgotten (see instrumentConsumeLoop).
 */
export const CONSUMER_ASSIGNED_EVENT = 'consumer.assigned';

export interface ConsumerAssignedPayload {
  /** By topic, the partitions this member now has (kafkajs's memberAssignment of GROUP_JOIN). */
  readonly assignment: Readonly<Record<string, readonly number[]>>;
}

/**
 * What a retry waits for, as `orbit_message_retries_total{reason}` and a batch's retry line say it: the dependency its
 * error names, one of these few so that the metric's series stay bounded (a store's own words name hosts and URLs).
 */
export const RETRY_REASONS = ['s3', 'dynamodb', 'mysql', 'registry', 'schema-registry', 'kafka', 'other'] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

/** How far down an error's causes its dependency is looked for. */
const CAUSES_READ = 6;

/**
 * The dependency an error (a retry event's) names: the outermost error down its causes that says one. Read from what
 * the errors carry (StoreUnavailableError's store, the AWS call aws.ts records, a kafkajs or mysql2 error's own
 * fields), never a message; 'other' when none says.
 */
export function retryReasonOf(error: unknown): RetryReason {
  const seen = new Set<unknown>();
  for (let current = error; typeof current === 'object' && current !== null && !seen.has(current) && seen.size < CAUSES_READ; current = innerOf(current)) {
    seen.add(current);
    const said = dependencyOf(current);
    if (said !== undefined) return said;
  }
  return 'other';
}

/** What an error wraps: its cause, or the first of an AggregateError's (Node's connect to every address of a name). */
function innerOf(error: object): unknown {
  const { cause } = error as { cause?: unknown };
  if (cause !== undefined) return cause;
  return error instanceof AggregateError ? (error.errors as unknown[])[0] : undefined;
}

/** DynamoDB's operations as aws.ts records them (`BatchWriteItem events`, `Query images`, `DescribeTable events`). */
const DYNAMODB_CALL = /^(?:\w*Items?|Query|Scan|\w*Tables?\w*)(?:\s|$)/;

/** The dependency one error names by itself, undefined when it names none (its cause may). */
function dependencyOf(error: object): RetryReason | undefined {
  if (error instanceof RegistryUnavailableError) return 'registry';
  if (error instanceof StoreUnavailableError) return storeNamed(error.store);
  const { code, name, sqlState, fatal, awsCall } = error as { code?: unknown; name?: unknown; sqlState?: unknown; fatal?: unknown; awsCall?: unknown };
  if (code === 'ORBIT_ERR_PULL_REFUSED' || code === 'ORBIT_ERR_PUSH_REFUSED') return 'registry';
  if (code === 'ORBIT_ERR_SCHEMA_BEHIND') return 'mysql';
  if (typeof name === 'string' && name.startsWith('KafkaJS')) return 'kafka';
  if (typeof awsCall === 'string') {
    if (awsCall.includes('s3://')) return 's3';
    if (DYNAMODB_CALL.test(awsCall)) return 'dynamodb';
  }
  // mysql2's: a server's answer has its SQLSTATE; a dropped connection is marked fatal, with a code.
  if (typeof sqlState === 'string' || (fatal === true && typeof code === 'string')) return 'mysql';
  return undefined;
}

/** StoreUnavailableError's store, as its throwers name it (`S3`, `dynamodb`, `MySQL at host/db`, `Kafka at …`, `the schema registry at …`). */
function storeNamed(store: string): RetryReason | undefined {
  const words = store.toLowerCase();
  if (/schema[- ]registry/.test(words)) return 'schema-registry';
  if (/\bmysql\b/.test(words)) return 'mysql';
  if (/\bkafka\b/.test(words)) return 'kafka';
  if (/\bdynamodb\b/.test(words)) return 'dynamodb';
  if (/\bs3\b/.test(words)) return 's3';
  if (/\bregistry\b/.test(words)) return 'registry';
  return undefined;
}
