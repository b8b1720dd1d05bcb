import { createHash } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import { entryOfPid, envelopeFor, SeekRequest, TOPICS, type ConsumedMessage, type EventPublisher } from '@orbit/lib';
import type { OrbitEvent, ViewportUpdated } from '@orbit/schemas';
import { markApplied, nextExpectedOffset } from './offsets.js';
import { project, type ProjectionResult } from './project.js';

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

/**
 * c8bms30 -> C32: projects the event and records its offset in ONE MySQL
 * transaction, so a redelivered message is recognised and never applied twice.
 * ViewportUpdated is published only after the commit.
 */
export function projectorHandler(deps: ProjectorDeps) {
  return async (message: ConsumedMessage<OrbitEvent>): Promise<void> => {
    const position = { groupId: deps.groupId, topic: message.topic, partition: message.partition, offset: message.offset };
    const connection = await deps.pool.getConnection();
    let result: ProjectionResult | undefined;
    try {
      await connection.beginTransaction();
      const expected = await nextExpectedOffset(connection, position);
      if (expected > BigInt(message.offset)) {
        await connection.rollback();
        message.log.debug('already projected; skipped');
        return;
      }
      if (expected < BigInt(message.offset)) {
        // The database is behind the group (a rebuilt projection was swapped in): replay what it has not seen.
        await connection.rollback();
        throw new SeekRequest(expected.toString(), `ViewPort has applied ${message.topic}/${message.partition} up to ${expected}, not ${message.offset}`);
      }
      result = await project(connection, message.topic, message.event);
      await markApplied(connection, position);
      await connection.commit();
    } catch (error) {
      await connection.rollback().catch(() => undefined);
      throw error;
    } finally {
      connection.release();
    }
    if (!result) return;
    const event: ViewportUpdated = {
      ...envelopeFor('viewportUpdated', message.event),
      eventId: deterministicUuid(`${message.topic}/${message.partition}/${message.offset}`),
      requestId: result.requestId, imageVersion: result.imageVersion, environment: result.environment, status: result.status,
      causeEventType: entryOfPid(message.event.pid).eventType,
    };
    await deps.publisher.publish(TOPICS.viewportUpdated, event, { trace: message.trace });
  };
}
