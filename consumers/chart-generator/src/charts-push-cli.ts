/**
 * `npm run charts:push [-- --dry-run] [--image <imageUID>]...`: checks that
 * every version's chart (or those of the images named) is in the registry beside its image,
 * `<ORBIT_IMAGE_REGISTRY>/charts/<chart name>`, and each environment's own
 * chart in that environment's registry, and pushes the missing ones from the
 * chart bucket: versions charted before Orbit pushed charts, or a registry
 * that lost them. On a healthy system it reports and changes nothing. Exits 1
 * when something is left for a person: a dry run that found work, or a chart
 * a registry refused or that cannot be read.
 */
import {
  failPlainly, bucketEnv, createDynamo, createLogger, createS3, imageRegistryEnv, imageUIDsOf, kustomizeTableKeyOf, parseCommandLine, readConfig, registryAccessEnv, registryAccessOf,
  runtimeEnv, S3_CHECK_SILENCE_TIMEOUT_MS, stderrDestination, tableName,
} from '@orbit/lib';
import { awsChartStore } from './chart-store.js';
import { ENVIRONMENTS } from './environment.js';
import { chartPlacementOf, chartRows, checkChart, repushChart, type ChartPlacement } from './repush-charts.js';

failPlainly('charts:push');

const { values } = parseCommandLine({ options: { 'dry-run': { type: 'boolean', default: false }, image: { type: 'string', multiple: true, default: [] } } }, 'npm run charts:push -- [--dry-run] [--image IMAGE_UID]...   (checks that the registries hold the chart of every version, or of the images named, and pushes the missing ones from the chart bucket; --dry-run only reports; exits 1 when something is left for a person)');
const images = imageUIDsOf(values.image);
const config = readConfig({ ...runtimeEnv, ...bucketEnv, ...imageRegistryEnv, ...registryAccessEnv });
const log = createLogger({ service: 'charts-push', level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, destination: stderrDestination() });
const dynamo = createDynamo(config);
// Its S3 reads are small charts, never a copy: a silent S3 is said in seconds, not after twenty minutes.
const deps = { store: awsChartStore(createS3(config, S3_CHECK_SILENCE_TIMEOUT_MS), dynamo, config.ORBIT_BUCKET_CHARTS), pushing: { access: registryAccessOf(config, log) }, log };

const placements: ChartPlacement[] = [];
for (const environment of ENVIRONMENTS) {
  const table = tableName(kustomizeTableKeyOf(environment), config);
  const rows = images.length === 0 ? await chartRows(dynamo, table) : (await Promise.all(images.map((uid) => chartRows(dynamo, table, uid)))).flat();
  for (const row of rows) {
    const placement = chartPlacementOf(row, environment, config.ORBIT_IMAGE_REGISTRY);
    if (placement) placements.push(placement);
  }
}
// A UID with no chart anywhere is most likely a typo: it must not read as "all there".
const unknown = images.filter((uid) => !placements.some((placement) => placement.imageUID === uid));
const checks = [];
for (const placement of placements) checks.push(await checkChart(placement, deps));
const missing = checks.filter((check) => check.kind === 'missing');
const unpushable = checks.flatMap((check) => (check.kind === 'unpushable' ? [check] : []));
process.stdout.write(`checked ${placements.length} charts; ${missing.length} missing, ${unpushable.length} cannot be checked\n`);
for (const uid of unknown) process.stdout.write(`  no chart of image ${uid}\n`);
for (const { placement, why } of unpushable) process.stdout.write(`  ${placement.imageUID} ${placement.imageVersion} (${placement.environment}): ${why}\n`);
let refused = 0;
for (const check of missing) {
  if (check.kind !== 'missing') continue;
  const { placement, reference } = check;
  if (values['dry-run']) {
    process.stdout.write(`  missing ${reference} (${placement.imageUID} ${placement.imageVersion}, ${placement.environment})\n`);
    continue;
  }
  const why = await repushChart(placement, deps);
  if (why === undefined) process.stdout.write(`  pushed ${reference}\n`);
  else {
    refused += 1;
    process.stdout.write(`  refused ${reference}: ${why}\n`);
  }
}
if ((values['dry-run'] ? missing.length : refused) + unpushable.length + unknown.length > 0) process.exitCode = 1;
