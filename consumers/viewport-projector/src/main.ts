/** c8bms30 -> C32: projects the image lifecycle into ViewPort (MySQL). */
import {
  checkSchemaCurrent, createMysqlPool, DependencyDownError, endMysqlPool, failureStreak, isRetriable, OPS_MYSQL_END_TIMEOUT_MS, mysqlTarget, oneAtATime, PROJECTOR_GROUP as GROUP, processStart, SERVICE_KAFKA_USE, runMain,
  startConsumerService, waitForCurrentSchema, waitingWhileSchemaBehind, type MysqlTarget,
} from '@orbit/lib';
import { loadSchemas, type OrbitEvent } from '@orbit/schemas';
import { passOtherGroupsRedrives, projectorBatchHandler, projectorDeadLetterHook, projectorHandler, refuseStatementBinlog } from './handle.js';
import { kafkaHighWatermarks, type HighWatermarks } from './history.js';
import { drainOutbox, pruneSentOutbox } from './outbox.js';
import { fillSearchCopies } from './search-backfill.js';
import { requestMetrics } from './request-metrics.js';

/** How often leftovers of a crash (committed, not yet published) are looked for. */
const OUTBOX_SWEEP_MS = 5_000;
/** How often published event ids past their retention are forgotten. */
const OUTBOX_PRUNE_MS = 60_000;

runMain(() => {
  let target: MysqlTarget | undefined;
  let pool: ReturnType<typeof createMysqlPool> | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let pruner: NodeJS.Timeout | undefined;
  let onRequestsEnded: ReturnType<typeof requestMetrics> | undefined;
  let highWatermark: HighWatermarks | undefined;
  return startConsumerService<OrbitEvent, Record<string, never>>({
    service: 'viewport-projector',
    groupId: GROUP,
    topics: SERVICE_KAFKA_USE['viewport-projector'].reads,
    schemas: loadSchemas(),
    checkConfig: (config) => { target = mysqlTarget(config); },
    createDeadLetterHook: ({ publisher }) => {
      if (!pool) throw new TypeError('the handler creates the pool first');
      return projectorDeadLetterHook({ pool, groupId: GROUP, publisher });
    },
    createPassedOverHook: () => {
      if (!pool) throw new TypeError('the handler creates the pool first');
      return passOtherGroupsRedrives({ pool, groupId: GROUP });
    },
    createHandler: async ({ config, publisher, logger, metrics, kafka }) => {
      const { url, ssl } = target ?? mysqlTarget(config);
      const created = createMysqlPool(url, 8, ssl);
      pool = created;
      // Before the group is joined: a projector of a newer build started before `npm run provision` set its messages
      // aside, its statements failing on columns the migrations not yet applied add (ER_BAD_FIELD_ERROR, not retriable).
      await waitForCurrentSchema(created, { logger, onWaiting: (reason) => { processStart.step = `waiting for the MySQL schema: ${reason}`; } });
      // A MySQL gone again since the schema's check is waited for as before, message by message; this check then stays unsaid.
      await refuseStatementBinlog(created).catch(async (error: unknown) => {
        if (!isRetriable(error)) {
          await created.end();
          throw error;
        }
        logger.warn({ err: error }, 'could not check MySQL\'s binary log format; starting anyway');
      });
      // Rows projected before migration 0017 have no search copy (SQL cannot normalise), and an older projector beside this
      // one left copies stale: written as a rebuild would write them, beside the live projection (each batch under its
      // rows' locks), not before the group is joined, which a scan of every post would hold up. One that fails leaves them
      // searched by their raw text or their old copy; the next start tries again.
      void fillSearchCopies(created).then(
        (filled) => { if (filled > 0) logger.info({ filled }, 'wrote the search copy of posts projected before it'); },
        (error: unknown) => logger.warn({ err: error }, 'could not write the search copy of older posts; they are searched by their text as sent'),
      );
      onRequestsEnded = requestMetrics(metrics);
      // Asked only when a batch starts below what ViewPort has applied (a recreated topic), or opens with a gap after it
      // (records removed by retention): either is held, not skipped (history.ts).
      highWatermark = kafkaHighWatermarks(kafka);
      // One at a time: a sweep waiting out a Kafka outage must not be joined every OUTBOX_SWEEP_MS by another on the pool.
      const sweepOnce = oneAtATime(() => drainOutbox(created, publisher, logger));
      // A line per new reason, not a stack every 5 s for as long as MySQL or Kafka is away (found by a review).
      const sweepFailures = failureStreak(logger, { failed: `outbox sweep failed; will try again every ${OUTBOX_SWEEP_MS / 1000} s`, recovered: 'outbox sweep works again' });
      const sweep = (): void => {
        sweepOnce().then(
          (published) => {
            if (published === undefined) return;
            sweepFailures.succeeded();
            if (published > 0) logger.info({ published }, 'published ViewportUpdated left in the outbox');
          },
          (error: unknown) => sweepFailures.failed(error),
        );
      };
      sweep();
      sweeper = setInterval(sweep, OUTBOX_SWEEP_MS);
      pruner = setInterval(() => {
        pruneSentOutbox(created).catch((error: unknown) => logger.warn({ err: error }, 'outbox prune failed; will try again'));
      }, OUTBOX_PRUNE_MS);
      return waitingWhileSchemaBehind(created, projectorHandler({ pool: created, groupId: GROUP, publisher, onRequestsEnded, highWatermark, lowWatermark: highWatermark.low }));
    },
    createBatchHandler: ({ publisher }) => {
      if (!pool || !onRequestsEnded || !highWatermark) throw new TypeError('the handler creates the pool, the metrics and the watermark reader first');
      return waitingWhileSchemaBehind(pool, projectorBatchHandler({ pool, groupId: GROUP, publisher, onRequestsEnded, highWatermark, lowWatermark: highWatermark.low }));
    },
    // Gating, as the gateway's mysql and mysql-schema (see DependencyCheck): the projector writes nothing else. Shown in
    // /readyz with a reason safe to show (the driver's words, with hosts and accounts, are logged) and as
    // orbit_dependency_up, within READINESS_CHECK_TIMEOUT_MS each, at most once a second.
    dependencies: () => {
      const created = (): NonNullable<typeof pool> => {
        if (!pool) throw new DependencyDownError('the MySQL pool is not created yet');
        return pool;
      };
      return [
        { name: 'mysql', gates: true, check: () => created().query('SELECT 1') },
        // A database put back from a backup older than this build's migrations is as unfit as one never migrated.
        { name: 'mysql-schema', gates: true, check: () => checkSchemaCurrent(created()) },
      ];
    },
    close: async () => {
      clearInterval(sweeper);
      clearInterval(pruner);
      await highWatermark?.close();
      // Within a bound, its sockets dropped after: mysql2's end waited for ever on a MySQL gone silent, and the projector
      // outlived its SIGTERM until killed (found by a review). What a handler left open the server rolls back.
      if (pool) await endMysqlPool(pool, OPS_MYSQL_END_TIMEOUT_MS);
    },
  });
});
