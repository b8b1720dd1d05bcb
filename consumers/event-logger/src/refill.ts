/**
 * `events:refill`: writes the user event log again from Kafka for a stretch of time. A DynamoDB point-in-time restore
 * takes the tables back to the restore time, while the event-logger's group stays where it was, past every message
 * logged since: their rows were gone for good, and a request read as succeeded with no step. The rows are keyed by
 * the message's position (handle.ts), so a refill rewrites a row still there under its own key and adds none.
 */
import { randomBytes } from 'node:crypto';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  abortableSleep, decodeOrbitEvent, describeError, errorCodeOf, isRetriable, OrbitError, readTopicToEnd, redriveForAnotherGroup, SERVICE_KAFKA_USE, StoreUnavailableError, tableAnswers,
  type EventCodec, type EventEnvelope, type Kafka, type KafkaMessage,
} from '@orbit/lib';
import { writeRows, writesOf, type EventLoggerDeps, type EventLogWrite } from './handle.js';

export const REFILL_USAGE = 'npm run events:refill -- --since <ISO time> [--until <ISO time>] [--topic <topic>]... [--dry-run]';

/** Every topic the event-logger reads (main.ts subscribes to the same list). */
export const REFILLED_TOPICS: readonly string[] = SERVICE_KAFKA_USE['event-logger'].reads;

/** The live event-logger's consumer group (startConsumerService's default, the service's name): its re-drive copies are logged, others' are not. */
export const EVENT_LOGGER_GROUP = 'event-logger';

/** What `events:refill` was asked for. Times are epoch ms. */
export interface RefillOptions {
  readonly since: number;
  /** Messages written after it are left; undefined: up to each partition's end when the refill starts. */
  readonly until: number | undefined;
  readonly topics: readonly string[];
  readonly dryRun: boolean;
}

/**
 * A date (UTC midnight) or a date and time with its zone. A time without a zone is refused: read as the machine's
 * local time, a restore time copied from the AWS console (UTC) would be off by the machine's offset, and rows lost.
 */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/i;

/** Epoch ms of an ISO 8601 time as `ISO_TIME` takes it; undefined for anything else, or a day or hour no calendar has. */
export function instantOf(text: string): number | undefined {
  const match = ISO_TIME.exec(text.trim());
  if (!match) return undefined;
  const [, year, month, day, hours = '00', minutes = '00', seconds = '00'] = match;
  // Date.parse rolls 2026-02-31 over to March 3 and takes 24:00; a typo must not move the refill's start.
  const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
  if (Number(month) < 1 || Number(month) > 12 || Number(day) < 1 || Number(day) > daysInMonth) return undefined;
  if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds) > 59) return undefined;
  const at = Date.parse(text.trim().replace(' ', 'T'));
  return Number.isNaN(at) ? undefined : at;
}

const TIME_FORMS = 'an ISO 8601 time with its zone (2026-12-07T21:30:00Z, 2026-12-07T22:30:00+01:00) or a date (2026-12-07, midnight UTC)';

/** The command line read into options, or why it cannot be. `now` is epoch ms. */
export function refillOptionsOf(
  values: { since?: string | undefined; until?: string | undefined; topic?: readonly string[] | undefined; 'dry-run'?: boolean | undefined }, now: number = Date.now(),
): RefillOptions | { refused: string } {
  if (values.since === undefined) return { refused: `--since is required: when to refill from (after a DynamoDB point-in-time restore, the restore time), ${TIME_FORMS}` };
  const since = instantOf(values.since);
  if (since === undefined) return { refused: `--since must be ${TIME_FORMS}, got ${JSON.stringify(values.since)}` };
  // Nothing was written after now: a refill from the future would say "0 rows" and read as a log that lost nothing.
  if (since > now) return { refused: `--since ${new Date(since).toISOString()} is in the future (it is ${new Date(now).toISOString()}): give the time the log lost its rows from` };
  let until: number | undefined;
  if (values.until !== undefined) {
    until = instantOf(values.until);
    if (until === undefined) return { refused: `--until must be ${TIME_FORMS}, got ${JSON.stringify(values.until)}` };
    if (until < since) return { refused: `--until ${new Date(until).toISOString()} is before --since ${new Date(since).toISOString()}` };
  }
  const topics = values.topic ?? [];
  const unknown = topics.filter((topic) => !REFILLED_TOPICS.includes(topic));
  if (unknown.length > 0) return { refused: `not a topic the event-logger reads: ${unknown.join(', ')} (one of ${REFILLED_TOPICS.join(', ')})` };
  return { since, until, topics: topics.length > 0 ? [...new Set(topics)] : REFILLED_TOPICS, dryRun: values['dry-run'] ?? false };
}

