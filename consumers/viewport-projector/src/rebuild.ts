import { createHash, randomBytes } from 'node:crypto';
import {
  abortableSleep, committedOffsets, ConsumeLoop, createMysqlConnection, createOpsMysqlPool, databaseOf, endMysqlPool, OPS_MYSQL_END_TIMEOUT_MS, decodeOrbitEvent, errorCodeOf, lostPartitions, OrbitError, readTopicToEnd, retryPolicy, takeNamedLock, TOPICS,
  type CommittedOffsets, type ConsumedMessage, type EventCodec, type EventPublisher, type Kafka, type Logger, type MessagePosition,
} from '@orbit/lib';
import type { OrbitEvent, UploadBodyDigest, UploadRequested } from '@orbit/schemas';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket, SslOptions } from 'mysql2/promise';
import { passOtherGroupsRedrives, projectorBatchHandler, projectorDeadLetterHook, projectorHandler, refuseStatementBinlog } from './handle.js';
import { compactedTopics, describeReplaced, HistoryCompactedError, HistoryReplacedError, replacedPartitions } from './history.js';
import { dependentsFirst } from './topics.js';

/**
 * Tables the projection consists of, swapped by a rebuild; everything else in the database (requests, names, claims,
 * migrations) stays. The owners' marks (migration 0020) with them: the shadow's are all new values, so the gateway
 * renders every index again from the tables swapped in.
 */
export const PROJECTION_TABLES = ['wp_image_uid', 'wp_posts', 'wp_postmeta', 'viewport_applied_offsets', 'viewport_set_aside', 'viewport_owner_marks'] as const;
/** Tables the projector writes besides the projection: a shadow needs them too, but they are not swapped. */
export const SHADOW_ONLY_TABLES = ['viewport_requests', 'viewport_outbox'] as const;
/** The gateway's tables a rebuild fills in from the history where rows are missing (see restoreLostRows, restoreUploadClaims). */
const RESTORED_TABLES = ['image_names', 'transfer_claims', 'upload_completions', 'upload_idempotency_keys'] as const;
/** The row live projector transactions pass and a swap holds (migration 0015): never swapped itself. */
const SWAP_GATE_TABLE = 'viewport_swap_gate';
/** Every table a rebuild reads or writes in the live database. */
export const REBUILT_DATABASE_TABLES = [...PROJECTION_TABLES, ...SHADOW_ONLY_TABLES, ...RESTORED_TABLES, SWAP_GATE_TABLE] as const;

export interface RebuildDeps {
  readonly kafka: Kafka;
  readonly codec: EventCodec;
  /** A pool on the live database (its user may create `<db>_*` databases). */
  readonly pool: Pool;
  /** mysql:// URL of the live database. */
  readonly mysqlUrl: string;
  /** TLS of the pools the rebuild opens beside `pool` (mysqlTarget). */
  readonly mysqlSsl?: SslOptions | undefined;
  readonly topics: readonly string[];
  /** The live projector's group: the rebuilt offsets are written under it, so the live projector carries on from them. */
  readonly liveGroup: string;
  readonly publisher: Pick<EventPublisher, 'publish'>;
  readonly logger: Logger;
  readonly pollMs?: number;
  /** Longest the live projector is held while the shadow takes its last stretch. @default 30 s */
  readonly gateTimeoutMs?: number;
  /**
   * The lifecycle topic a consumed topic mirrors, for replays from renamed
   * copies (MirrorMaker's `<cluster>.<topic>`, a benchmark's private topics).
   * @default the topic itself
   */
  readonly lifecycleTopicOf?: (topic: string) => string;
  /**
   * Whether the replay writes request rows, to give back (with their transfer
   * claims) those the live database lost. They make the rebuild a quarter to
   * 40 % slower, and a database that kept its requests has nothing to gain.
   * @default true when the live database holds no request at all, or its
   * projection was lost (Kafka's live group is past what it holds)
   */
  readonly restoreRequests?: boolean;
  /**
   * Where upload commands are, to give back the claims of presigned
   * completions and Idempotency-Keys when requests are given back.
   * @default orbit.upload.requested, named as `topics` are (see lifecycleTopicOf)
   */
  readonly uploadRequestsTopic?: string;
  /**
   * Stops the rebuild (RebuildInterruptedError) at its next step, up to the swap: nothing is swapped, and what it
   * made (its consumer group) goes. Once the tables are swapped it finishes (the tail, the restored rows).
   */
  readonly signal?: AbortSignal | undefined;
  /** How the swap's RENAME waits for the tables. @default 5 s lock waits, 3 tries, 1 s apart */
  readonly swapPatience?: SwapPatience;
}

/** A message a rebuild passed over: where it is (`topic/partition@offset`) and why (ORBIT_ERR_DECODE, say). */
export interface SkippedMessage {
  readonly at: string;
  readonly code: string;
}

export interface RebuildReport {
  readonly group: string;
  readonly eventsReplayed: number;
  readonly seconds: number;
  readonly catchUpEvents: number;
  /** Messages that could not be projected and were passed over, with the reason code (the log has the whole error). */
  readonly skipped: readonly SkippedMessage[];
  /** Rows the live database had lost (it was rebuilt from nothing), restored from the replayed history. */
  readonly restored: RestoredRows;
}

/** Counts of the rows restoreLostRows added. */
export interface RestoredRows {
  readonly requests: number;
  readonly imageNames: number;
  readonly transferClaims: number;
  /** Presigned completions and Idempotency-Keys (restoreUploadClaims). */
  readonly uploadClaims: number;
}

const quote = (name: string): string => `\`${name.replace(/`/g, '``')}\``;
const sleep = abortableSleep;

/** Where each partition of the topics begins and ends, now. */
interface TopicSpans {
  /** End offset of every non-empty partition, per `topic/partition`. */
  readonly ends: Map<string, bigint>;
  /** Partitions whose first messages are gone (retention, DeleteRecords), with the offset they now start at. */
  readonly truncated: string[];
  /** End offset of every partition, empty ones included, per `topic/partition` (lifecycle names): what a replaced topic shows. */
  readonly highs: Map<string, bigint>;
}

