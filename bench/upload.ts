/**
 * `npm run bench:upload`: a 1 GiB image through the real pipeline on the
 * local stack, compared with baselines measured in the same run on the same
 * machine (so a noisy machine affects both sides):
 *   - end-to-end upload time / a raw multipart PUT of the same file to the same MinIO   (goal <= 1.3)
 *   - gateway peak RSS while streaming it                                              (goal <= 200 MiB)
 *   - harbor-writer peak RSS while it pushes it to the registry                        (goal <= 200 MiB)
 *   - validator throughput / `sha256sum` throughput of the same file                   (goal >= 0.8)
 *   - the harbor-writer's store step (registry push + copy) / `skopeo copy` of the file
 *     to the same registry                                                              (goal <= 1.5)
 *   - the store step of a second chart on the same layers (mounted from the first's
 *     repository, not sent; the S3 copy into Development remains) / the first's        (mine: < 1)
 *   - the same for a third chart after the harbor-writer restarted (its memory empty;
 *     where the blobs are comes from the blob-locations table) / the first's           (mine: < 1)
 * ORBIT_BENCH_BYTES overrides the size (default 1 GiB). What the bench made
 * (its archive, the raw PUT's object, skopeo's cache) is removed even when it fails.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Upload } from '@aws-sdk/lib-storage';
import { bucketNames, createS3, readConfig, runtimeEnv, bucketEnv } from '@orbit/lib';
import { localStackEnv, stackUp, startPipeline, startService, stopService } from '@orbit/local-stack';
import { streamedPartBytes } from '../producers/portal-gateway/src/staging.js';
import { cleanUp, removeFile, removeObject, tempFile } from './cleanup.js';
import { writeDockerArchive } from './fixtures.js';
import { GiB, MiB, pidListeningOn, ratioLine, sampleRss, timed, timedCommand } from './measure.js';
import { localToken, requestTimeline, uploadThroughGateway, waitForRequest, waitForSuccess } from './pipeline-client.js';

Object.assign(process.env, { ...localStackEnv(), ...process.env });
const config = readConfig({ ...runtimeEnv, ...bucketEnv });
const bytes = Number(process.env['ORBIT_BENCH_BYTES'] ?? GiB);
const waitMs = Number(process.env['ORBIT_BENCH_WAIT_MS'] ?? 30 * 60_000);
const file = tempFile(`upload-${bytes}.tar`);
const gzipped = `${file}.gz`;
const s3 = createS3(config);
const staging = bucketNames(config).staging;
const rawKey = `bench/raw-${process.pid}-${Date.now()}.tar`;
// The gateway streams an upload in parts of streamedPartBytes(its upload limit); the same parts here, so the baseline differs only in what the pipeline adds.
// The limit's default is ORBIT_MAX_UPLOAD_BYTES's in producers/portal-gateway/src/config.ts.
const gatewayPartBytes = streamedPartBytes(Number(process.env['ORBIT_MAX_UPLOAD_BYTES'] ?? 10 * GiB));
const skopeoHome = mkdtempSync(join(tmpdir(), `orbit-bench-${process.pid}-skopeo-`));

try {
  await stackUp({ log: () => undefined });
  await startPipeline(() => undefined);
  // Spawning the token CLI takes a node start-up: done once here, not inside a timed upload or wait.
  const token = localToken();
  console.log(`generating a ${(bytes / MiB).toFixed(0)} MiB docker-archive at ${file}`);
  await writeDockerArchive(file, bytes);
  const size = statSync(file).size;

  const raw = await timed(() => new Upload({
    client: s3, partSize: gatewayPartBytes, queueSize: 2,
    params: { Bucket: staging, Key: rawKey, Body: createReadStream(file), ServerSideEncryption: 'AES256' },
  }).done());
  const sha = await timedCommand('sha256sum', [file]);
  // What a push of the same archive to the same registry costs skopeo (a blob cache of its own, so nothing is mounted from an earlier run).
  const registry = (process.env['ORBIT_IMAGE_REGISTRY'] ?? '').split('/')[0] ?? '';
  const skopeo = await timed(async () => execFileSync('skopeo', [
    'copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `docker-archive:${file}`, `docker://${registry}/bench/skopeo-${Date.now()}:1`,
  ], { env: { ...process.env, HOME: skopeoHome, XDG_DATA_HOME: skopeoHome, XDG_CONFIG_HOME: skopeoHome } }));

  const gatewayPid = pidListeningOn(8080);
  const rss = gatewayPid ? sampleRss(gatewayPid) : undefined;
  // The harbor-writer streams every byte to the registry: its memory must not follow the image's size.
  const harborWriterPid = pidListeningOn(9103);
  const harborRss = harborWriterPid ? sampleRss(harborWriterPid) : undefined;
  const upload = await timed(() => uploadThroughGateway(file, { imageName: `bench-${Date.now()}`, imageVersion: 'v1-0-0' }, token));
  const peak = rss?.stop() ?? Number.NaN;
  const finished = await timed(() => waitForRequest(upload.value.requestId, waitMs, token));
  if (finished.value !== 'succeeded') throw new Error(`upload request ${upload.value.requestId} ended ${finished.value}: no ratio of it means anything`);
  const endToEnd = upload.seconds + finished.seconds;
  const harborPeak = harborRss?.stop() ?? Number.NaN;
  const steps = await requestTimeline(upload.value.requestId, token);
  const at = (type: string): number => Date.parse(steps.find((step) => step.eventType === type)?.at ?? '');
  const validationSeconds = (at('image-validated') - at('upload-requested')) / 1000;
  // The harbor-writer's step: the push to the image registry (every byte read from staging and sent) and the server-side copy.
  const storeSeconds = (at('image-stored') - at('image-validated')) / 1000;

  /** The store step of another chart on the same layers (another name, so another repository), uploaded now. */
  const sharedStoreSeconds = async (name: string): Promise<number> => {
    const sent = await uploadThroughGateway(file, { imageName: `${name}-${Date.now()}`, imageVersion: 'v1-0-0' }, token);
    await waitForSuccess(sent.requestId, waitMs, token, `upload ${name}`);
    const timeline = await requestTimeline(sent.requestId, token);
    const of = (type: string): number => Date.parse(timeline.find((step) => step.eventType === type)?.at ?? '');
    return (of('image-stored') - of('image-validated')) / 1000;
  };
  // The registry mounts the layers from the first chart's repository.
  const mountedStoreSeconds = await sharedStoreSeconds('bench-shared');
  // A restart (a rollout, an evicted pod) empties the harbor-writer's memory of where blobs are; the table still says.
  await stopService('harbor-writer');
  await startService('harbor-writer');
  const restartedStoreSeconds = await sharedStoreSeconds('bench-restarted');

  // A gzip upload: what the validator adds to inflating and hashing (the tar's digest, gzip's CRC-32) against gzip's own.
  // Level 1: the layer is incompressible, so a higher level only takes longer to make the same size.
  await timedCommand('sh', ['-c', 'gzip -1 -c "$1" > "$2"', 'sh', file, gzipped]);
  const gunzipSha = await timedCommand('sh', ['-c', 'gzip -dc "$1" | sha256sum', 'sh', gzipped]);
  const gzipUpload = await uploadThroughGateway(gzipped, { imageName: `bench-gzip-${Date.now()}`, imageVersion: 'v1-0-0' }, token);
  await waitForSuccess(gzipUpload.requestId, waitMs, token, 'gzip upload');
  const gzipSteps = await requestTimeline(gzipUpload.requestId, token);
  const gzipAt = (type: string): number => Date.parse(gzipSteps.find((step) => step.eventType === type)?.at ?? '');
  const gzipValidationSeconds = (gzipAt('image-validated') - gzipAt('upload-requested')) / 1000;

  console.log(`\nfile ${size} bytes; request ${upload.value.requestId} ended ${finished.value}`);
  console.log(`raw multipart PUT (${(gatewayPartBytes / MiB).toFixed(0)} MiB parts, as the gateway's) ${raw.seconds.toFixed(2)} s; sha256sum ${sha.toFixed(2)} s; gateway 202 after ${upload.seconds.toFixed(2)} s; end to end ${endToEnd.toFixed(2)} s; validation ${validationSeconds.toFixed(2)} s; store (push + copy) ${storeSeconds.toFixed(2)} s; skopeo copy ${skopeo.seconds.toFixed(2)} s; second chart's store (layers mounted) ${mountedStoreSeconds.toFixed(2)} s; third's after a restart ${restartedStoreSeconds.toFixed(2)} s; gzip -dc | sha256sum ${gunzipSha.toFixed(2)} s; the gzip upload's validation ${gzipValidationSeconds.toFixed(2)} s\n`);
  console.log(ratioLine('end-to-end upload time / raw multipart PUT', endToEnd / raw.seconds, '<= 1.3'));
  console.log(ratioLine('gateway peak RSS (MiB)', peak / MiB, '<= 200'));
  console.log(ratioLine('validator throughput / sha256sum throughput', sha / validationSeconds, '>= 0.8'));
  console.log(ratioLine('store step (registry push + copy) / skopeo copy to the same registry', storeSeconds / skopeo.seconds, '<= 1.5'));
  console.log(ratioLine('harbor-writer peak RSS while it pushes (MiB)', harborPeak / MiB, '<= 200'));
  console.log(ratioLine('store step of a second chart on the same layers (mounted) / the first\'s', mountedStoreSeconds / storeSeconds, '< 1'));
  console.log(ratioLine('the same after a harbor-writer restart (mounted from what the table says) / the first\'s', restartedStoreSeconds / storeSeconds, '< 1'));
  console.log(ratioLine('validator throughput on it gzipped / gzip -dc | sha256sum', gunzipSha / gzipValidationSeconds, '>= 0.8'));
} finally {
  await cleanUp([() => removeFile(file), () => removeFile(gzipped), () => removeFile(skopeoHome), () => removeObject(s3, staging, rawKey)]);
}
process.exit(0);
