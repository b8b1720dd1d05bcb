import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { ConfigError, deterministicUuid, entryOfPid, envelopeFor, errorCodeOf, inTransaction, isRetriable, SeekRequest, TOPICS, type ConsumedMessage, type DeadLetteredMessage, type EventPublisher, type MessagePosition } from '@orbit/lib';
import { failRequestOnDeadLetter, type ImageStored, type OrbitEvent, type ViewportUpdated } from '@orbit/schemas';
import { describeReplaced, gapLostToRetention, HistoryReplacedError, HistoryTruncatedLiveError } from './history.js';
import { markApplied, nextExpectedOffset, passSwapGate, ProjectionLostError, type Position } from './offsets.js';
import { drainOutbox, enqueueUpdates } from './outbox.js';
import { imagesToLookUp, planProjection, textGivenByImage, requestsEnded, requestsToLookUp, versionGuid, versionsToLookUp, type FinishedRequest, type ProjectionResult } from './plan.js';
import { readKnownImages, readKnownVersions, readRequestStates, readSetAsideVersions, writePlan } from './write-plan.js';

export interface ProjectorDeps {
  readonly pool: Pool;
  readonly groupId: string;
  readonly publisher: Pick<EventPublisher, 'publish'>;
  /**
   * Projecting into a rebuild's shadow database: the replayed history was
   * announced when it happened, so no ViewportUpdated is queued.
   * @default false
   */
  readonly shadow?: boolean;
  /**
   * Whether request rows are written. A shadow leaves them out (they make a
   * rebuild a quarter to 40 % slower; the swap keeps the live ones) unless the rebuild is to
   * give back requests the live database lost.
   * @default !shadow
   */
  readonly requests?: boolean;
  /** Told, after each commit, of the requests it ended (live projection only: a shadow's history ended long ago). */
  readonly onRequestsEnded?: (ended: readonly FinishedRequest[]) => void;
  /**
   * A partition's high watermark (the offset after its last record), asked when a live batch starts below what the
   * projection has applied: a partition ending before that was replaced (HistoryReplacedError), not redelivered.
   * Without it (a shadow, a test) such messages are taken for applied ones, as before.
   */
  readonly highWatermark?: (topic: string, partition: number) => Promise<bigint>;
  /**
   * A partition's low watermark (its log start offset), asked when a live call opens with a gap after what the
   * projection has applied: a gap starting below it is records removed (retention, deleteRecords), which may have
   * held events, so the partition is held (HistoryTruncatedLiveError) instead of passed over. Without it (a shadow,
   * a test) such a gap is passed over once proven, as before.
   */
  readonly lowWatermark?: (topic: string, partition: number) => Promise<bigint>;
}

/**
 * The same source event always yields the same ViewportUpdated id: a
 * re-publish after a crash is recognisable, and a message applied again (a
 * rebuild's tail after the live projector) is announced once (see outbox.ts).
 * The source event's id, not its Kafka position, because positions start again
 * at 0 on a recreated topic. Its own seed, older than envelopeFor's derived ids:
 * kept, so ids announced before stay the ones announced again.
 */
function viewportUpdatedOf(message: ConsumedMessage<OrbitEvent>, result: ProjectionResult): ViewportUpdated {
  return {
    ...envelopeFor('viewportUpdated', message.event),
    eventId: deterministicUuid(`viewport-updated:${message.event.eventId}`),
    requestId: result.requestId, imageVersion: result.imageVersion, environment: result.environment, status: result.status,
    causeEventType: entryOfPid(message.event.pid).eventType,
  };
}

/**
 * Refuses a server whose binary log is in STATEMENT format: the projector writes under READ COMMITTED (no gap locks
 * between batches of different partitions), which InnoDB can log only row by row, so every write would fail
 * (ER_BINLOG_STMT_MODE_AND_ROW_ENGINE) and its message wait for ever. Not set for the session instead: that takes a
 * privilege (SUPER, BINLOG ADMIN) Orbit's account should not hold, and mixing formats is the DBA's call.
 */
