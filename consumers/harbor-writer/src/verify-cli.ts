/**
 * `npm run storage:verify [-- --image <imageUID>]... [--deep] [--json]`: checks
 * that every image archive Orbit recorded (each version's Development copy and
 * every copy a transfer made, in the image metadata table), and the packaged
 * chart each of those environments serves (its kustomize row's `chart`), is
 * still in S3 at its recorded key and version, by a HEAD: `lost` (gone: its download fails),
 * `noncurrent` (another version, or a delete marker, is current at the key, so
 * the bucket's noncurrent-version rule will delete the recorded one: in how
 * many days), `size differs` / `checksum differs` (against the recorded size
 * and SHA-256, where S3 gives them; `--deep` streams and hashes the bytes
 * instead). Changes nothing. Prints each archive that is not ok, then a
 * summary (with `--json`: one JSON object per archive not ok on stdout, the
 * summary on stderr, as dlq:list). Exits 1 when any archive is not ok or an
 * image named has no recorded archive, 0 otherwise.
 */
import {
  bucketEnv, createDynamo, createS3, failPlainly, imageUIDsOf, kustomizeTableKeyOf, parseCommandLine, readConfig, runtimeEnv, S3_CHECK_SILENCE_TIMEOUT_MS, tableName, type EnvironmentName,
} from '@orbit/lib';
import { PROGRESS_EVERY_MS } from './reconcile.js';
import { describeArchive, describeProblem, verdictJson, verifyStorage, VerifyTally } from './verify-storage.js';

failPlainly('storage:verify');

const { values } = parseCommandLine({
  options: { image: { type: 'string', multiple: true, default: [] }, deep: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
}, 'npm run storage:verify -- [--image IMAGE_UID]... [--deep] [--json]   (checks that every recorded image archive and chart, or those of the images named, is in S3 at its recorded version with its recorded size and checksum: reports lost, noncurrent (deleted by the bucket\'s noncurrent-version rule later), size differs, checksum differs; --deep reads and hashes the bytes; --json prints one JSON object per archive not ok; changes nothing; exits 1 when any is not ok)');
const images = imageUIDsOf(values.image);
const config = readConfig({ ...runtimeEnv, ...bucketEnv });
const deps = {
  // Only HEADs (and a streamed GET with --deep, which the silence timeout does not cut while bytes flow): a silent S3 is said in seconds.
  s3: createS3(config, S3_CHECK_SILENCE_TIMEOUT_MS), dynamo: createDynamo(config), metadataTable: tableName('appImageMetadata', config), deep: values.deep,
  kustomizeTableOf: (environment: EnvironmentName) => tableName(kustomizeTableKeyOf(environment), config),
};
const tally = new VerifyTally();
let lastProgress = performance.now();
await verifyStorage(deps, images, (verdicts) => {
  for (const verdict of verdicts) {
    tally.count(verdict);
    if (verdict.problems.length === 0) continue;
    process.stdout.write(values.json ? `${verdictJson(verdict)}\n`
      : `  ${describeArchive(verdict.archive)}: ${verdict.problems.map(describeProblem).join('; ')}\n`);
  }
  // To stderr: a table of thousands of versions takes minutes, and silence reads as a hang.
  if (performance.now() - lastProgress >= PROGRESS_EVERY_MS) {
    lastProgress = performance.now();
    process.stderr.write(`checked ${tally.checked} archives so far; ${tally.wrong} not ok\n`);
  }
});
// A UID with nothing recorded is most likely a typo: it must not read as "all there".
const unknown = images.filter((uid) => !tally.images.has(uid));
const summary = `${tally.summary()}${unknown.map((uid) => `  no recorded archive of image ${uid}\n`).join('')}`;
(values.json ? process.stderr : process.stdout).write(summary);
if (tally.wrong + unknown.length > 0) process.exitCode = 1;