/** Read in causal order, latest first (see dependentsFirst). */
async function topicSpans(kafka: Kafka, topics: readonly string[], rename: (topic: string) => string): Promise<TopicSpans> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const spans: TopicSpans = { ends: new Map(), truncated: [], highs: new Map() };
    for (const topic of dependentsFirst(topics, rename)) {
      for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
        spans.highs.set(`${rename(topic)}/${partition}`, BigInt(high));
        if (BigInt(high) > BigInt(low)) spans.ends.set(`${rename(topic)}/${partition}`, BigInt(high));
        if (BigInt(low) > 0n) spans.truncated.push(`${topic}/${partition} starts at offset ${low}`);
      }
    }
    return spans;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Refuses a history that is not the one the live projection was made from, or not whole (HistoryTruncatedError,
 * HistoryCompactedError, HistoryReplacedError), before anything is created: a replay of it would swap in less than
 * the live projection holds, or wait for ever for offsets the topic no longer reaches (the shadow is levelled up to
 * the live projection's applied offsets).
 */
async function assertHistoryWhole(deps: RebuildDeps, applied: ReadonlyMap<string, bigint>, history: TopicSpans, rename: (topic: string) => string): Promise<void> {
  if (history.truncated.length > 0) throw new HistoryTruncatedError(history.truncated);
  const replaced = replacedPartitions(applied, history.highs, new Set(deps.topics.map(rename)));
  if (replaced.length > 0) throw new HistoryReplacedError(describeReplaced(replaced), 'rebuilding');
  const admin = deps.kafka.admin();
  await admin.connect();
  try {
    const compacted = await compactedTopics(admin, deps.topics).catch((error: unknown) => {
      // A principal without DESCRIBE_CONFIGS on the topics (an older grant) must not stop every rebuild: said, not refused.
      if (!/AUTHORIZATION_FAILED/.test(String((error as { type?: unknown }).type))) throw error;
      deps.logger.warn({ err: error }, 'could not read the lifecycle topics\' cleanup.policy (no DESCRIBE_CONFIGS grant): a compacted topic would not be noticed');
      return [];
    });
    if (compacted.length > 0) throw new HistoryCompactedError(compacted);
  } finally {
    await admin.disconnect();
  }
}

/** The live group's committed offsets, under the lifecycle topics' names. */
async function liveCommits(kafka: Kafka, group: string, topics: readonly string[], rename: (topic: string) => string): Promise<CommittedOffsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await committedOffsets(admin, group, topics);
    return committed.map(({ topic, partitions }) => ({ topic: rename(topic), partitions }));
  } finally {
    await admin.disconnect();
  }
}

/**
 * The replay's end per partition: the history's end, but no further than the
 * live group has committed. What the live projector has not handled yet (it
 * lags, or waits because its projection was lost) belongs to the tail, which
 * is applied after the swap with every effect (request status,
 * ViewportUpdated); applied silently in the shadow, its requests would never
 * finish. A partition the live group never committed keeps the history's end.
 */
function replayEnds(ends: ReadonlyMap<string, bigint>, committed: CommittedOffsets): Map<string, bigint> {
  const capped = new Map(ends);
  for (const { topic, partitions } of committed) {
    for (const { partition, offset } of partitions) {
      const key = `${topic}/${partition}`;
      const end = capped.get(key);
      if (end !== undefined && BigInt(offset) >= 0n && BigInt(offset) < end) capped.set(key, BigInt(offset));
    }
  }
  return capped;
}

/** The next offset the database expects, per `topic/partition`. */
async function appliedOffsets(pool: Pool, database: string, group: string): Promise<Map<string, bigint>> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT topic, kafka_partition, next_offset FROM ${quote(database)}.viewport_applied_offsets WHERE consumer_group = ?`, [group]);
  return new Map(rows.map((row) => [`${String(row['topic'])}/${String(row['kafka_partition'])}`, BigInt(String(row['next_offset']))]));
}

/** Stretches `[from, end)` of a partition (by `topic/partition`, lifecycle names) found to hold no event. */
type Eventless = Map<string, { readonly from: bigint; readonly end: bigint }>;

/** Partitions whose applied offset has not reached its end, per `topic/partition`, with the offset it is at. */
function behind(applied: ReadonlyMap<string, bigint>, ends: ReadonlyMap<string, bigint>, eventless: Eventless): Map<string, bigint> {
  const lagging = new Map<string, bigint>();
  for (const [key, end] of ends) {
    const at = applied.get(key) ?? 0n;
    const none = eventless.get(key);
    if (at < end && !(none && none.end === end && at >= none.from)) lagging.set(key, at);
  }
  return lagging;
}

/**
 * True when the database's applied offsets reach every end offset, or stop
 * short of it only by a stretch found to hold no event: an end is the offset
 * after a partition's last record, which may be a transaction's marker, and
 * the projection records the offsets of the events it applied, never of a
 * marker (nothing delivers it).
 */
async function caughtUp(pool: Pool, database: string, group: string, ends: ReadonlyMap<string, bigint>, eventless: Eventless = new Map()): Promise<boolean> {
  return behind(await appliedOffsets(pool, database, group), ends, eventless).size === 0;
}

/** How long a partition's applied offset stays put, short of its end, before what is left of it is looked at. */
const STUCK_MS = 1_000;

/** Longest a look for events between the applied offsets and the ends takes; what it has not settled by then is looked at again. */
const EVENTLESS_LOOK_MS = 15_000;

/**
 * Which of `lagging` (`topic/partition` -> applied offset, lifecycle names) hold no event from their applied offset
 * up to their end: read from there by a throwaway group, as the projector reads (committed records only). Kafka
 * delivers no marker or aborted record, but kafkajs tells of each batch fetched and where it ended, including a
 * batch of markers alone: a partition is settled by the first event met below its end, or by a batch reaching it.
 */
async function findEventless(
  deps: Pick<RebuildDeps, 'kafka' | 'topics' | 'logger'>, rename: (topic: string) => string, lagging: ReadonlyMap<string, bigint>, ends: ReadonlyMap<string, bigint>,
): Promise<{ eventless: Eventless; withEvents: Set<string> }> {
  const wanted = new Map<string, { topic: string; partition: number; from: bigint; end: bigint }>();
  for (const topic of deps.topics) {
    for (const [key, from] of lagging) {
      const cut = key.lastIndexOf('/');
      const end = ends.get(key);
      if (end !== undefined && key.slice(0, cut) === rename(topic)) wanted.set(`${topic}/${key.slice(cut + 1)}`, { topic, partition: Number(key.slice(cut + 1)), from, end });
    }
  }
  const found: Eventless = new Map();
  const withEvents = new Set<string>();
  if (wanted.size === 0) return { eventless: found, withEvents };
  const settled = new Set<string>();
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => { finish = resolve; });
  const settle = (real: string, events: boolean): void => {
    const look = wanted.get(real);
    if (!look || settled.has(real)) return;
    settled.add(real);
    if (events) withEvents.add(`${rename(look.topic)}/${look.partition}`);
    if (!events) found.set(`${rename(look.topic)}/${look.partition}`, { from: look.from, end: look.end });
    if (settled.size >= wanted.size) finish();
  };
  const groupId = `viewport-rebuild-eventless-${randomBytes(6).toString('hex')}`;
  const consumer = deps.kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const look = wanted.get(`${payload.topic}/${payload.partition}`);
    // Its events, if any, were told to eachBatch before this; a batch fetched before the seek ends elsewhere.
    const firstOffset = payload.firstOffset === null ? undefined : BigInt(payload.firstOffset);
    if (look && firstOffset !== undefined && firstOffset >= look.from && firstOffset < look.end && BigInt(payload.lastOffset) >= look.end - 1n) {
      settle(`${payload.topic}/${payload.partition}`, false);
    }
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...new Set([...wanted.values()].map((look) => look.topic))], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const real = `${batch.topic}/${batch.partition}`;
        const look = wanted.get(real);
        if (look && batch.messages.some((message) => BigInt(message.offset) >= look.from && BigInt(message.offset) < look.end)) settle(real, true);
      },
    });
    for (const look of wanted.values()) consumer.seek({ topic: look.topic, partition: look.partition, offset: look.from.toString() });
    const timer = setTimeout(finish, EVENTLESS_LOOK_MS);
    try {
      await finished;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await consumer.disconnect();
    await deleteGroups(deps.kafka, [groupId], deps.logger);
  }
  return { eventless: found, withEvents };
}

/**
 * A shadow replay met a message at or past the end offset it was started for.
 * It must not apply it: the shadow writes no request rows and announces
 * nothing, so live traffic applied there would be marked done in the swapped-in
 * tables with its request left running and its ViewportUpdated never sent.
 * The partition waits here (a retry) until the replay stops; the tail after
 * the swap is applied with every effect.
 */
class ReplayEndReached extends OrbitError {
  constructor(where: string, end: bigint) {
    super('ORBIT_ERR_REPLAY_END', `${where} reached the replay's end offset ${end}; the rest is applied after the swap`, { retriable: true });
  }
}