/** The stretch `[from, end)` of one partition a refill reads. */
export interface PartitionRange {
  readonly partition: number;
  readonly from: bigint;
  readonly end: bigint;
}

/**
 * The stretches of a topic's partitions to read, those holding something: from the first offset at or after `--since`
 * (`starts`, Kafka's answer by timestamp, which is the partition's end when nothing is that late) up to the first at
 * or after `--until` (`untilEnds`), or else the end (`highs`, taken once, so the refill ends however busy the topic).
 */
export function rangesOf(
  starts: readonly { partition: number; offset: string }[], highs: readonly { partition: number; low: string; high: string }[], untilEnds?: readonly { partition: number; offset: string }[],
): PartitionRange[] {
  const ranges: PartitionRange[] = [];
  for (const { partition, low, high } of highs) {
    const start = starts.find((each) => each.partition === partition);
    if (start === undefined || BigInt(start.offset) < 0n) continue;
    const cap = untilEnds?.find((each) => each.partition === partition);
    const from = BigInt(start.offset) > BigInt(low) ? BigInt(start.offset) : BigInt(low);
    const end = cap !== undefined && BigInt(cap.offset) >= 0n && BigInt(cap.offset) < BigInt(high) ? BigInt(cap.offset) : BigInt(high);
    if (from < end) ranges.push({ partition, from, end });
  }
  return ranges.sort((a, b) => a.partition - b.partition);
}

/** One of the two log tables is not there: a restore not finished (or not renamed back yet), or a stack never provisioned. */
export class EventLogNotProvisionedError extends OrbitError {
  constructor(readonly tables: readonly string[]) {
    super('ORBIT_ERR_NOT_PROVISIONED', `DynamoDB has no table ${tables.join(', ')}: run \`npm run provision\` (or finish the restore, under that name) first, then refill; nothing was read or written`);
  }
}

export interface RefillDeps extends EventLoggerDeps {
  readonly kafka: Kafka;
  readonly codec: EventCodec;
  /** The live group whose dlq:redrive copies are logged (others' are passed over, as the live consume loop does). @default EVENT_LOGGER_GROUP */
  readonly liveGroup?: string;
  /** A line of progress for the person running it (stderr). */
  readonly progress?: (line: string) => void;
  /** How long a read may go without progress before the refill gives up (readTopicToEnd). @default 30 s */
  readonly readIdleMs?: number;
  /**
   * The lifecycle topic a read topic stands for, as the live consume loop's logicalTopicOf (a test's private copies):
   * rows are keyed, and failures logged, by it. @default the topic itself
   */
  readonly lifecycleTopicOf?: (topic: string) => string;
}

export interface RefillReport {
  /** Messages in the stretch read. */
  readonly messages: number;
  /** Rows written (or, in a dry run, to write): each message's own, its step rows, its error-log row. */
  readonly rows: number;
  /** Of `rows`, those the tables still held before the refill (left as they are). */
  readonly alreadyThere: number;
  /** Partitions that had messages in the stretch. */
  readonly partitions: number;
  /** Messages passed over as the live event-logger does: undecodable ones (it dead-lettered them) and re-drive copies for another group. */
  readonly undecodable: readonly string[];
  readonly passedOver: number;
  /** Topics asked for that Kafka does not have. */
  readonly missingTopics: readonly string[];
  readonly dryRun: boolean;
  /** The prefix of the throwaway consumer groups the reads used (`<prefix>-…`), deleted at the end. */
  readonly groupPrefix: string;
}

/** Messages decoded before their rows are looked up and written: a BatchGetItem of 100 keys and four BatchWriteItems for most. */
const FLUSH_MESSAGES = 100;
/** DynamoDB's BatchGetItem limit. */
const BATCH_GET_LIMIT = 100;
/** Undecodable messages said one by one on stderr; the summary counts the rest. */
const UNDECODABLE_SAID = 20;
/** Read from here, a partition holds nothing to read (readTopicToEnd leaves a partition whose start is at or past its end). */
const NOTHING_TO_READ = 2n ** 63n - 1n;

/** Throws EventLogNotProvisionedError naming the tables DynamoDB does not have; a DynamoDB that does not answer is said as such. */
export async function assertTablesExist(dynamo: DynamoDBDocumentClient, tables: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const table of tables) {
    try {
      await tableAnswers(dynamo, table);
    } catch (error) {
      if ((error as { name?: unknown }).name === 'ResourceNotFoundException') missing.push(table);
      else throw new StoreUnavailableError('DynamoDB', error);
    }
  }
  if (missing.length > 0) throw new EventLogNotProvisionedError(missing);
}

