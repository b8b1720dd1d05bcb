/**
 * `npm run bench:fairness`: how much one big upload delays other users' small
 * ones, against the same small uploads on the same pipeline with nothing
 * beside them, measured in the same run:
 *   - the share of 1 MiB uploads, sent one after another while a 1 GiB one is
 *     validated and stored, that waited for it (took half its time or more):
 *     only those whose image UID hashes to the big one's partition of the
 *     12 should (goal <= 1/6; before the consume loop detached slow handlers,
 *     every one did)
 *   - their median end-to-end time / the median alone: what sharing the
 *     machine's cores with the big one's validation and push costs            (reported)
 * Each small upload is a new image, so its key, and with it its partition, is
 * its own. ORBIT_BENCH_BYTES overrides the big one's size (default 1 GiB).
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { localStackEnv, stackUp, startPipeline } from '@orbit/local-stack';
import { writeDockerArchive } from './fixtures.js';
import { GiB, MiB, ratioLine, timed } from './measure.js';
import { isFinished, localToken, requestStatus, waitForRequest } from './pipeline-client.js';

Object.assign(process.env, { ...localStackEnv(), ...process.env });
const GATEWAY = process.env['ORBIT_GATEWAY_URL'] ?? 'http://127.0.0.1:8080';
const bigBytes = Number(process.env['ORBIT_BENCH_BYTES'] ?? GiB);
const aloneCount = 9;
const run = Date.now().toString(36);
const bigFile = join(tmpdir(), `orbit-bench-${bigBytes}.tar`);
const smallFile = join(tmpdir(), 'orbit-bench-fairness-small.tar');
const token = localToken('bench');

/** The upload as a user's client sends it; asynchronous, so small ones can go while the big one streams. */
async function upload(file: string, imageName: string): Promise<string> {
  const { stdout } = await promisify(execFile)('curl', ['-sS', '-f', '-X', 'POST', `${GATEWAY}/v1/uploads`, '-H', `Authorization: Bearer ${token}`,
    '-F', `metadata=${JSON.stringify({ imageName, imageVersion: 'v1-0-0' })};type=application/json`, '-F', `image=@${file};type=application/x-tar`], { maxBuffer: MiB });
  return (JSON.parse(stdout) as { requestId: string }).requestId;
}

/** One small upload, from the POST to its request's end, as its user waits for it. */
async function smallUpload(label: string): Promise<number> {
  const { seconds, value } = await timed(async () => waitForRequest(await upload(smallFile, `fair-${run}-${label}`), 10 * 60_000, 'bench', token));
  if (value !== 'succeeded') throw new Error(`small upload ${label} ended ${value}`);
  return seconds;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] ?? Number.NaN : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

await stackUp({ log: () => undefined });
await startPipeline(() => undefined);
console.log(`generating a ${(bigBytes / MiB).toFixed(0)} MiB docker-archive at ${bigFile} and a 1 MiB one`);
await writeDockerArchive(bigFile, bigBytes);
await writeDockerArchive(smallFile, MiB);

await smallUpload('warm-up'); // the first push of the small layer; every later one mounts it
const alone: number[] = [];
for (let index = 0; index < aloneCount; index += 1) alone.push(await smallUpload(`alone-${index}`));

const bigStarted = performance.now();
const bigRequest = await upload(bigFile, `fair-${run}-big`);
const accepted = (performance.now() - bigStarted) / 1000;
const beside: number[] = [];
// Small uploads one after another for as long as the big one is being validated and stored (at least as many as alone).
while (beside.length < aloneCount || !isFinished((await requestStatus(bigRequest, 'bench', 0, token)).status)) {
  beside.push(await smallUpload(`beside-${beside.length}`));
  if (beside.length >= 60) break;
}
const bigStatus = await waitForRequest(bigRequest, 30 * 60_000, 'bench', token);
const bigSeconds = (performance.now() - bigStarted) / 1000;

const format = (values: readonly number[]): string => values.map((value) => value.toFixed(2)).join(' ');
console.log(`\nbig upload: 202 after ${accepted.toFixed(2)} s, ${bigStatus} after ${bigSeconds.toFixed(2)} s`);
console.log(`small uploads alone (s): ${format(alone)}`);
console.log(`small uploads beside the big one (s): ${format(beside)}\n`);
const waited = beside.filter((seconds) => seconds >= bigSeconds / 2).length;
console.log(ratioLine(`small uploads that waited for the big one (${waited} of ${beside.length})`, waited / beside.length, '<= 0.167'));
console.log(ratioLine('median small upload beside a big one / alone', median(beside) / median(alone), 'reported'));
rmSync(smallFile, { force: true });
rmSync(bigFile, { force: true });
process.exit(0);
