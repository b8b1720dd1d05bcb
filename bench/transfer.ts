/**
 * `npm run bench:transfer`: promotion of a 10 MiB and a 1 GiB image from
 * Development to Testing through the running pipeline, against one direct
 * S3 CopyObject of the same object measured in the same run:
 *   - transfer time / direct CopyObject time, per size           (goal <= 1.5)
 *   - harbor-writer RSS growth during each transfer: its peak while the transfer
 *     runs less its RSS just before (its resting size, whatever earlier work
 *     left, is not the transfer's); the largest per size, and the largest
 *     size's less the smallest's              (goal <= 32 MiB: flat, no image byte passes through Node)
 * The machine is noisy, so each size is measured ORBIT_BENCH_REPEAT times
 * (default 5 below 100 MiB, 3 above: one run of a big copy swung 1.0-1.8 on
 * this shared machine) on as many images, after one warm-up
 * transfer, and medians are compared (of an even count, the mean of the two
 * middle values). The step timeline of the run closest to the median shows
 * where its time went. The archives and the direct copies are removed after.
 */
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { bucketEnv, bucketNames, createS3, readConfig, runtimeEnv } from '@orbit/lib';
import { localStackEnv, stackUp, startPipeline } from '@orbit/local-stack';
import { cleanUp, removeFile, removeObject, tempFile } from './cleanup.js';
import { writeDockerArchive } from './fixtures.js';
import { GiB, MiB, pidListeningOn, ratioLine, rssOf, sampleRss, timed } from './measure.js';
import { localToken, okOrThrow, requestTimeline, uploadThroughGateway, waitForRequest, waitForSuccess } from './pipeline-client.js';

Object.assign(process.env, { ...localStackEnv(), ...process.env });
const config = readConfig({ ...runtimeEnv, ...bucketEnv });
const buckets = bucketNames(config);
const s3 = createS3(config);
const GATEWAY = process.env['ORBIT_GATEWAY_URL'] ?? 'http://127.0.0.1:8080';
const sizes = (process.env['ORBIT_BENCH_SIZES'] ?? `${10 * MiB},${GiB}`).split(',').map(Number);
const repeatOf = (bytes: number): number => Number(process.env['ORBIT_BENCH_REPEAT'] ?? (bytes < 100 * MiB ? 5 : 3));
/** How much more the harbor-writer may grow at the largest size than at the smallest: a few buffers, never the image. */
const flatBoundBytes = 32 * MiB;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] ?? Number.NaN : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
};

const files: string[] = [];
const directKeys: string[] = [];

/** Uploads an image of `bytes` and waits until it is stored in Development. */
async function storedImage(bytes: number, run: number, token: string): Promise<{ imageUID: string; key: string }> {
  const file = tempFile(`transfer-${bytes}-${run}.tar`);
  files.push(file);
  await writeDockerArchive(file, bytes);
  const upload = await uploadThroughGateway(file, { imageName: `bench-transfer-${Date.now()}-${run}`, imageVersion: 'v1-0-0' }, token);
  removeFile(file);
  await waitForSuccess(upload.requestId, 30 * 60_000, token, `upload of ${bytes} bytes`);
  return { imageUID: upload.imageUID, key: `${upload.imageUID}-v1-0-0.tar` };
}

/** POST the transfer, then long-poll its status the way a portal would; resolves with the request id once it is finished. */
async function transfer(imageUID: string, token: string): Promise<{ requestId: string; status: string }> {
  const response = await okOrThrow(await fetch(`${GATEWAY}/v1/images/${imageUID}/transfers`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ imageVersion: 'v1-0-0', transferEnvironment: 'Testing' }),
  }), `POST /v1/images/${imageUID}/transfers`);
  const { requestId } = (await response.json()) as { requestId: string };
  return { requestId, status: await waitForRequest(requestId, 30 * 60_000, token) };
}