/** Where a row is kept: its table and key. */
const rowKey = (table: string, pid: unknown, eventKey: unknown): string => `${table}\u0000${String(pid)}\u0000${String(eventKey)}`;

/**
 * Which of `writes` the tables hold already (BatchGetItem, keys only). Those are left as they are: written again, a row
 * would take the refill's time as its created time.
 */
async function presentRows(dynamo: DynamoDBDocumentClient, writes: readonly EventLogWrite[]): Promise<Set<string>> {
  const present = new Set<string>();
  for (let start = 0; start < writes.length; start += BATCH_GET_LIMIT) {
    let pending: Record<string, { Keys: Record<string, unknown>[]; ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> }> = {};
    for (const { table, row } of writes.slice(start, start + BATCH_GET_LIMIT)) {
      (pending[table] ??= { Keys: [], ProjectionExpression: '#pid, #eventKey', ExpressionAttributeNames: { '#pid': 'pid', '#eventKey': 'eventKey' } }).Keys.push({ pid: row.pid, eventKey: row.eventKey });
    }
    for (let attempt = 0; Object.keys(pending).length > 0; attempt++) {
      if (attempt === 8) throw new StoreUnavailableError('dynamodb', 'BatchGetItem kept leaving keys unprocessed');
      if (attempt > 0) await abortableSleep(50 * 2 ** attempt);
      const answer = await dynamo.send(new BatchGetCommand({ RequestItems: pending }));
      for (const [table, items] of Object.entries(answer.Responses ?? {})) {
        for (const item of items) present.add(rowKey(table, item['pid'], item['eventKey']));
      }
      pending = (answer.UnprocessedKeys ?? {}) as typeof pending;
    }
  }
  return present;
}

interface Planned {
  readonly topic: string;
  /** Every partition of the topic, as Kafka answered when the refill started. */
  readonly partitions: readonly number[];
  readonly ranges: readonly PartitionRange[];
}

