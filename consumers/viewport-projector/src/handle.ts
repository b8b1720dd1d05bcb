import { createHash } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import { entryOfPid, envelopeFor, SeekRequest, type ConsumedMessage, type EventPublisher } from '@orbit/lib';
import type { OrbitEvent, ViewportUpdated } from '@orbit/schemas';
import { markApplied, nextExpectedOffset } from './offsets.js';
import { drainOutbox, enqueueUpdates } from './outbox.js';
import { project, VersionNotProjectedYetError, type ProjectionResult } from './project.js';

export interface ProjectorDeps {
  readonly pool: Pool;
  readonly groupId: string;
  readonly publisher: Pick<EventPublisher, 'publish'>;
}

/** The same message always yields the same ViewportUpdated id, so a re-publish after a crash is recognisable. */
function deterministicUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

function viewportUpdatedOf(message: ConsumedMessage<OrbitEvent>, result: ProjectionResult): ViewportUpdated {
  return {
    ...envelopeFor('viewportUpdated', message.event),
    eventId: deterministicUuid(`${message.topic}/${message.partition}/${message.offset}`),
    requestId: result.requestId, imageVersion: result.imageVersion, environment: result.environment, status: result.status,
    causeEventType: entryOfPid(message.event.pid).eventType,
  };
}

/**
 * The batched form (one partition's messages, in offset order): one
 * transaction and one applied-offset update for the whole batch, which is
 * what makes a rebuild fast. Same rules as one by one: offsets below the
 * applied one are skipped, a gap re-reads the partition, any failure rolls
 * the whole batch back for the loop to retry (or to hand over message by
 * message).
 */
export function projectorBatchHandler(deps: ProjectorDeps) {
  return async (messages: readonly ConsumedMessage<OrbitEvent>[]): Promise<void> => {
    const first = messages[0];
    if (!first) return;
    const position = { groupId: deps.groupId, topic: first.topic, partition: first.partition, offset: first.offset };
    const applied: { message: ConsumedMessage<OrbitEvent>; result: ProjectionResult }[] = [];
    let pending: VersionNotProjectedYetError | undefined;
    const connection = await deps.pool.getConnection();
    try {
      await connection.beginTransaction();
      let expected = await nextExpectedOffset(connection, position);
      const before = expected;
      for (const message of messages) {
        const offset = BigInt(message.offset);
        if (offset < expected) continue;
        if (offset > expected) throw new SeekRequest(expected.toString(), `ViewPort has applied ${message.topic}/${message.partition} up to ${expected}, not ${message.offset}`);
        let result: ProjectionResult | undefined;
        try {
          result = await project(connection, message.topic, message.event);
        } catch (error) {
          // Keep what came before a message that must wait for another topic; the retry starts at it.
          // project() decides to wait before it writes anything, so nothing of this message is in the transaction.
          if (!(error instanceof VersionNotProjectedYetError)) throw error;
          pending = error;
          break;
        }
        if (result) applied.push({ message, result });
        expected = offset + 1n;
      }
      if (expected > before) await markApplied(connection, { ...position, offset: (expected - 1n).toString() });
      await enqueueUpdates(connection, applied.map(({ message, result }) => ({ event: viewportUpdatedOf(message, result), trace: message.trace })));
      await connection.commit();
    } catch (error) {
      await connection.rollback().catch(() => undefined);
      throw error;
    } finally {
      connection.release();
    }
    // Published after the commit from the outbox written with it: a crash in between leaves them for the next drain.
    if (applied.length > 0) await drainOutbox(deps.pool, deps.publisher);
    if (pending) throw pending;
  };
}

/**
 * c8bms30 -> C32: projects one event and records its offset in ONE MySQL
 * transaction, so a redelivered message is recognised and never applied
 * twice; ViewportUpdated is published only after the commit. The batch of one.
 */
export function projectorHandler(deps: ProjectorDeps) {
  const batch = projectorBatchHandler(deps);
  return (message: ConsumedMessage<OrbitEvent>): Promise<void> => batch([message]);
}
