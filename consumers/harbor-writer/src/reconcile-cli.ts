/**
 * `npm run transfers:reconcile [-- --dry-run] [--stuck-after <minutes>] [--image <imageUID>]...`:
 * checks every transfer ViewPort says succeeded (the target copy present with
 * its source's checksum, the chart in the target's kustomize table as its
 * source row promotes it, pulling from where its environment pulls now), and
 * every one that has not moved for `--stuck-after` minutes (default 30: a
 * command lost on the way, or one whose dead letter names no request), and
 * re-drives the broken and the stuck ones; a stuck one re-driven is left
 * alone for another `--stuck-after` (recordRedrives). A version promoted before its
 * environment got a registry of its own is re-driven into that registry. It also removes the copies
 * failed transfers left in their target environment (leftover-copies.ts): the object and its
 * `location<Environment>`, where no chart row of the version is in that environment and ViewPort's
 * transfer into it failed for good. On a healthy system it reports and changes nothing. Exits 1
 * when something is left for a person: a dry run that found work, a
 * transfer whose source copy or chart row is gone, which no re-drive can heal, or a leftover-looking copy it will not remove on its own.
 * One run that may re-drive at a time (a MySQL lock): a second exits 75 at once,
 * having done nothing; a --dry-run takes no lock and may run beside one.
 */
import {
  EXIT_ANOTHER_RUN, failPlainly, databaseOf, bucketEnv, bucketNames, createDynamo, createKafka, kafkaAnswers, kafkaConnection, createLogger, createOpsMysqlPool, endMysqlPool, mysqlTarget, OPS_MYSQL_END_TIMEOUT_MS, opsMysqlEnv, createS3, environmentEnv, environmentRegistryEnv, EventCodec, EventPublisher, S3_CHECK_SILENCE_TIMEOUT_MS,
  imageBucketOf, imageUIDsOf, minutesOf, imageRegistryEnv, kustomizeTableKeyOf, parseCommandLine, readCheckedConfig, runtimeEnv, startTrace, stderrDestination, tableName, TOPICS,
  type EnvironmentName,
} from '@orbit/lib';
import { loadSchemas } from '@orbit/schemas';
import { pullRegistryOf, registryPushEnv } from './harbor-env.js';
import { describeCopy, findLeftoverCopies, removeLeftoverCopies } from './leftover-copies.js';
import { findBrokenTransfers, isRepairable, lockReconcile, progressReporter, ReconcileLockLostError, ReconcileRunningError, recordRedrives, redriveEvent, transfersToCheck, unknownImages, type ReconcileLock } from './reconcile.js';

failPlainly('transfers:reconcile');