export async function refuseStatementBinlog(pool: Pool): Promise<void> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT @@GLOBAL.log_bin AS logBin, @@SESSION.sql_log_bin AS sqlLogBin, @@SESSION.binlog_format AS format');
  const row = rows[0];
  if (row && Number(row['logBin']) === 1 && Number(row['sqlLogBin']) === 1 && String(row['format']).toUpperCase() === 'STATEMENT') {
    throw new ConfigError([
      "MySQL: binlog_format is STATEMENT; the projector writes under READ COMMITTED, which the binary log takes only in ROW or MIXED format. Set binlog_format = 'ROW' (or 'MIXED') in the server's configuration (RDS/Aurora: its parameter group), then start again",
    ]);
  }
}

/** A re-read asked for because `met` came where `expected` was due; `times` in a row for the same `expected`. */
interface SeekAsked {
  readonly expected: bigint;
  readonly met: bigint;
  readonly at: number;
  readonly times: number;
}

/**
 * The re-reads asked for, per projection database (pool) and `group/topic/partition`: the single and the
 * batched handler are made apart (main.ts, the rebuild) and the loop hands a re-read partition to either.
 */
const seeksAsked = new WeakMap<Pool, Map<string, SeekAsked>>();

/**
 * How long after asking for a re-read its first delivery may still prove a gap. The loop seeks at once and a
 * partition with an event after the gap is fetched again within a fetch wait; a consumer replaced after a stall
 * (and fetching from its group's committed offset, not the seek) comes far later. The loop tells handlers nothing
 * of rebalances, so one landing within the fetch right after the seek (kafkajs keeps a seek not yet fetched across
 * a rebalance, not one fetched) could still have the committed offset's message come first in its place.
 */
const SEEK_PROOF_MS = 10_000;

/** Wait before asking again for the same re-read: a partition that keeps not delivering what the database expects must not spin. */
const reSeekDelayMs = (times: number): number => (times < 2 ? 0 : Math.min(5_000, 100 * 2 ** (times - 2)));

/**
 * Thrown inside the projection's transaction (rolling it back) when a live batch starts below what the projection has
 * applied: the partition's end is asked of Kafka outside the transaction (no locks held on a broker's answer), then
 * the batch goes again or the partition is held (HistoryReplacedError).
 */
class BelowApplied extends Error {
  constructor(readonly expected: bigint) {
    super(`the batch starts below applied offset ${expected}`);
  }
}

/** The replaced partitions already said at error level, per projection database and `group/topic/partition`, with the offset said. */
const replacedSaid = new WeakMap<Pool, Map<string, bigint>>();

/**
 * Thrown inside the projection's transaction (rolling it back) when a live call opens with a gap after what the
 * projection has applied: the partition's start is asked of Kafka outside the transaction, then the call goes again
 * (the gap is above it: a transaction's marker, aborted records) or the partition is held (HistoryTruncatedLiveError).
 */
class GapAtStart extends Error {
  constructor(readonly expected: bigint) {
    super(`the call opens with a gap after applied offset ${expected}`);
  }
}

/** The truncated partitions already said at error level, per projection database and `group/topic/partition`, with the low watermark said. */
const truncatedSaid = new WeakMap<Pool, Map<string, bigint>>();

/** What was asked of Kafka already for this call: its end (BelowApplied) and its start (GapAtStart). */
interface BrokerAsked {
  readonly end: boolean;
  readonly start: boolean;
}

/** Thrown inside the projection's transaction (rolling it back) when a message is not the one expected and no gap is proven. */
class GapUnproven extends SeekRequest {
  constructor(readonly expected: bigint, readonly met: bigint, where: string) {
    super(expected.toString(), `ViewPort has applied ${where} up to ${expected}, not ${met}`);
  }
}

/**
 * The batched form (one partition's messages, in offset order): one
 * transaction, one plan written with a few multi-row statements, and one
 * applied-offset update for the whole batch, which is what makes a rebuild
 * fast. Same rules as one by one: offsets below the applied one are skipped,
 * a gap re-reads the partition, a message that must wait for another topic
 * keeps what came before it, any failure rolls the whole batch back for the
 * loop to retry (or to hand over message by message).
 *
 * Offsets need not be consecutive: a transactional writer (MirrorMaker 2 or
 * Connect with exactly-once, Streams, Flink) puts a commit or abort marker at
 * an offset of its own, and the consumer, reading committed records only,
 * never delivers the markers nor aborted records. A message past the one
 * expected is taken, and the offsets between passed over, only when they are
 * proven to hold no event: the message before it in the same call is the
 * last one applied (the loop hands a call a run of the partition as fetched,
 * split at every message it handles itself), or it is what came first again
 * when the partition was re-read from the expected offset. Anything else
 * (the database behind what the group committed) re-reads the partition from
 * the expected offset, so a message the database never saw is never skipped.
 * A gap a live call opens with is first checked against the partition's log
 * start (lowWatermark): one starting below it is records removed, which may
 * have held events, and the partition is held (ORBIT_ERR_HISTORY_TRUNCATED).
 */