/**
 * Projects the topics under a consumer group until the database has applied
 * every offset in `ends`. With `bound` (the shadow replay), nothing at or
 * past those ends is applied; without it (the tail into the live tables),
 * whatever arrives meanwhile is applied too, with all its effects.
 */
async function runUntil(
  deps: RebuildDeps, group: string, pool: Pool, database: string, ends: ReadonlyMap<string, bigint>, mode: { shadow: boolean; requests: boolean }, skipped: SkippedMessage[],
): Promise<number> {
  const replay = await startReplay(deps, group, pool, database, ends, mode, skipped);
  try {
    await replay.until();
  } finally {
    await replay.stop();
  }
  return replay.handled();
}

/** A replay running under its consumer group: `until` waits for the database to reach the ends as they are then. */
interface Replay {
  until(): Promise<void>;
  /** Messages this replay applied so far. */
  handled(): number;
  stop(): Promise<void>;
}

/**
 * Starts projecting the topics under a consumer group. `ends` may be raised
 * while it runs (a shadow levelled with the live tables): a partition held
 * at its end goes on at its next retry, a fraction of a second later.
 */
async function startReplay(
  deps: RebuildDeps, group: string, pool: Pool, database: string, ends: ReadonlyMap<string, bigint>, mode: { shadow: boolean; requests: boolean }, skipped: SkippedMessage[],
  signal?: AbortSignal,
): Promise<Replay> {
  const { shadow, requests } = mode;
  const handle = projectorHandler({ pool, groupId: deps.liveGroup, publisher: deps.publisher, shadow, requests });
  const handleBatch = projectorBatchHandler({ pool, groupId: deps.liveGroup, publisher: deps.publisher, shadow, requests });
  const setAside = projectorDeadLetterHook({ pool, groupId: deps.liveGroup, publisher: deps.publisher, shadow, ...(deps.lifecycleTopicOf ? { lifecycleTopicOf: deps.lifecycleTopicOf } : {}) });
  const passOver = passOtherGroupsRedrives({ pool, groupId: deps.liveGroup, shadow, ...(deps.lifecycleTopicOf ? { lifecycleTopicOf: deps.lifecycleTopicOf } : {}) });
  const keyOf = (message: ConsumedMessage<OrbitEvent>): string => `${message.topic}/${message.partition}`;
  // A partition that was empty when the replay started has nothing the shadow may apply.
  const endOf = (message: ConsumedMessage<OrbitEvent>): bigint => ends.get(keyOf(message)) ?? 0n;
  const beyondEnd = (message: ConsumedMessage<OrbitEvent>): boolean => shadow && BigInt(message.offset) >= endOf(message);
  /** A message the shadow leaves to the live projector (or the tail): at or past where the snapshot ends. */
  const pastSnapshot = (position: MessagePosition): boolean =>
    shadow && BigInt(position.offset) >= (ends.get(`${deps.lifecycleTopicOf?.(position.topic) ?? position.topic}/${position.partition}`) ?? 0n);
  // Counted once per offset, and only what this run applies: a batch cut at the end is read again, and
  // the tail's consumer re-reads what the shadow applied without committing; the projector skips both.
  const counted = await appliedOffsets(deps.pool, database, deps.liveGroup);
  let handled = 0;
  const count = (messages: readonly ConsumedMessage<OrbitEvent>[]): void => {
    for (const message of messages) {
      const offset = BigInt(message.offset);
      if (offset < (counted.get(keyOf(message)) ?? 0n)) continue;
      counted.set(keyOf(message), offset + 1n);
      handled += 1;
    }
  };
  const loop = new ConsumeLoop<OrbitEvent>({
    kafka: deps.kafka, groupId: group, topics: deps.topics, fromBeginning: true,
    // As the live projector decodes: what it set aside as unusable, the replay passes over too.
    decode: (topic, value) => decodeOrbitEvent(deps.codec, topic, value) as Promise<OrbitEvent>,
    handler: async (message) => {
      if (beyondEnd(message)) throw new ReplayEndReached(keyOf(message), endOf(message));
      await handle(message);
      count([message]);
    },
    batchHandler: async (messages) => {
      const cut = messages.findIndex(beyondEnd);
      const within = cut < 0 ? messages : messages.slice(0, cut);
      if (within.length > 0) {
        await handleBatch(within);
        count(within);
      }
      const first = messages[cut];
      if (first) throw new ReplayEndReached(keyOf(first), endOf(first));
    },
    maxBatchSize: 500,
    // What the live projector set aside, the replay passes over the same way; the live DLQ holds those letters
    // already, so the shadow adds none. The tail writes to the live tables, so it sets aside as the live projector would.
    permanentFailures: shadow ? 'skip' : 'dead-letter',
    // It replays what the live projector handled: the copies re-driven for it too, and no other group's.
    redrivenFor: deps.liveGroup,
    onPassedOver: async (position) => {
      if (!pastSnapshot(position)) await passOver(position);
    },
    onDeadLettered: async (letter) => {
      // Past the snapshot it is the live projector's (or the tail's) to set aside, with a letter: the shadow leaves it alone.
      if (pastSnapshot(letter)) return;
      await setAside(letter);
      skipped.push({ at: `${letter.topic}/${letter.partition}@${letter.offset}`, code: errorCodeOf(letter.error) });
    },
    // Short: a partition held at its end waits no longer than this once the end is raised, while the live projector may be held at the gate.
    retryPolicy: retryPolicy({ initialDelayMs: 50, maxDelayMs: 250 }),
    partitionsConsumedConcurrently: 8,
    // A replay reads a backlog: a short fetch wait lets stop() return at once when it is caught up.
    maxWaitTimeMs: 200,
    ...(deps.lifecycleTopicOf ? { logicalTopicOf: deps.lifecycleTopicOf } : {}),
    logger: deps.logger,
  });
  await loop.start();
  let stopped = false;
  const rename = deps.lifecycleTopicOf ?? ((topic: string) => topic);
  const eventless: Eventless = new Map();
  /** The applied offset each partition was looked at from, and found to hold events after. */
  const looked = new Map<string, bigint>();
  return {
    // Ends when stopped too: a wait given up on (the gate's time) must not poll on after the rebuild.
    // A partition that stays short of its end for a while is looked at (once per applied offset): what is left of
    // it may be a transaction's markers, which the replay never delivers and so never applies.
    until: async () => {
      const since = new Map<string, { at: bigint; since: number }>();
      while (!stopped) {
        throwIfInterrupted(signal);
        const lagging = behind(await appliedOffsets(deps.pool, database, deps.liveGroup), ends, eventless);
        if (lagging.size === 0) return;
        const now = Date.now();
        for (const [key, at] of lagging) if (since.get(key)?.at !== at) since.set(key, { at, since: now });
        const still = new Map([...lagging].filter(([key, at]) => now - (since.get(key)?.since ?? now) >= STUCK_MS && looked.get(key) !== at));
        if (still.size > 0) {
          const found = await findEventless(deps, rename, still, ends);
          for (const [key, none] of found.eventless) eventless.set(key, none);
          for (const key of found.withEvents) looked.set(key, still.get(key) ?? -1n);
        }
        await sleep(deps.pollMs ?? 250, signal);
      }
    },
    handled: () => handled,
    stop: async () => {
      stopped = true;
      await loop.stop();
    },
  };
}

