/**
 * `npm run transfers:reconcile [-- --dry-run]`: checks every transfer ViewPort
 * says succeeded (the target copy present with its source's checksum, the
 * chart in the target's kustomize table) and re-drives the broken ones. On a
 * healthy system it reports and changes nothing.
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
  process.stdout.write(`checked ${transfers.length} succeeded transfers; ${findings.length} need repair\n`);
  for (const { transfer, problems } of findings) {
    process.stdout.write(`  ${transfer.requestId} ${transfer.imageUID} ${transfer.imageVersion} ${transfer.source} -> ${transfer.target}: ${problems.join('; ')}\n`);
  }
  if (findings.length > 0 && !values['dry-run']) {
    const kafka = createKafka({ clientId: 'transfers-reconcile', brokers: config.KAFKA_BROKERS, logger });
    const publisher = await EventPublisher.connect(kafka, new EventCodec(config.SCHEMA_REGISTRY_URL, loadSchemas()), logger);
    for (const { transfer } of findings) await publisher.publish(TOPICS.transferRequested, redriveEvent(transfer), { trace: startTrace() });
    await publisher.disconnect();
    process.stdout.write(`re-drove ${findings.length} transfer(s); run again to see them healed\n`);
  }
} finally {
  await pool.end();
}
