/**
 * `npm run viewport:rebuild` and `npm run viewport:checksum`: rebuild ViewPort
 * from the lifecycle topics while the pipeline runs, and print a stable
 * checksum of the projection (equal before and after a rebuild).
 * `--restore-requests` makes the rebuild give back lost request rows and
 * transfer claims even though the database holds some requests.
 * Ctrl-C or a SIGTERM stops a rebuild before its swap (nothing swapped, its
 * consumer group deleted; exit 130 or 143); once swapped it finishes. A second
 * signal stops it at once.
 */
import { ConfigError, OrbitError, failPlainly, createKafka, createLogger, createOpsMysqlPool, endMysqlPool, kafkaConnection, OPS_MYSQL_END_TIMEOUT_MS, opsMysqlEnv, mysqlTarget, databaseOf, EventCodec, EventPublisher, parseCommandLine, PROJECTED_TOPICS, PROJECTOR_GROUP, readCheckedConfig, runtimeEnv, stderrDestination, stopOnSignals, EXIT_ANOTHER_RUN } from '@orbit/lib';
import { loadSchemas } from '@orbit/schemas';
import { projectionChecksum } from './checksum.js';
import { accessDeniedOf, assertReadable, EXIT_ACCESS_DENIED } from './mysql-access.js';
import { VIEWPORT_USAGE, viewportCommandOf } from './ops-arguments.js';
import {
  assertProvisioned, HistoryTruncatedError, ProjectionMissingError, REBUILD_ANSWER_TIMEOUT_MS, RebuildInterruptedError, RebuildLockLostError, rebuildProjection, RebuildRunningError, REBUILT_DATABASE_TABLES, SwapBlockedError, SwapGateLostError, SwapGateTimeoutError,
} from './rebuild.js';
import { skippedSummary } from './skipped-summary.js';

failPlainly(`viewport:${process.argv[2] ?? 'ops'}`);

const { positionals, values } = parseCommandLine({ allowPositionals: true, options: { 'restore-requests': { type: 'boolean' } } }, `${VIEWPORT_USAGE}   (viewport:rebuild rebuilds ViewPort from the lifecycle topics while the pipeline runs and swaps it in, --restore-requests giving back lost request rows and transfer claims too; viewport:checksum prints a checksum of the projection, equal before and after a rebuild)`);
const command = viewportCommandOf(positionals, values);
if ('refused' in command) {
  process.stderr.write(`${command.refused}\n`);
  process.exit(2);
}
// MySQL's and (for a rebuild, the one that reads Kafka) Kafka's connection variables are checked with the others: every
// problem in one report, not one round per fix.
const { config, checked } = readCheckedConfig({ ...runtimeEnv, ...opsMysqlEnv }, {
  mysql: (read) => mysqlTarget(read), kafka: (read) => (command.kind === 'rebuild' ? kafkaConnection(read) : undefined),
});
// (A rebuild always has `checked.kafka`; reading it again below only gives the type that says so.)
const logger = createLogger({ service: 'viewport-ops', level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, destination: stderrDestination() });
const mysql = checked.mysql;
// A rebuild's statements on the live database (dropping and creating its shadow, giving back requests) may rightly run
// for minutes: it gets its own bound. A checksum's are reads, bounded as the operator sets it.
const pool = createOpsMysqlPool(mysql, command.kind === 'rebuild' ? REBUILD_ANSWER_TIMEOUT_MS : config.ORBIT_MYSQL_ANSWER_TIMEOUT_SECONDS * 1000, 8, logger);
// Ctrl-C or a SIGTERM stops a rebuild at its next step before the swap, which leaves nothing behind but its shadow
// database (dropped by the next rebuild); a second one at once, as a SIGKILL would (see README, Operations).
const stop = command.kind === 'rebuild'
  ? stopOnSignals((signal) => `${signal}: stopping the rebuild before its swap (once swapped, it finishes; again to stop at once)`)
  : undefined;