/** Each topic's stretches, from Kafka's offsets now and by the times asked for. */
async function plan(kafka: Kafka, options: RefillOptions): Promise<{ planned: Planned[]; missingTopics: string[] }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const planned: Planned[] = [];
    const missingTopics: string[] = [];
    for (const topic of options.topics) {
      if (!existing.has(topic)) {
        missingTopics.push(topic);
        continue;
      }
      const highs = await admin.fetchTopicOffsets(topic);
      const starts = await admin.fetchTopicOffsetsByTimestamp(topic, options.since);
      // The first offset written after --until (to the ms) is where the stretch ends.
      const untilEnds = options.until === undefined ? undefined : await admin.fetchTopicOffsetsByTimestamp(topic, options.until + 1);
      planned.push({ topic, partitions: highs.map(({ partition }) => partition), ranges: rangesOf(starts, highs, untilEnds) });
    }
    return { planned, missingTopics };
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the throwaway groups the reads made (all named `prefix-…`); they committed nothing, so a group left behind only lingers until Kafka drops it. */
async function deleteGroups(kafka: Kafka, prefix: string, progress: (line: string) => void): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const ours = (await admin.listGroups()).groups.map(({ groupId }) => groupId).filter((groupId) => groupId.startsWith(`${prefix}-`));
    if (ours.length > 0) await admin.deleteGroups(ours);
  } catch (error) {
    progress(`could not delete the refill's consumer group(s) ${prefix}-* (${errorCodeOf(error) ?? String(error)}): they hold no offsets and Kafka drops them by itself`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Reads every message of `options.topics` written from `options.since` (up to `options.until`, or the end each
 * partition had when the refill started) and writes its rows as the live event-logger does. The live group is never
 * touched: each topic is read by a throwaway group of its own that commits nothing, deleted at the end.
 */
export async function refillEventLog(deps: RefillDeps, options: RefillOptions): Promise<RefillReport> {
  const progress = deps.progress ?? (() => undefined);
  const liveGroup = deps.liveGroup ?? EVENT_LOGGER_GROUP;
  await assertTablesExist(deps.dynamo, [deps.eventLogTable, deps.errorLogTable]);
  const { planned, missingTopics } = await plan(deps.kafka, options);
  for (const topic of missingTopics) progress(`${topic}: no such topic on Kafka, passed over`);
  const toRead = planned.filter(({ ranges }) => ranges.length > 0);
  const upTo = toRead.reduce((sum, { ranges }) => sum + ranges.reduce((inTopic, { from, end }) => inTopic + Number(end - from), 0), 0);
  const window = `from ${new Date(options.since).toISOString()}${options.until === undefined ? '' : ` to ${new Date(options.until).toISOString()}`}`;
  progress(`${options.dryRun ? 'counting' : 'refilling'} ${window}: up to ${upTo} message(s) in ${toRead.reduce((sum, { ranges }) => sum + ranges.length, 0)} partition(s) of ${toRead.length} topic(s)`);

  const counts = { messages: 0, rows: 0, alreadyThere: 0, passedOver: 0 };
  const undecodable: string[] = [];
  const partitionsSeen = new Set<string>();
  let pending: EventLogWrite[] = [];
  let pendingMessages = 0;
  const flush = async (): Promise<void> => {
    const writes = pending;
    pending = [];
    pendingMessages = 0;
    if (writes.length === 0) return;
    const present = await presentRows(deps.dynamo, writes);
    counts.alreadyThere += present.size;
    const missing = writes.filter(({ table, row }) => !present.has(rowKey(table, row.pid, row.eventKey)));
    if (!options.dryRun && missing.length > 0) await writeRows(deps, missing);
    counts.rows += writes.length;
  };
  const groupPrefix = `orbit-events-refill-${randomBytes(6).toString('hex')}`;
  try {
    for (const { topic, partitions, ranges } of toRead) {
      const byPartition = new Map(ranges.map((range) => [range.partition, range]));
      const from = new Map(partitions.map((partition) => [partition, byPartition.get(partition)?.from ?? NOTHING_TO_READ]));
      const before = counts.messages;
      const lifecycleTopic = deps.lifecycleTopicOf?.(topic) ?? topic;
      const take = async (message: KafkaMessage, partition: number): Promise<void> => {
        const range = byPartition.get(partition);
        const offset = BigInt(message.offset);
        if (range === undefined || offset < range.from || offset >= range.end) return;
        counts.messages += 1;
        partitionsSeen.add(`${topic}/${partition}`);
        if (counts.messages % 5_000 === 0) progress(`  ${counts.messages} message(s) read, ${counts.rows} row(s) ${options.dryRun ? 'counted' : 'written'}`);
        let event: EventEnvelope;
        try {
          // As the live consume loop does (message-processing.ts): another group's re-drive copy is not this service's to log.
          if (redriveForAnotherGroup(message.headers, [topic, lifecycleTopic], liveGroup)) {
            counts.passedOver += 1;
            return;
          }
          event = (await decodeOrbitEvent(deps.codec, topic, message.value)) as EventEnvelope;
        } catch (error) {
          // The schema registry away would pass over every message: the refill stops instead, having written what it had.
          if (isRetriable(error)) throw error;
          // The live event-logger dead-lettered it and wrote no row: nothing to give back.
          const at = `${topic}/${partition}@${message.offset}`;
          undecodable.push(`${at} (${errorCodeOf(error) ?? 'undecodable'})`);
          if (undecodable.length <= UNDECODABLE_SAID) progress(`  ${at}: not decodable, passed over as the event-logger dead-lettered it: ${describeError(error, 300)}`);
          return;
        }
        pending.push(...writesOf(deps, { event, topic: lifecycleTopic, partition, offset: message.offset }));
        pendingMessages += 1;
        if (pendingMessages >= FLUSH_MESSAGES) await flush();
      };
      await readTopicToEnd(deps.kafka, topic, take, { groupPrefix, wholeOrNothing: true, from, ...(deps.readIdleMs === undefined ? {} : { timeoutMs: deps.readIdleMs }) });
      await flush();
      progress(`${topic}: ${counts.messages - before} message(s) from ${ranges.length} partition(s)`);
    }
  } finally {
    await deleteGroups(deps.kafka, groupPrefix, progress);
  }
  return { ...counts, partitions: partitionsSeen.size, undecodable, missingTopics, dryRun: options.dryRun, groupPrefix };
}

/** The report's last line: `refilled 1234 row(s) from 8 partition(s), 1200 already there`, and what was passed over. */
export function refillSummary(report: RefillReport): string {
  const missing = report.rows - report.alreadyThere;
  const head = `${report.dryRun ? 'would refill' : 'refilled'} ${missing} missing row(s) of ${report.rows} read from ${report.partitions} partition(s), ${report.alreadyThere} already there (left as they are)`;
  const gap = report.dryRun ? '; a dry run writes nothing' : '';
  const passed = [
    ...(report.undecodable.length > 0 ? [`${report.undecodable.length} undecodable message(s) passed over, as the event-logger dead-lettered them: ${report.undecodable.slice(0, 5).join(', ')}${report.undecodable.length > 5 ? `, and ${report.undecodable.length - 5} more` : ''}`] : []),
    ...(report.passedOver > 0 ? [`${report.passedOver} dlq:redrive copy(ies) for another group passed over, as the event-logger does`] : []),
  ];
  return [head + gap, ...passed].join('\n');
}
