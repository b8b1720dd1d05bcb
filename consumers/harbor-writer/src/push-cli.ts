/**
 * `npm run images:push [-- --dry-run] [--image <imageUID>]...`: checks that every
 * version stored in Development (or those of the images named) is in the registry its
 * charts pull from, by the digest they pin, and so is each copy a transfer
 * made into an environment with a registry of its own; it pushes the missing
 * ones from that environment's copy: versions stored before Orbit pushed, or
 * a registry that lost them. On a healthy system it reports and changes
 * nothing. Exits 1 when something is left for a person: a dry run that found
 * work, or an image a registry refused or could not be asked about.
 */
import {
  failPlainly, bucketEnv, createDynamo, createLogger, createS3, environmentRegistryEnv, imageRegistryEnv, imageRegistryOf, imageUIDsOf, parseCommandLine, readConfig, registryAccessEnv, registryAccessOf,
  runtimeEnv, stderrDestination, tableName,
} from '@orbit/lib';
import { BlobSources } from './registry-push/blob-sources.js';
import { DynamoBlobLocations } from './registry-push/dynamo-blob-locations.js';
import { checkVersions, placementsOf, repushVersion, storedVersions } from './registry-push/repush.js';

failPlainly('images:push');

const { values } = parseCommandLine({ options: { 'dry-run': { type: 'boolean', default: false }, image: { type: 'string', multiple: true, default: [] } } }, 'npm run images:push -- [--dry-run] [--image IMAGE_UID]...   (checks that the registries hold every stored version, or those of the images named, by the digest their charts pin, and pushes the missing ones from their stored copy; --dry-run only reports; exits 1 when something is left for a person)');
const images = imageUIDsOf(values.image);
const config = readConfig({ ...runtimeEnv, ...bucketEnv, ...imageRegistryEnv, ...environmentRegistryEnv, ...registryAccessEnv });
const log = createLogger({ service: 'images-push', level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, destination: stderrDestination() });
const dynamo = createDynamo(config);
const deps = {
  s3: createS3(config), log,
  pushing: { prefix: config.ORBIT_IMAGE_REGISTRY, access: registryAccessOf(config, log), blobSources: new BlobSources(new DynamoBlobLocations(dynamo, tableName('registryBlobLocations', config)), log) },
};
const table = tableName('appImageMetadata', config);
const versions = images.length === 0 ? await storedVersions(dynamo, table) : (await Promise.all(images.map((uid) => storedVersions(dynamo, table, uid)))).flat();
// A UID with nothing stored is most likely a typo: it must not read as "all there".
const unknown = images.filter((uid) => !versions.some((version) => version.imageUID === uid));
const placements = placementsOf(versions, (environment) => imageRegistryOf(environment, config));
const checks = await checkVersions(placements, deps);
const missing = checks.filter((check) => check.kind === 'missing');
const unpushable = checks.filter((check) => check.kind === 'unpushable');
const promoted = placements.length - versions.length;
process.stdout.write(`checked ${versions.length} stored versions against ${config.ORBIT_IMAGE_REGISTRY}`
  + `${promoted > 0 ? ` and ${promoted} transferred copies against their environments' registries` : ''}; ${missing.length} missing, ${unpushable.length} cannot be checked\n`);
for (const uid of unknown) process.stdout.write(`  no stored version of image ${uid}\n`);
for (const { placement, why } of unpushable) process.stdout.write(`  ${placement.version.imageUID} ${placement.version.imageVersion} (${placement.environment}): ${why}\n`);
let refused = 0;
for (const check of missing) {
  const { version, environment } = check.placement;
  if (values['dry-run']) {
    process.stdout.write(`  missing ${check.reference} (${version.imageUID} ${version.imageVersion}, ${environment})\n`);
    continue;
  }
  const why = await repushVersion(check.placement, deps);
  if (why === undefined) process.stdout.write(`  pushed ${check.reference}\n`);
  else {
    refused += 1;
    process.stdout.write(`  refused ${check.reference}: ${why}\n`);
  }
}
if ((values['dry-run'] ? missing.length : refused) + unpushable.length + unknown.length > 0) process.exitCode = 1;