export function projectorBatchHandler(deps: ProjectorDeps) {
  return projectorCalls(deps, false);
}

/** `seeks`: whether the loop seeks on a SeekRequest thrown here (one message) or hands the messages over one by one (a batch). */
function projectorCalls(deps: ProjectorDeps, seeks: boolean) {
  const announce = !deps.shadow;
  const requests = deps.requests ?? announce;
  const asked = seeksAsked.get(deps.pool) ?? new Map<string, SeekAsked>();
  seeksAsked.set(deps.pool, asked);
  const said = replacedSaid.get(deps.pool) ?? new Map<string, bigint>();
  replacedSaid.set(deps.pool, said);
  const truncated = truncatedSaid.get(deps.pool) ?? new Map<string, bigint>();
  truncatedSaid.set(deps.pool, truncated);
  const { highWatermark, lowWatermark } = deps;
  return async (messages: readonly ConsumedMessage<OrbitEvent>[]): Promise<void> => {
    const first = messages[0];
    if (!first) return;
    const position = { groupId: deps.groupId, topic: first.topic, partition: first.partition, offset: first.offset };
    const where = `${first.topic}/${first.partition}`;
    const key = `${deps.groupId}\u0000${where}`;
    // Only the first delivery after the re-read can prove anything: whatever comes later may have been fetched otherwise.
    const before = asked.get(key);
    asked.delete(key);
    const reRead = before && Date.now() - before.at < SEEK_PROOF_MS ? before : undefined;
    // No gap locks on the guid index: batches of different partitions insert side by side without deadlocking.
    const project = (broker: BrokerAsked) => inTransaction(deps.pool, async (connection) => {
      // A shadow has no gate: the rebuild that writes it is the one holding the live tables' gate.
      if (!deps.shadow) await passSwapGate(connection);
      const expected = await nextExpectedOffset(connection, position, { replayFromStart: deps.shadow === true });
      if (!broker.end && !deps.shadow && highWatermark && BigInt(first.offset) < expected) throw new BelowApplied(expected);
      const fresh: ConsumedMessage<OrbitEvent>[] = [];
      let next = expected;
      let previous: bigint | undefined;
      for (const [index, message] of messages.entries()) {
        const offset = BigInt(message.offset);
        if (offset >= next) {
          if (offset !== next) {
            // Only a gap the call opens with can start below the partition's log start: a message delivered before it
            // in the call is at or above that start. Asked of Kafka only then, which is rare (a restore, a re-read).
            if (index === 0 && !broker.start && !deps.shadow && lowWatermark) throw new GapAtStart(next);
            const proven = previous === next - 1n || (index === 0 && reRead?.expected === next && reRead.met === offset);
            if (!proven) throw new GapUnproven(next, offset, where);
            message.log.info({ passedOver: `${next}..${offset - 1n}` }, 'offsets before this message hold no event (a transaction\'s marker, aborted records): passed over');
          }
          fresh.push(message);
          next = offset + 1n;
        }
        previous = offset;
      }
      // Only announcements need to know which requests had finished already; a shadow announces nothing.
      const states = announce ? await readRequestStates(connection, requestsToLookUp(fresh)) : { finished: new Map(), acceptedAt: new Map<string, Date>() };
      const { finished } = states;
      const images = await readKnownImages(connection, imagesToLookUp(fresh), textGivenByImage(fresh));
      const known = await readKnownVersions(connection, versionsToLookUp(fresh));
      // Only a chart event can find its version set aside, and only when the version is not there: usually none is, no query.
      const absent = versionsToLookUp(fresh.filter((message) => message.topic !== TOPICS.imageStored)).filter((guid) => !known.has(guid));
      const planned = planProjection(fresh, known, finished, absent.length > 0 ? await readSetAsideVersions(connection, absent) : new Set(), images);
      await writePlan(connection, planned.plan, { requests });
      const last = planned.applied.at(-1);
      if (last) await markApplied(connection, { ...position, offset: last.message.offset });
      if (announce) {
        await enqueueUpdates(connection, planned.applied.flatMap(({ message, result }) => (result ? [{ event: viewportUpdatedOf(message, result), trace: message.trace }] : [])));
      }
      return { ...planned, ended: announce && deps.onRequestsEnded ? requestsEnded(planned.plan, planned.applied, finished, states.acceptedAt) : [] };
    }, { isolation: 'READ COMMITTED' });
    const projectAsking = (broker: BrokerAsked): ReturnType<typeof project> => project(broker).catch(async (error: unknown) => {
      if (error instanceof GapAtStart && lowWatermark) {
        // Records removed before what ViewPort expects (a restore older than the topic's retention) may have held
        // events: passed over, they would be missing from ViewPort for good, with nothing but an info line to say so.
        const low = await lowWatermark(first.topic, first.partition);
        if (!gapLostToRetention(error.expected, low)) return projectAsking({ ...broker, start: true });
        const held = new HistoryTruncatedLiveError(where, low, error.expected);
        // Said once at error per low watermark (an operator must act; the loop's retries say it at warn).
        if (truncated.get(key) !== low) {
          truncated.set(key, low);
          first.log.error({ err: held, code: held.code, lowWatermark: low.toString(), expected: error.expected.toString() }, 'lifecycle topic history truncated before what ViewPort expects: holding the partition');
        }
        throw held;
      }
      if (!(error instanceof BelowApplied) || !highWatermark) throw error;
      // Redelivered after a crash (or a rebuild's swap) the partition reaches past what was applied; a topic created
      // again ends before it, and its first events would be dropped as applied ones with lag 0.
      const high = await highWatermark(first.topic, first.partition);
      if (high >= error.expected) return projectAsking({ ...broker, end: true });
      const replaced = new HistoryReplacedError(describeReplaced([{ at: where, high, applied: error.expected }]), 'projecting');
      // Said once at error (an operator must act; the loop's retries say it at warn), and again should it change.
      if (said.get(key) !== high) {
        said.set(key, high);
        first.log.error({ err: replaced, code: replaced.code, highWatermark: high.toString(), appliedUpTo: error.expected.toString() }, 'lifecycle topic history replaced: holding the partition');
      }
      throw replaced;
    });
    const outcome = await projectAsking({ end: false, start: false }).catch(async (error: unknown) => {
      // Only a message handled alone has its partition re-read (the loop takes a batch's seek as a failure and
      // hands its messages over one by one): what a batch saw first proves nothing about a fetch from elsewhere.
      if (!(error instanceof GapUnproven) || !seeks) throw error;
      const times = before?.expected === error.expected ? before.times + 1 : 1;
      await sleep(reSeekDelayMs(times), undefined, { signal: first.signal }).catch(() => undefined);
      asked.set(key, { expected: error.expected, met: error.met, at: Date.now(), times });
      throw error;
    });
    if (outcome.ended.length > 0) deps.onRequestsEnded?.(outcome.ended);
    // Published after the commit from the outbox written with it: a crash in between leaves them for the next drain.
    // The projection is committed whatever happens here, so a failed publish is the sweep's to retry, never the
    // message's: failing the message would send it to the DLQ (and fail its request) for an announcement.
    if (announce && outcome.applied.some(({ result }) => result)) {
      await drainOutbox(deps.pool, deps.publisher, first.log).catch((error: unknown) => {
        first.log.warn({ err: error }, 'ViewportUpdated stays in the outbox for the next sweep');
      });
    }
    if (outcome.pending) throw outcome.pending;
  };
}