try {
  await stackUp({ log: () => undefined });
  await startPipeline(() => undefined);
  const writer = pidListeningOn(9103);
  const lines: string[] = [];
  const token = localToken();
  const growthBySize = new Map<number, number>();

  // The first request through a freshly started pipeline pays for JIT, connection pools and cold stores; it is not measured.
  const warmUp = await storedImage(MiB, 0, token);
  const warmed = await transfer(warmUp.imageUID, token);
  if (warmed.status !== 'succeeded') throw new Error(`warm-up transfer ${warmed.requestId} ${warmed.status}`);

  for (const bytes of sizes) {
    const label = `${(bytes / MiB).toFixed(0)} MiB`;
    const images = [];
    for (let run = 1; run <= repeatOf(bytes); run++) images.push(await storedImage(bytes, run, token));
    const directs: number[] = [];
    const transfers: { seconds: number; requestId: string }[] = [];
    let growth = Number.NaN;
    for (const image of images) {
      const directKey = `bench/direct-${process.pid}-${directKeys.length}-${Date.now()}.tar`;
      directKeys.push(directKey);
      const direct = await timed(() => s3.send(new CopyObjectCommand({
        Bucket: buckets.testing, Key: directKey, CopySource: `${buckets.development}/${image.key}`, ChecksumAlgorithm: 'SHA256', ServerSideEncryption: 'AES256',
      })));
      directs.push(direct.seconds);
      const before = writer ? rssOf(writer) : Number.NaN;
      const rss = writer ? sampleRss(writer, 20) : undefined;
      const done = await timed(() => transfer(image.imageUID, token));
      const grew = (rss?.stop() ?? Number.NaN) - before;
      growth = Number.isNaN(growth) ? grew : Math.max(growth, grew);
      if (done.value.status !== 'succeeded') throw new Error(`transfer ${done.value.requestId} ${done.value.status}`);
      transfers.push({ seconds: done.seconds, requestId: done.value.requestId });
    }
    growthBySize.set(bytes, growth);
    const directSeconds = median(directs);
    const transferSeconds = median(transfers.map((entry) => entry.seconds));
    // Of an even count the median is no run's time: the run nearest it stands for it.
    const typical = transfers.reduce<(typeof transfers)[number] | undefined>((best, entry) => (!best || Math.abs(entry.seconds - transferSeconds) < Math.abs(best.seconds - transferSeconds) ? entry : best), undefined);
    console.log(`${label} (${images.length} runs): direct CopyObject median ${directSeconds.toFixed(3)} s [${directs.map((s) => s.toFixed(3)).join(', ')}]`);
    console.log(`${label}: transfer median ${transferSeconds.toFixed(3)} s [${transfers.map((entry) => entry.seconds.toFixed(3)).join(', ')}]; harbor-writer RSS growth during a transfer, largest ${(growth / MiB).toFixed(1)} MiB`);
    if (typical) {
      const steps = await requestTimeline(typical.requestId, token);
      const start = Date.parse(steps[0]?.at ?? '');
      console.log(`${label}: steps of the transfer nearest the median (${typical.seconds.toFixed(3)} s; ms after the first): ${steps.map((step) => `${step.eventType} +${Date.parse(step.at) - start}`).join(', ')}`);
    }
    lines.push(ratioLine(`${label}: transfer time / direct CopyObject (medians)`, transferSeconds / directSeconds, '<= 1.5'));
    lines.push(ratioLine(`${label}: harbor-writer RSS growth during a transfer (MiB)`, growth / MiB, 'flat across sizes'));
  }
  const smallest = Math.min(...sizes);
  const largest = Math.max(...sizes);
  if (largest > smallest) {
    const spread = (growthBySize.get(largest) ?? Number.NaN) - (growthBySize.get(smallest) ?? Number.NaN);
    const verdict = spread <= flatBoundBytes ? 'met' : Number.isNaN(spread) ? 'unknown (no harbor-writer on port 9103)' : 'not met';
    lines.push(`${ratioLine(`RSS growth at ${(largest / MiB).toFixed(0)} MiB - at ${(smallest / MiB).toFixed(0)} MiB (MiB)`, spread / MiB, `<= ${flatBoundBytes / MiB}`)} ${verdict}`);
  } else {
    lines.push('RSS growth across sizes: one size only, nothing to compare (ORBIT_BENCH_SIZES)');
  }
  console.log(`\n${lines.join('\n')}`);
} finally {
  await cleanUp([...files.map((file) => () => removeFile(file)), ...directKeys.map((key) => () => removeObject(s3, buckets.testing, key))]);
}
process.exit(0);
