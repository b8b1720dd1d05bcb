/**
 * `npm run images:push [-- --dry-run] [--image <imageUID>]`: checks that every
 * version stored in Development (or one image's) is in the registry its
 * charts pull from, by the digest they pin, and pushes the missing ones from
 * their Development copy: versions stored before Orbit pushed, or a registry
 * that lost them. On a healthy system it reports and changes nothing. Exits 1
 * when something is left for a person: a dry run that found work, or a
 * version the registry refused or could not be asked about.
 */
import { bucketEnv, createDynamo, createLogger, createS3, imageRegistryEnv, parseCommandLine, readConfig, registryAccessEnv, registryAccessOf, runtimeEnv, stderrDestination, tableName } from '@orbit/lib';
import { BlobSources } from './registry-push/blob-sources.js';
import { checkVersions, repushVersion, storedVersions } from './registry-push/repush.js';

const { values } = parseCommandLine({ options: { 'dry-run': { type: 'boolean', default: false }, image: { type: 'string' } } }, 'npm run images:push -- [--dry-run] [--image IMAGE_UID]');
const config = readConfig({ ...runtimeEnv, ...bucketEnv, ...imageRegistryEnv, ...registryAccessEnv });
const log = createLogger({ service: 'images-push', level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, destination: stderrDestination() });
const deps = {
  s3: createS3(config), log,
  pushing: { prefix: config.ORBIT_IMAGE_REGISTRY, access: registryAccessOf(config), blobSources: new BlobSources() },
};
const versions = await storedVersions(createDynamo(config), tableName('appImageMetadata', config), values.image);
const checks = await checkVersions(versions, deps);
const missing = checks.filter((check) => check.kind === 'missing');
const unpushable = checks.filter((check) => check.kind === 'unpushable');
process.stdout.write(`checked ${checks.length} stored versions against ${config.ORBIT_IMAGE_REGISTRY}; ${missing.length} missing, ${unpushable.length} cannot be checked\n`);
for (const check of unpushable) process.stdout.write(`  ${check.version.imageUID} ${check.version.imageVersion}: ${check.why}\n`);
let refused = 0;
for (const check of missing) {
  if (values['dry-run']) {
    process.stdout.write(`  missing ${check.reference} (${check.version.imageUID} ${check.version.imageVersion})\n`);
    continue;
  }
  const why = await repushVersion(check.version, deps);
  if (why === undefined) process.stdout.write(`  pushed ${check.reference}\n`);
  else {
    refused += 1;
    process.stdout.write(`  refused ${check.reference}: ${why}\n`);
  }
}
if ((values['dry-run'] ? missing.length : refused) + unpushable.length > 0) process.exitCode = 1;
