/**
 * `npm run transfers:reconcile [-- --dry-run]`: checks every transfer ViewPort
 * says succeeded (the target copy present with its source's checksum, the
 * chart in the target's kustomize table as its source row promotes it) and
 * re-drives the broken ones. On a healthy system it reports and changes
 * nothing. Exits 1 when something is left for a person: a dry run that found
 * broken transfers, or a transfer whose source copy or chart row is gone,
 * which no re-drive can heal.
 */
import { parseArgs } from 'node:util';
import {
  bucketEnv, bucketNames, createDynamo, createKafka, createLogger, createMysqlPool, createS3, environmentEnv, EventCodec, EventPublisher,
  imageBucketOf, kustomizeTableKeyOf, readConfig, runtimeEnv, startTrace, tableName, TOPICS,
} from '@orbit/lib';
import { loadSchemas } from '@orbit/schemas';
import { doneTransfers, findBrokenTransfers, redriveEvent } from './reconcile.js';

const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean', default: false } } });
const config = readConfig({ ...runtimeEnv, ...bucketEnv, ...environmentEnv });
const logger = createLogger({ service: 'transfers-reconcile', level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL });
const pool = createMysqlPool(config.MYSQL_URL);
const buckets = bucketNames(config);
try {
  const transfers = await doneTransfers(pool, config.ORBIT_ENVIRONMENT_CHAIN);
  const findings = await findBrokenTransfers(transfers, {
    s3: createS3(config), dynamo: createDynamo(config),
    bucketOf: (environment) => imageBucketOf(environment, buckets), kustomizeTableOf: (environment) => tableName(kustomizeTableKeyOf(environment), config),
  });
  const repairable = findings.filter((finding) => finding.repairable);
  process.stdout.write(`checked ${transfers.length} succeeded transfers; ${findings.length} need repair\n`);
  for (const { transfer, problems, repairable: canRepair } of findings) {
    process.stdout.write(`  ${transfer.requestId} ${transfer.imageUID} ${transfer.imageVersion} ${transfer.source} -> ${transfer.target}: ${problems.join('; ')}${canRepair ? '' : ' (cannot be re-driven)'}\n`);
  }
  if (repairable.length > 0 && !values['dry-run']) {
    const kafka = createKafka({ clientId: 'transfers-reconcile', brokers: config.KAFKA_BROKERS, logger });
    const publisher = await EventPublisher.connect(kafka, new EventCodec(config.SCHEMA_REGISTRY_URL, loadSchemas()), logger);
    for (const { transfer } of repairable) await publisher.publish(TOPICS.transferRequested, redriveEvent(transfer), { trace: startTrace() });
    await publisher.disconnect();
    process.stdout.write(`re-drove ${repairable.length} transfer(s); run again to see them healed\n`);
  }
  // Scripts and cron jobs see at a glance what is left for a person: a dry run that found work, or damage no re-drive heals.
  const leftForAnOperator = values['dry-run'] ? findings.length : findings.length - repairable.length;
  if (leftForAnOperator > 0) {
    if (!values['dry-run']) process.stdout.write(`${leftForAnOperator} transfer(s) cannot be re-driven: their source copy or chart row is gone\n`);
    process.exitCode = 1;
  }
} finally {
  await pool.end();
}