const { values } = parseCommandLine({
  options: { 'dry-run': { type: 'boolean', default: false }, 'stuck-after': { type: 'string', default: '30' }, image: { type: 'string', multiple: true, default: [] } },
}, 'npm run transfers:reconcile -- [--dry-run] [--stuck-after MINUTES] [--image IMAGE_UID]...   (checks every transfer ViewPort says succeeded, and those that have not moved for --stuck-after minutes, default 30, and re-drives the broken and stuck ones, and removes the copies failed transfers left in their target; --dry-run only reports; exits 1 when something is left for a person, 75 when another run holds the lock)');
const stuckAfterMinutes = minutesOf('stuck-after', values['stuck-after']);
const images = imageUIDsOf(values.image);
// MySQL's and Kafka's connection variables are checked with the others, Kafka's too though only a re-drive uses it: every
// problem in one report before anything is read, not one round per fix.
const { config, checked } = readCheckedConfig({ ...runtimeEnv, ...bucketEnv, ...environmentEnv, ...imageRegistryEnv, ...environmentRegistryEnv, ...registryPushEnv, ...opsMysqlEnv }, {
  mysql: (read) => mysqlTarget(read), kafka: (read) => kafkaConnection(read),
});
const logger = createLogger({ service: 'transfers-reconcile', level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, destination: stderrDestination() });
const mysql = checked.mysql;
const pool = createOpsMysqlPool(mysql, config.ORBIT_MYSQL_ANSWER_TIMEOUT_SECONDS * 1000, 8, logger);
const buckets = bucketNames(config);
const refuse = (error: unknown): never => {
  if (!(error instanceof ReconcileRunningError) && !(error instanceof ReconcileLockLostError)) throw error;
  process.stderr.write(`${error.code}: ${error.message}\n`);
  process.exit(EXIT_ANOTHER_RUN);
};
// Two runs at once both re-drove the same transfers (its steps ran three times); a dry run changes nothing, so it needs no lock.
const lock: ReconcileLock | undefined = values['dry-run'] ? undefined : await lockReconcile(mysql.url, mysql.ssl, databaseOf(config.MYSQL_URL)).catch(async (error: unknown) => {
  await endMysqlPool(pool, OPS_MYSQL_END_TIMEOUT_MS);
  return refuse(error);
});
try {
  const transfers = await transfersToCheck(pool, config.ORBIT_ENVIRONMENT_CHAIN, stuckAfterMinutes, images);
  // To stderr: stdout stays the report a script reads.
  const progress = progressReporter(transfers.length, (line) => process.stderr.write(line));
  if (transfers.length > 0) process.stderr.write(`checking ${transfers.length} transfers…\n`);
  const stores = {
    // It only looks (HEADs), and deletes no more than a leftover's one version: a re-drive's copies are the harbor-writer's,
    // so a silent S3 is said in seconds, not after twenty minutes.
    s3: createS3(config, S3_CHECK_SILENCE_TIMEOUT_MS), dynamo: createDynamo(config), metadataTable: tableName('appImageMetadata', config),
    bucketOf: (environment: EnvironmentName) => imageBucketOf(environment, buckets), kustomizeTableOf: (environment: EnvironmentName) => tableName(kustomizeTableKeyOf(environment), config),
  };
  const findings = await findBrokenTransfers(transfers, { ...stores, registryOf: pullRegistryOf(config) }, progress);
  const repairable = findings.filter(isRepairable);
  const stuck = transfers.filter((transfer) => transfer.stuck).length;
  const unknown = await unknownImages(pool, images);
  process.stdout.write(`checked ${transfers.length - stuck} succeeded and ${stuck} stuck transfers; ${findings.length} need repair\n`);
  for (const uid of unknown) process.stdout.write(`  no image ${uid} in ViewPort: nothing of it was checked\n`);
  for (const { transfer, problems, repairable: canRepair } of findings) {
    process.stdout.write(`  ${transfer.requestId} ${transfer.imageUID} ${transfer.imageVersion} ${transfer.source ?? '?'} -> ${transfer.target}: ${problems.join('; ')}${canRepair ? '' : ' (cannot be re-driven)'}\n`);
  }
  // Copies failed transfers left in their target (location<Environment> and the object, no chart row there).
  const leftoverDeps = { ...stores, chain: config.ORBIT_ENVIRONMENT_CHAIN };
  const { leftovers, questionable } = await findLeftoverCopies(pool, leftoverDeps, images, (versions) => {
    if (versions > 0) process.stderr.write(`checking the copies of ${versions} versions with failed transfers for leftovers…\n`);
  });
  process.stdout.write(`${leftovers.length} leftover copies of failed transfers${values['dry-run'] ? ' found' : ''}\n`);
  for (const copy of leftovers) process.stdout.write(`  ${describeCopy(copy)} (transfer ${copy.failedRequestId} failed)${copy.objectGone ? ' (object gone already)' : ''}\n`);
  for (const copy of questionable) process.stdout.write(`  ${describeCopy(copy)}: left for a person: ${copy.why}\n`);
  if (repairable.length > 0 && lock) {
    await lock.assertHeld().catch(refuse);
    // Nothing is stamped before the re-drives are sent: a Kafka that does not answer is said in seconds, and the run is simply repeated.
    await kafkaAnswers({ clientId: 'transfers-reconcile', ...checked.kafka, logger });
    const kafka = createKafka({ clientId: 'transfers-reconcile', ...checked.kafka, logger });
    const publisher = await EventPublisher.connect(kafka, new EventCodec(config.SCHEMA_REGISTRY_URL, loadSchemas()), logger);
    for (const { transfer } of repairable) await publisher.publish(TOPICS.transferRequested, redriveEvent(transfer), { trace: startTrace() });
    await publisher.disconnect();
    // After the publish: a stamp without its re-drive would hold a lost transfer back for another --stuck-after.
    await recordRedrives(pool, repairable.map(({ transfer }) => transfer));
    process.stdout.write(`re-drove ${repairable.length} transfer(s); run again to see them healed\n`);
  }
  if (leftovers.length > 0 && lock) {
    const { removed, inUse } = await removeLeftoverCopies(leftovers, pool, leftoverDeps, () => lock.assertHeld().catch(refuse));
    for (const copy of inUse) process.stdout.write(`  ${describeCopy(copy)}: kept, a transfer into ${copy.environment} was accepted or succeeded since\n`);
    process.stdout.write(`${removed.length} leftover copies removed\n`);
  }
  // Scripts and cron jobs see at a glance what is left for a person: a dry run that found work, or damage no re-drive heals.
  const leftForAnOperator = (values['dry-run'] ? findings.length + leftovers.length : findings.length - repairable.length) + unknown.length + questionable.length;
  if (leftForAnOperator > 0) {
    const unrepairable = findings.length - repairable.length;
    if (!values['dry-run'] && unrepairable > 0) process.stdout.write(`${unrepairable} transfer(s) cannot be re-driven: their source copy or chart row is gone, or nothing records their source\n`);
    process.exitCode = 1;
  }
} finally {
  // Both bounded: a report already printed is not held by a server that will not say goodbye (it was, for ever).
  await lock?.release();
  await endMysqlPool(pool, OPS_MYSQL_END_TIMEOUT_MS);
}