/** Raises each end the live projection has applied past; whether any was. */
function raiseEnds(ends: Map<string, bigint>, live: ReadonlyMap<string, bigint>): boolean {
  let raised = false;
  for (const [key, applied] of live) {
    if (applied > (ends.get(key) ?? 0n)) {
      ends.set(key, applied);
      raised = true;
    }
  }
  return raised;
}

/** Longest the live projector is held at the gate: past it the rebuild gives up and leaves the live projection as it is. */
const GATE_TIMEOUT_MS = 30_000;

/**
 * How long a rebuild waits for any one answer from MySQL before it says MySQL is silent: a bound, not a speed. Its
 * statements rightly run long on a big projection (dropping and creating the shadow database, an INSERT…SELECT
 * giving back requests, a batch of the replay, the gate's SELECT … FOR UPDATE waiting out the live projector's
 * locks, innodb_lock_wait_timeout 50 s by default), so the operations commands' minute would stop sound rebuilds;
 * ten minutes still ends one whose server went silent, which had no bound at all.
 */
export const REBUILD_ANSWER_TIMEOUT_MS = 600_000;

/** The shadow's last stretch could not be applied while the live projector waited. */
export class SwapGateTimeoutError extends OrbitError {
  constructor(ms: number) {
    super('ORBIT_ERR_SWAP_TIMEOUT', `the shadow did not catch up with the live projection within ${ms / 1000} s of holding the live projector; nothing was swapped, the live projection is as it was: run the rebuild again`);
  }
}