/**
 * c8bms30 -> C32: projects one event and records its offset in ONE MySQL
 * transaction, so a redelivered message is recognised and never applied
 * twice; ViewportUpdated is published only after the commit. The batch of one.
 */
export function projectorHandler(deps: ProjectorDeps) {
  const batch = projectorCalls(deps, true);
  return (message: ConsumedMessage<OrbitEvent>): Promise<void> => batch([message]);
}

/**
 * The dead-letter hook every projector loop needs. A message set aside leaves
 * a gap in the applied offsets: the next message would find the projection
 * still expecting it and re-read the partition from there, so the same message
 * would be set aside again and again and nothing after it projected. It is
 * marked applied, with no effect, when it is the one expected next (a letter
 * re-driven later comes back at a new offset and is projected then), and
 * recorded in viewport_set_aside, so the chart events of a version whose
 * ImageStored it was are set aside too instead of waiting for it.
 */
export function passDeadLetters(deps: Pick<ProjectorDeps, 'pool' | 'groupId' | 'shadow'> & { readonly lifecycleTopicOf?: (topic: string) => string }) {
  return async (letter: DeadLetteredMessage<OrbitEvent>): Promise<void> => {
    const position = { groupId: deps.groupId, topic: deps.lifecycleTopicOf?.(letter.topic) ?? letter.topic, partition: letter.partition, offset: letter.offset };
    const event = letter.message?.event;
    const version = position.topic === TOPICS.imageStored && event ? versionGuid(event.imageUID, (event as ImageStored).metadata.imageVersion) : null;
    await inTransaction(deps.pool, async (connection) => {
      if (!(await passedIfNext(connection, position, deps.shadow))) return;
      await connection.execute(
        `INSERT IGNORE INTO viewport_set_aside (consumer_group, topic, kafka_partition, kafka_offset, version_guid, error_code, set_aside_at)
         VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))`,
        [position.groupId, position.topic, position.partition, position.offset, version, errorCodeOf(letter.error)]);
    });
  };
}

