/**
 * `npm run bench:transfer`: promotion of a 10 MiB and a 1 GiB image from
 * Development to Testing through the running pipeline, against one direct
 * S3 CopyObject of the same object measured in the same run:
 *   - transfer time / direct CopyObject time, per size           (goal <= 1.5)
 *   - harbor-writer peak RSS during each transfer (flat across sizes: no image byte passes through Node)
 * The machine is noisy, so each size is measured ORBIT_BENCH_REPEAT times
 * (default 5 below 100 MiB, 3 above: one run of a big copy swung 1.0-1.8 on
 * this shared machine) on as many images, after one warm-up
 * transfer, and medians are compared. The step timeline of the median
 * transfer shows where its time went.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { bucketEnv, bucketNames, createS3, readConfig, runtimeEnv } from '@orbit/lib';
import { localStackEnv, stackUp, startPipeline } from '@orbit/local-stack';
import { writeDockerArchive } from './fixtures.js';
import { GiB, MiB, pidListeningOn, ratioLine, sampleRss, timed } from './measure.js';
import { localToken, requestTimeline, uploadThroughGateway, waitForRequest } from './pipeline-client.js';

Object.assign(process.env, { ...localStackEnv(), ...process.env });
const config = readConfig({ ...runtimeEnv, ...bucketEnv });
const buckets = bucketNames(config);
const s3 = createS3(config);
const GATEWAY = process.env['ORBIT_GATEWAY_URL'] ?? 'http://127.0.0.1:8080';
const sizes = (process.env['ORBIT_BENCH_SIZES'] ?? `${10 * MiB},${GiB}`).split(',').map(Number);
const repeatOf = (bytes: number): number => Number(process.env['ORBIT_BENCH_REPEAT'] ?? (bytes < 100 * MiB ? 5 : 3));

await stackUp({ log: () => undefined });
await startPipeline(() => undefined);
const writer = pidListeningOn(9103);
const lines: string[] = [];
const token = localToken();

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Uploads an image of `bytes` and waits until it is stored in Development. */
async function storedImage(bytes: number, run: number): Promise<{ imageUID: string; key: string }> {
  const file = join(tmpdir(), `orbit-bench-transfer-${bytes}-${run}.tar`);
  await writeDockerArchive(file, bytes);
  const upload = await uploadThroughGateway(file, { imageName: `bench-transfer-${Date.now()}-${run}`, imageVersion: 'v1-0-0' });
  rmSync(file, { force: true });
  if ((await waitForRequest(upload.requestId, 30 * 60_000)) !== 'succeeded') throw new Error(`upload ${upload.requestId} did not succeed`);
  return { imageUID: upload.imageUID, key: `${upload.imageUID}-v1-0-0.tar` };
}

/** POST the transfer, then long-poll its status the way a portal would; resolves with the request id once it is finished. */
async function transfer(imageUID: string): Promise<{ requestId: string; status: string }> {
  const response = await fetch(`${GATEWAY}/v1/images/${imageUID}/transfers`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ imageVersion: 'v1-0-0', transferEnvironment: 'Testing' }),
  });
  const { requestId } = (await response.json()) as { requestId: string };
  return { requestId, status: await waitForRequest(requestId, 30 * 60_000, 'bench', token) };
}

// The first request through a freshly started pipeline pays for JIT, connection pools and cold stores; it is not measured.
const warmUp = await storedImage(MiB, 0);
await transfer(warmUp.imageUID);

for (const bytes of sizes) {
  const label = `${(bytes / MiB).toFixed(0)} MiB`;
  const images = [];
  for (let run = 1; run <= repeatOf(bytes); run++) images.push(await storedImage(bytes, run));
  const directs: number[] = [];
  const transfers: { seconds: number; requestId: string }[] = [];
  let peak = 0;
  for (const image of images) {
    const direct = await timed(() => s3.send(new CopyObjectCommand({
      Bucket: buckets.testing, Key: `bench/direct-${Date.now()}.tar`, CopySource: `${buckets.development}/${image.key}`, ChecksumAlgorithm: 'SHA256', ServerSideEncryption: 'AES256',
    })));
    directs.push(direct.seconds);
    const rss = writer ? sampleRss(writer, 20) : undefined;
    const done = await timed(() => transfer(image.imageUID));
    peak = Math.max(peak, rss?.stop() ?? Number.NaN);
    if (done.value.status !== 'succeeded') throw new Error(`transfer ${done.value.requestId} ${done.value.status}`);
    transfers.push({ seconds: done.seconds, requestId: done.value.requestId });
  }
  const directSeconds = median(directs);
  const transferSeconds = median(transfers.map((entry) => entry.seconds));
  const typical = transfers.find((entry) => entry.seconds === transferSeconds);
  console.log(`${label} (${images.length} runs): direct CopyObject median ${directSeconds.toFixed(3)} s [${directs.map((s) => s.toFixed(3)).join(', ')}]`);
  console.log(`${label}: transfer median ${transferSeconds.toFixed(3)} s [${transfers.map((entry) => entry.seconds.toFixed(3)).join(', ')}]; harbor-writer peak RSS ${(peak / MiB).toFixed(1)} MiB`);
  if (typical) {
    const steps = await requestTimeline(typical.requestId);
    const start = Date.parse(steps[0]?.at ?? '');
    console.log(`${label}: steps of the median transfer (ms after the first): ${steps.map((step) => `${step.eventType} +${Date.parse(step.at) - start}`).join(', ')}`);
  }
  lines.push(ratioLine(`${label}: transfer time / direct CopyObject (medians)`, transferSeconds / directSeconds, '<= 1.5'));
  lines.push(ratioLine(`${label}: harbor-writer peak RSS (MiB)`, peak / MiB, 'flat across sizes'));
}
console.log(`\n${lines.join('\n')}`);
process.exit(0);