async function withinGateTime(work: Promise<void>, ms: number): Promise<void> {
  // Given up on, its later failure (the pool ended under it) is no one's to hear.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new SwapGateTimeoutError(ms)), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How long the swap's RENAME waits for the projection tables' metadata locks, how often it tries, and the pause
 * between tries. The server's default wait is a day (MariaDB): one open transaction that read a projection table
 * (a DBA's session, a report) held the rename that long, and every gateway read queued behind it.
 */
export interface SwapPatience {
  readonly lockWaitSeconds: number;
  readonly attempts: number;
  readonly pauseMs: number;
}
const SWAP_PATIENCE: SwapPatience = { lockWaitSeconds: 5, attempts: 3, pauseMs: 1_000 };

/** The swap's RENAME could not have the projection tables: another session keeps a transaction open on one. */
export class SwapBlockedError extends OrbitError {
  constructor(database: string, attempts: number, seconds: number) {
    super('ORBIT_ERR_SWAP_BLOCKED', `the swap waited ${attempts} times ${seconds} s for a session holding a table of ${database} in an open transaction (a DBA's session, a report, a long query); nothing was swapped, the live projection is as it was: end that transaction (SHOW PROCESSLIST, information_schema.innodb_trx) and run the rebuild again`);
  }
}

/**
 * Runs the swap's RENAME on `connection` (one of its own: the wait it sets is for this session), each wait
 * bounded so gateway reads queued behind it wait seconds, not the server's day; between tries they go through.
 */
export async function renameWithinLockWait(
  connection: PoolConnection, database: string, renames: readonly string[], stillLocked: () => Promise<void>, patience: SwapPatience = SWAP_PATIENCE,
): Promise<void> {
  await connection.query('SET SESSION lock_wait_timeout = ?', [patience.lockWaitSeconds]);
  for (let attempt = 1; ; attempt += 1) {
    await stillLocked();
    try {
      await connection.query(`RENAME TABLE ${renames.join(', ')}`);
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ER_LOCK_WAIT_TIMEOUT') throw error;
      if (attempt >= patience.attempts) throw new SwapBlockedError(database, attempt, patience.lockWaitSeconds);
      await sleep(patience.pauseMs);
    }
  }
}

/** Levelling rounds before the gate is closed, and the round small enough to stop at: the live projector waits for the last one. */
const LEVEL_ROUNDS = 5;
const LEVEL_ENOUGH = 200;

/**
 * Seconds the gate's connection may sit without a statement before MariaDB (or MySQL) closes it, rolling its
 * transaction back: the gate's time, and a margin for the round trips around it. The rebuild's own timer is
 * only good while the rebuild runs: stopped (SIGSTOP, a suspended VM, a pause of its host) it held the live
 * projector for as long as it stood still. Each swap attempt (a lock wait of seconds) pings it first.
 */
export const gateIdleSeconds = (gateTimeoutMs: number): number => Math.ceil(gateTimeoutMs / 1000) + GATE_IDLE_MARGIN_S;
const GATE_IDLE_MARGIN_S = 15;

/** The live projector held at the gate by one transaction, until `open`. */
export interface SwapGate {
  /** Fails with SwapGateLostError once the server has closed the gate's connection (and let the live projector go); pings it otherwise. */
  assertHeld(before: string): Promise<void>;
  /** Commits the gate's transaction: the live projector goes on. False when the gate had been lost already. */
  open(): Promise<boolean>;
}

/**
 * Closes the swap gate: waits for live projector transactions under way to commit, and holds every next one
 * at its first statement until the gate opens. Their transactions hold no lock on the projection tables
 * meanwhile, so the swap's RENAME goes through. The server itself ends the hold once the gate's connection
 * has been idle `idleSeconds` (wait_timeout of its session), so a rebuild that stops answering holds the
 * live projector that long at most.
 */
export async function closeSwapGate(pool: Pool, database: string, idleSeconds: number): Promise<SwapGate> {
  const connection = await pool.getConnection();
  try {
    await connection.query('SET SESSION wait_timeout = ?', [idleSeconds]);
    await connection.query(`INSERT IGNORE INTO ${quote(database)}.${SWAP_GATE_TABLE} (id) VALUES (1)`);
    await connection.beginTransaction();
    await connection.query(`SELECT id FROM ${quote(database)}.${SWAP_GATE_TABLE} WHERE id = 1 FOR UPDATE`);
  } catch (error) {
    connection.release();
    throw error;
  }
  let lost = false;
  return {
    assertHeld: async (before) => {
      if (!lost) await connection.query('SELECT 1').catch(() => { lost = true; });
      if (lost) throw new SwapGateLostError(database, idleSeconds, before);
    },
    open: async () => {
      const opened = !lost && await connection.commit().then(() => true, () => false);
      // A connection the server closed goes; a live one goes back to its pool (which the rebuild ends).
      if (opened) connection.release();
      else connection.destroy();
      return opened;
    },
  };
}

/** The server closed the gate's connection (the rebuild stood still longer than the gate's idle bound, a KILL): the live projector went on. */
export class SwapGateLostError extends OrbitError {
  constructor(database: string, idleSeconds: number, before: string) {
    super('ORBIT_ERR_SWAP_GATE_LOST', `the rebuild of ${database} lost its hold of the live projector (the server closes the gate's connection after ${idleSeconds} s without a statement: the rebuild stood still, or the connection was killed) and stopped before ${before}; nothing was swapped, the live projection is as it was: run the rebuild again`);
  }
}

/** The rebuild was asked to stop (SIGINT, SIGTERM) before its swap. */
export class RebuildInterruptedError extends OrbitError {
  constructor() {
    super('ORBIT_ERR_REBUILD_INTERRUPTED', 'the rebuild was stopped before its swap; nothing was swapped, the live projection and viewport_previous are as they were');
  }
}

function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new RebuildInterruptedError();
}

/** A second rebuild of the same database would drop the first one's shadow under it. */
export class RebuildRunningError extends OrbitError {
  constructor(database: string) {
    super('ORBIT_ERR_REBUILD_RUNNING', `a rebuild of ${database} is already running; wait for it to finish (or stop it) and try again`);
  }
}

/**
 * A lifecycle topic no longer holds its whole history: a replay of it would
 * swap in a projection without whatever the lost events projected, and the
 * live one that still has it would be dropped.
 */
export class HistoryTruncatedError extends OrbitError {
  constructor(truncated: readonly string[]) {
    super('ORBIT_ERR_HISTORY_TRUNCATED', `cannot rebuild: events are gone from the start of ${truncated.join(', ')} (retention or deleted records); the live projection was left as it is`);
  }
}

/** The database has no ViewPort tables: it was never provisioned, or it was lost and created again empty. */
export class ProjectionMissingError extends OrbitError {
  constructor(database: string, missing: readonly string[]) {
    super('ORBIT_ERR_NOT_PROVISIONED', `${database} has no ${missing.join(', ')}: run \`npm run provision\` first (it applies the migrations), then rebuild`);
  }
}

/** Fails with ProjectionMissingError unless every table a rebuild copies exists in `database`. */
export async function assertProvisioned(pool: Pool, database: string): Promise<void> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_name IN (?)', [database, REBUILT_DATABASE_TABLES]);
  const present = new Set(rows.map((row) => String(row['name'])));
  const missing = REBUILT_DATABASE_TABLES.filter((table) => !present.has(table));
  if (missing.length > 0) throw new ProjectionMissingError(database, missing);
}