try {
  const refuse = (error: unknown): never => {
    // MySQL refusing the account (a password, a grant) is said as such: "MySQL is unavailable" sent people to a server that was up.
    const denied = accessDeniedOf(error, mysql.url);
    if (denied) {
      process.stderr.write(`${denied.code}: ${denied.message}\n`);
      process.exit(EXIT_ACCESS_DENIED);
    }
    const refusals = [RebuildRunningError, HistoryTruncatedError, ProjectionMissingError, RebuildLockLostError, SwapBlockedError, SwapGateLostError, SwapGateTimeoutError, RebuildInterruptedError, ConfigError];
    if (!(error instanceof OrbitError) || !refusals.some((refusal) => error instanceof refusal)) throw error;
    process.stderr.write(`${error.code}: ${error.message}\n`);
    const anotherRun = error instanceof RebuildRunningError || error instanceof RebuildLockLostError;
    process.exit(error instanceof RebuildInterruptedError ? stop?.exitCode() ?? 130 : anotherRun ? EXIT_ANOTHER_RUN : 1);
  };
  // Both commands read the projection first (the checksum before a rebuild too), which would fail on the first missing table with less to say.
  // information_schema hides the tables an account has no grant on: tables not seen may be tables not granted.
  await assertProvisioned(pool, databaseOf(config.MYSQL_URL)).catch(async (error: unknown) => {
    if (error instanceof ProjectionMissingError) await assertReadable(pool, mysql.url, REBUILT_DATABASE_TABLES).catch(refuse);
    return refuse(error);
  });
  if (command.kind === 'checksum') {
    const checksum = await projectionChecksum(pool).catch(refuse);
    process.stdout.write(`${checksum.sha256}  ${Object.entries(checksum.rows).map(([table, n]) => `${table}=${n}`).join(' ')}\n`);
  } else {
    const kafka = createKafka({ clientId: 'viewport-rebuild', ...(checked.kafka ?? kafkaConnection(config)), logger });
    const codec = new EventCodec(config.SCHEMA_REGISTRY_URL, loadSchemas());
    const publisher = await EventPublisher.connect(kafka, codec, logger);
    // Taken now, said once the rebuild is done: a refused rebuild prints its refusal alone, not a checksum with nothing after it.
    const before = await projectionChecksum(pool).catch(refuse);
    const report = await rebuildProjection({ kafka, codec, pool, mysqlUrl: mysql.url, mysqlSsl: mysql.ssl, topics: PROJECTED_TOPICS, liveGroup: PROJECTOR_GROUP, publisher, logger,
      // Without the flag: when the live database holds no request at all.
      ...(command.restoreRequests ? { restoreRequests: true } : {}),
      ...(stop ? { signal: stop.signal } : {}),
    }).catch(async (error: unknown) => {
      await publisher.disconnect();
      return refuse(error);
    });
    await publisher.disconnect();
    const after = await projectionChecksum(pool).catch(refuse);
    process.stdout.write(`before  ${before.sha256}\n`);
    process.stdout.write(`rebuilt ${report.eventsReplayed} events in ${report.seconds.toFixed(1)} s (${report.catchUpEvents} applied after the swap)\n`);
    if (report.skipped.length > 0) process.stdout.write(skippedSummary(report.skipped));
    const { requests, imageNames, transferClaims, uploadClaims } = report.restored;
    if (requests + imageNames + transferClaims + uploadClaims > 0) {
      process.stdout.write(`restored what the database had lost, from the history: ${requests} request(s), ${imageNames} image name(s), ${transferClaims} transfer claim(s), ${uploadClaims} upload claim(s)\n`);
    }
    process.stdout.write(`after   ${after.sha256}  ${Object.entries(after.rows).map(([table, n]) => `${table}=${n}`).join(' ')}\n`);
    if (stop?.stoppedBy() !== undefined) process.stderr.write(`${stop.stoppedBy()} came after the swap: the rebuild finished\n`);
  }
} finally {
  await endMysqlPool(pool, OPS_MYSQL_END_TIMEOUT_MS);
}