/**
 * Marks `position` applied, with no effect, when it is the offset the
 * projection expects next; false when it is not (applied already, or a lost
 * projection, which the rebuild that brings it back passes over).
 */
async function passedIfNext(connection: PoolConnection, position: Position, shadow: boolean | undefined): Promise<boolean> {
  if (!shadow) await passSwapGate(connection);
  const expected = await nextExpectedOffset(connection, position, { replayFromStart: shadow === true }).catch((error: unknown) => {
    if (error instanceof ProjectionLostError) return undefined;
    throw error;
  });
  if (expected !== BigInt(position.offset)) return false;
  await markApplied(connection, position);
  return true;
}

/**
 * The hook for a message re-driven for another consumer group (the loop's
 * onPassedOver): the projector handled the original, so it marks the copy
 * applied with no effect; otherwise the gap in its applied offsets would
 * have it re-read the partition from there for ever.
 */
export function passOtherGroupsRedrives(deps: Pick<ProjectorDeps, 'pool' | 'groupId' | 'shadow'> & { readonly lifecycleTopicOf?: (topic: string) => string }) {
  return async (passed: MessagePosition): Promise<void> => {
    const position = { groupId: deps.groupId, topic: deps.lifecycleTopicOf?.(passed.topic) ?? passed.topic, partition: passed.partition, offset: passed.offset };
    await inTransaction(deps.pool, async (connection) => {
      await passedIfNext(connection, position, deps.shadow);
    });
  };
}

/**
 * The projector's dead-letter hook: the message's request fails
 * (`DEAD_LETTERED`), except in a rebuild's shadow, which announces nothing,
 * and the letter is passed (passDeadLetters). The failure goes first: if
 * passing then fails, the message is handled again and the notice is not lost.
 * A failure that will not go out however often it is tried (the broker refuses
 * the projector's user the topic) is rethrown only after the letter is passed:
 * the loop logs it and goes on, and a letter left unpassed would have the
 * partition re-read and the message set aside for ever, and the gateway take
 * a fresh ViewPort for lost.
 */
export function projectorDeadLetterHook(deps: ProjectorDeps & { readonly lifecycleTopicOf?: (topic: string) => string }) {
  const pass = passDeadLetters(deps);
  const failRequest = failRequestOnDeadLetter('viewport-projector', deps.publisher);
  return async (letter: DeadLetteredMessage<OrbitEvent>): Promise<void> => {
    let refused: unknown;
    if (!deps.shadow) {
      try {
        await failRequest(letter);
      } catch (error) {
        if (isRetriable(error)) throw error;
        refused = error;
      }
    }
    try {
      await pass(letter);
    } catch (passError) {
      // Both reach the loop's log (a retriable one has the message handled again): the refusal is not dropped unseen.
      if (refused === undefined) throw passError;
      throw new AggregateError([passError, refused], 'could not pass the letter, and the broker refused its request\'s failure notice');
    }
    if (refused !== undefined) throw refused;
  };
}