/** A database without a single request row lost them (or never had any: then the history is empty too). */
async function hasNoRequests(pool: Pool, database: string): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT 1 FROM ${quote(database)}.viewport_requests LIMIT 1`);
  return rows.length === 0;
}

/**
 * The gateway's rows beside the projection that its history can give back:
 * after a rebuild from nothing (the database lost, provisioned again empty)
 * every earlier request would answer 404, an image name would get a second
 * UID on its next upload, and no transfer would have a claim (so a repeat
 * would not find its request, nor reconcile its transfer). Only missing rows
 * are added (INSERT IGNORE): whatever the live database holds stays as it is.
 * Requests come from the shadow's request rows, names from the rebuilt
 * wp_image_uid, claims from the shadow's succeeded transfers. The shadow
 * writes request rows only when asked to (RebuildDeps.restoreRequests: by
 * default when the live database holds none or lost its projection), so an everyday rebuild gives
 * back names only.
 * Were a name ever given two UIDs (an upload after the loss, before the
 * rebuild), the older one keeps it. A request whose every event failed to
 * project, or a name that was only ever rejected, leaves nothing to restore
 * from.
 */
async function restoreLostRows(pool: Pool, database: string, shadow: string): Promise<Omit<RestoredRows, 'uploadClaims'>> {
  const live = quote(database);
  const from = quote(shadow);
  const columns = 'request_id, kind, image_uid, image_version, target_env, notes, user_login, status, error_code, error_message, error_pid, created_at, updated_at';
  const [requests] = await pool.query<ResultSetHeader>(`INSERT IGNORE INTO ${live}.viewport_requests (${columns}) SELECT ${columns} FROM ${from}.viewport_requests`);
  const [names] = await pool.query<ResultSetHeader>(
    `INSERT IGNORE INTO ${live}.image_names (user_login, image_name, image_uid, created_at) SELECT user_login, image_name, image_uid, created_at FROM ${live}.wp_image_uid ORDER BY created_at, image_uid`,
  );
  const [claims] = await pool.query<ResultSetHeader>(
    `INSERT IGNORE INTO ${live}.transfer_claims (image_uid, image_version, target_env, request_id, created_at)
     SELECT image_uid, image_version, target_env, request_id, created_at FROM ${from}.viewport_requests
     WHERE kind = 'transfer' AND status = 'succeeded' AND image_version IS NOT NULL AND target_env IS NOT NULL`,
  );
  return { requests: requests.affectedRows, imageNames: names.affectedRows, transferClaims: claims.affectedRows };
}

/** Lifecycle topic `topic` named as the copy `sample` is (`<prefix><lifecycle topic>`: MirrorMaker's `<cluster>.<topic>`, a test's private copies). */
function namedAlike(sample: string | undefined, lifecycleTopicOf: ((topic: string) => string) | undefined, topic: string): string {
  const own = sample !== undefined && lifecycleTopicOf ? lifecycleTopicOf(sample) : undefined;
  return sample !== undefined && own !== undefined && sample.endsWith(own) ? `${sample.slice(0, sample.length - own.length)}${topic}` : topic;
}

/** Where each kind of upload key is held (migrations 0011, 0012). */
const UPLOAD_KEY_TABLES = [
  { field: 'uploadId', table: 'upload_completions', column: 'upload_id' },
  { field: 'idempotencyKey', table: 'upload_idempotency_keys', column: 'idempotency_key' },
] as const;

/**
 * The claims of presigned completions and Idempotency-Keys a lost database
 * held, so that a client retrying after the loss still gets its request
 * rather than a second one: read from the upload commands (which carry the
 * key since 2026-12-01; older ones give nothing back), each added where its
 * request was given back and its key is free. The projected topics do not
 * carry the keys, so this is one more read, of one topic, and only when
 * requests are given back. A key whose first request failed comes back held
 * by it; the next call with the key replaces it, as it would have anyway.
 */
async function restoreUploadClaims(deps: RebuildDeps, database: string): Promise<number> {
  const topic = deps.uploadRequestsTopic ?? namedAlike(deps.topics[0], deps.lifecycleTopicOf, TOPICS.uploadRequested);
  const claims: { table: (typeof UPLOAD_KEY_TABLES)[number]['table']; owner: string; key: string; requestId: string; at: Date; digest: UploadBodyDigest | null }[] = [];
  await readTopicToEnd(deps.kafka, topic, async (message) => {
    const command = await deps.codec.decode(topic, message.value).catch(() => undefined) as UploadRequested | undefined;
    for (const { field, table } of UPLOAD_KEY_TABLES) {
      const key = command?.[field];
      if (command && typeof key === 'string') {
        claims.push({ table, owner: command.actor.username, key, requestId: command.requestId, at: new Date(command.occurredAt), digest: command.bodyDigest ?? null });
      }
    }
  }, { groupPrefix: 'viewport-rebuild-upload-claims', timeoutMs: 120_000 });
  let restored = 0;
  // In chunks: which requests came back is one look-up, and each table's rows one multi-row insert.
  for (let start = 0; start < claims.length; start += RESTORE_CHUNK) {
    const chunk = claims.slice(start, start + RESTORE_CHUNK);
    const [present] = await deps.pool.query<RowDataPacket[]>(
      `SELECT request_id FROM ${quote(database)}.viewport_requests WHERE request_id IN (?)`, [[...new Set(chunk.map((claim) => claim.requestId))]]);
    const restoredRequests = new Set(present.map((row) => String(row['request_id'])));
    for (const { table, column } of UPLOAD_KEY_TABLES) {
      const rows = chunk.filter((claim) => claim.table === table && restoredRequests.has(claim.requestId))
        .map((claim) => [claim.owner, claim.key, claim.requestId, claim.at, claim.digest?.metadataSha256 ?? null, claim.digest?.contentSha256 ?? null]);
      if (rows.length === 0) continue;
      const [result] = await deps.pool.query<ResultSetHeader>(
        `INSERT IGNORE INTO ${quote(database)}.${quote(table)} (user_login, ${quote(column)}, request_id, created_at, metadata_sha256, content_sha256) VALUES ?`, [rows]);
      restored += result.affectedRows;
    }
  }
  return restored;
}

/** Claims looked up and written per round trip when upload claims are given back. */
const RESTORE_CHUNK = 500;

/** MySQL lock names are at most 64 characters; database names can be as long on their own. */
export const rebuildLockName = (database: string): string => `orbit-rebuild-${createHash('sha256').update(database).digest('hex').slice(0, 40)}`;

/**
 * The rebuild's named lock went with its connection (closed by the server's wait_timeout, a KILL, a network cut):
 * another rebuild may have started, and dropping or renaming now could do so under it.
 */
export class RebuildLockLostError extends OrbitError {
  constructor(database: string, before: string, cause?: unknown) {
    super('ORBIT_ERR_REBUILD_LOCK_LOST', `the rebuild of ${database} lost its lock (its MySQL connection was closed), so another rebuild may be running; it stopped before ${before}. Run it again once no other rebuild runs`, cause === undefined ? {} : { cause });
  }
}

/** The named lock a rebuild holds, and the check that it still does. */
export interface RebuildLock {
  /** Fails with RebuildLockLostError unless the lock is still this rebuild's; `before` says what it was about to do. */
  assertHeld(before: string): Promise<void>;
  release(): Promise<void>;
}

/** Held on a connection of its own for the whole rebuild (takeNamedLock); MySQL releases it if the process dies. */
export async function lockRebuild(deps: Pick<RebuildDeps, 'mysqlUrl' | 'mysqlSsl' | 'logger'>, database: string): Promise<RebuildLock> {
  const lock = await takeNamedLock(await createMysqlConnection(deps.mysqlUrl, deps.mysqlSsl), rebuildLockName(database), () => new RebuildRunningError(database),
    (error) => deps.logger.warn({ err: error }, 'the rebuild lock\'s connection did not answer a ping'));
  return {
    assertHeld: (before) => lock.assertHeld((cause) => new RebuildLockLostError(database, before, cause)),
    release: () => lock.release(),
  };
}

/**
 * Rebuilds ViewPort from the lifecycle topics while the live projector keeps
 * running: replays every topic from the beginning (fresh consumer group) into
 * a shadow database, swaps the shadow tables in with one atomic RENAME, then
 * applies the tail that arrived meanwhile into the live tables. The applied
 * offsets travel with the tables, so the live projector (which re-reads a
 * partition when the database is behind it) and the tail catch-up never apply
 * a message twice or skip one.
 */
export async function rebuildProjection(deps: RebuildDeps): Promise<RebuildReport> {
  throwIfInterrupted(deps.signal);
  const database = databaseOf(deps.mysqlUrl);
  // The shadow's writes fail under a statement-format binary log; found now, not as every replayed message passed over.
  await refuseStatementBinlog(deps.pool);
  const lock = await lockRebuild(deps, database);
  const group = `viewport-rebuild-${Date.now()}`;
  try {
    // What a rebuild killed (SIGKILL, a crash) left: its group and its committed offsets. The rebuilds' state is in MySQL, so an idle one's goes too.
    await deleteIdleRebuildGroups(deps.kafka, deps.logger);
    return await rebuildLocked(deps, database, lock, group);
  } finally {
    // Every way out: failed, refused at the swap, stopped by a signal, done.
    await deleteGroups(deps.kafka, [group], deps.logger);
    await lock.release();
  }
}

/** The consumer groups a rebuild reads under: its replay's (`viewport-rebuild-<ms>`) and its throwaway looks (`viewport-rebuild-eventless-…`, `viewport-rebuild-upload-claims-…`). */
const REBUILD_GROUP_PREFIX = 'viewport-rebuild-';

/** Deletes `groups`; false (and a warning) when the broker refused, save for groups that were never there. */
async function deleteGroups(kafka: Kafka, groups: readonly string[], logger: Logger): Promise<boolean> {
  if (groups.length === 0) return true;
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([...groups]);
    return true;
  } catch (error) {
    // A group never joined (a rebuild refused early) is no failure; anything else is said and left to the broker's offset expiry.
    const missing = (error as { groups?: { errorCode?: number }[] }).groups?.every((group) => group.errorCode === 69);
    if (!missing) logger.warn({ err: error, groups }, 'could not delete the rebuild\'s consumer group; the broker drops its offsets once they expire');
    return missing === true;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Deletes the `viewport-rebuild-*` groups no member reads under (Empty): those of rebuilds that were killed.
 * A running rebuild's replay is a member of its group; were it between members (stopped for a moment, or
 * between its replay and its tail), losing its committed offsets costs it a re-read, not a message: what
 * it applied is in the database, and the projector skips it.
 */
export async function deleteIdleRebuildGroups(kafka: Kafka, logger: Logger): Promise<string[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const named = (await admin.listGroups()).groups.map((group) => group.groupId).filter((groupId) => groupId.startsWith(REBUILD_GROUP_PREFIX));
    if (named.length === 0) return [];
    const idle = (await admin.describeGroups(named)).groups.filter((group) => group.state === 'Empty').map((group) => group.groupId);
    // One joined again meanwhile is refused by the broker: said by deleteGroups, and not claimed deleted here.
    if (idle.length > 0 && await deleteGroups(kafka, idle, logger)) logger.info({ groups: idle }, 'deleted consumer groups left by earlier rebuilds');
    return idle;
  } catch (error) {
    logger.warn({ err: error }, 'could not look for consumer groups left by earlier rebuilds');
    return [];
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * The swap, one atomic RENAME (MariaDB 10.6+ and MySQL 8 recover a DDL a crash cut short as a whole): the
 * live tables become the previous copy, the shadow's the live ones, and the previous copy (whatever tables
 * it holds) moves into the shadow database, dropped with it once the rebuild is done. Until this statement
 * `<db>_previous` holds the copy the last rebuild swapped out; after it, the one just swapped out.
 */
export function swapRenames(database: string, shadow: string, previous: string, previousTables: readonly string[]): string[] {
  return [
    ...previousTables.map((table) => `${quote(previous)}.${quote(table)} TO ${quote(shadow)}.${quote(`replaced_${table}`)}`),
    ...PROJECTION_TABLES.flatMap((table) => [
      `${quote(database)}.${quote(table)} TO ${quote(previous)}.${quote(table)}`,
      `${quote(shadow)}.${quote(table)} TO ${quote(database)}.${quote(table)}`,
    ]),
  ];
}

async function tablesOf(pool: Pool, database: string): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name', [database]);
  return rows.map((row) => String(row['name']));
}

async function rebuildLocked(deps: RebuildDeps, database: string, lock: RebuildLock, group: string): Promise<RebuildReport> {
  const started = performance.now();
  const shadow = `${database}_rebuild`;
  const previous = `${database}_previous`;
  const rename = deps.lifecycleTopicOf ?? ((topic: string) => topic);
  const interrupted = (): void => throwIfInterrupted(deps.signal);
  await assertProvisioned(deps.pool, database);
  // What the live projector applied, read before the topics' ends: applied never passes an end and ends only grow, so
  // events projected in between cannot look like a replaced history (read the other way round, a busy topic refused
  // the rebuild with ORBIT_ERR_HISTORY_REPLACED; found by a reread).
  const appliedBefore = await appliedOffsets(deps.pool, database, deps.liveGroup);
  const history = await topicSpans(deps.kafka, deps.topics, rename);
  await assertHistoryWhole(deps, appliedBefore, history, rename);
  const committed = await liveCommits(deps.kafka, deps.liveGroup, deps.topics, rename);
  // A lost projection may sit beside requests accepted since the loss; the ones before it are still to give back.
  const restoreRequests = deps.restoreRequests ?? ((await hasNoRequests(deps.pool, database))
    || lostPartitions(committed, new Set((await appliedOffsets(deps.pool, database, deps.liveGroup)).keys())).length > 0);
  interrupted();
  await lock.assertHeld(`dropping ${shadow}`);
  await deps.pool.query(`DROP DATABASE IF EXISTS ${quote(shadow)}`);
  await deps.pool.query(`CREATE DATABASE ${quote(shadow)}`);
  for (const table of [...PROJECTION_TABLES, ...SHADOW_ONLY_TABLES]) {
    await deps.pool.query(`CREATE TABLE ${quote(shadow)}.${quote(table)} LIKE ${quote(database)}.${quote(table)}`);
  }
  const shadowUrl = new URL(deps.mysqlUrl);
  shadowUrl.pathname = `/${shadow}`;
  const rebuildPool = createOpsMysqlPool({ url: shadowUrl.toString(), ssl: deps.mysqlSsl }, REBUILD_ANSWER_TIMEOUT_MS, 8, deps.logger);
  const skipped: SkippedMessage[] = [];
  const ends = replayEnds(history.ends, committed);
  const replay = await startReplay(deps, group, rebuildPool, shadow, ends, { shadow: true, requests: restoreRequests }, skipped, deps.signal)
    .catch(async (error: unknown) => {
      await endMysqlPool(rebuildPool, OPS_MYSQL_END_TIMEOUT_MS);
      throw error;
    });
  try {
    await replay.until();
    // The live projector went on meanwhile. Swapped in as it is, the shadow would show an older ViewPort until the tail
    // was applied again (succeeded images answered 404, promotions vanished): it is levelled with the live tables first,
    // up to what they have applied (never past it: the shadow announces nothing), while they move on.
    for (let round = 0; round < LEVEL_ROUNDS; round += 1) {
      const before = replay.handled();
      if (!raiseEnds(ends, await appliedOffsets(deps.pool, database, deps.liveGroup))) break;
      await replay.until();
      if (replay.handled() - before <= LEVEL_ENOUGH) break;
    }
    interrupted();
    deps.logger.info({ replayed: replay.handled(), seconds: (performance.now() - started) / 1000 }, 'shadow projection level with the live one; swapping it in');
    // The previous copy stays as it is until the swap itself replaces it (swapRenames): a rebuild that fails or is
    // stopped from here on leaves it, and a first rebuild finds an empty one.
    await lock.assertHeld(`creating ${previous}`);
    await deps.pool.query(`CREATE DATABASE IF NOT EXISTS ${quote(previous)}`);
    const renames = swapRenames(database, shadow, previous, await tablesOf(deps.pool, previous));
    // The last stretch with the live projector held at the gate, so the tables swapped in hold all it has committed.
    // Connections of their own: the caller's pool may be small, and the waits below need one; the rename's sets its
    // session's lock wait, and the gate's transaction would be committed by a RENAME run on it.
    const gateTimeoutMs = deps.gateTimeoutMs ?? GATE_TIMEOUT_MS;
    const gatePool = createOpsMysqlPool({ url: deps.mysqlUrl, ssl: deps.mysqlSsl }, REBUILD_ANSWER_TIMEOUT_MS, 2, deps.logger);
    try {
      const gate = await closeSwapGate(gatePool, database, gateIdleSeconds(gateTimeoutMs));
      let swapped = false;
      try {
        raiseEnds(ends, await appliedOffsets(deps.pool, database, deps.liveGroup));
        await withinGateTime(replay.until(), gateTimeoutMs);
        const swapper = await gatePool.getConnection();
        try {
          // Before every try: this rebuild still holds its lock and the live projector, and was not asked to stop.
          await renameWithinLockWait(swapper, database, renames, async () => {
            interrupted();
            await lock.assertHeld('swapping the tables');
            await gate.assertHeld('swapping the tables');
          }, deps.swapPatience ?? SWAP_PATIENCE);
          swapped = true;
        } finally {
          swapper.release();
        }
      } finally {
        const held = await gate.open();
        // Only a stop longer than the gate's idle bound between the last check and the RENAME gets here: the live
        // projector may have committed into the tables swapped out, and re-applies that from the swapped-in offsets.
        if (swapped && !held) deps.logger.warn({ database }, 'the swap gate was lost around the swap: the live projector re-applies what it committed meanwhile (its announcements may repeat)');
      }
    } finally {
      // Ended within a bound: a server gone silent after the work must not hold the rebuild's answer (found by a review).
      await endMysqlPool(gatePool, OPS_MYSQL_END_TIMEOUT_MS);
    }
  } finally {
    await replay.stop();
    await endMysqlPool(rebuildPool, OPS_MYSQL_END_TIMEOUT_MS);
  }
  const replayed = replay.handled();
  const { ends: tail } = await topicSpans(deps.kafka, deps.topics, rename);
  // Usually the live projector or nothing at all covers the tail; a second group join is only worth it when something is missing.
  const catchUp = (await caughtUp(deps.pool, database, deps.liveGroup, tail)) ? 0 : await runUntil(deps, group, deps.pool, database, tail, { shadow: false, requests: true }, skipped);
  const restored = { ...(await restoreLostRows(deps.pool, database, shadow)), uploadClaims: restoreRequests ? await restoreUploadClaims(deps, database) : 0 };
  await lock.assertHeld(`dropping ${shadow} (the tables were swapped in; drop it by hand once no other rebuild runs)`);
  // With it go the tables of the copy before the previous one, moved into it by the swap.
  await deps.pool.query(`DROP DATABASE IF EXISTS ${quote(shadow)}`);
  return { group, eventsReplayed: replayed, seconds: (performance.now() - started) / 1000, catchUpEvents: catchUp, skipped, restored };
}
