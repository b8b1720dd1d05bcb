/**
 * `npm run bench:transfer`: promotion of a 10 MiB and a 1 GiB image from
 * Development to Testing through the running pipeline, against one direct
 * S3 CopyObject of the same object measured in the same run:
 *   - transfer time / direct CopyObject time, per size           (goal <= 1.5)
 *   - harbor-writer peak RSS during each transfer (flat across sizes: no image byte passes through Node)
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { bucketEnv, bucketNames, createS3, readConfig, runtimeEnv } from '@orbit/lib';
import { localStackEnv, stackUp, startPipeline } from '@orbit/local-stack';
import { writeDockerArchive } from './fixtures.js';
import { GiB, MiB, pidListeningOn, ratioLine, sampleRss, timed } from './measure.js';
import { localToken, uploadThroughGateway, waitForRequest } from './pipeline-client.js';

Object.assign(process.env, { ...localStackEnv(), ...process.env });
const config = readConfig({ ...runtimeEnv, ...bucketEnv });
const buckets = bucketNames(config);
const s3 = createS3(config);
const GATEWAY = process.env['ORBIT_GATEWAY_URL'] ?? 'http://127.0.0.1:8080';
const sizes = (process.env['ORBIT_BENCH_SIZES'] ?? `${10 * MiB},${GiB}`).split(',').map(Number);

await stackUp({ log: () => undefined });
await startPipeline(() => undefined);
const writer = pidListeningOn(9103);
const lines: string[] = [];
const token = localToken();

for (const bytes of sizes) {
  const file = join(tmpdir(), `orbit-bench-transfer-${bytes}.tar`);
  await writeDockerArchive(file, bytes);
  const upload = await uploadThroughGateway(file, { imageName: `bench-transfer-${Date.now()}`, imageVersion: 'v1-0-0' });
  rmSync(file, { force: true });
  if ((await waitForRequest(upload.requestId, 30 * 60_000)) !== 'succeeded') throw new Error(`upload ${upload.requestId} did not succeed`);
  const key = `${upload.imageUID}-v1-0-0.tar`;

  const direct = await timed(() => s3.send(new CopyObjectCommand({
    Bucket: buckets.testing, Key: `bench/direct-${Date.now()}.tar`, CopySource: `${buckets.development}/${key}`, ChecksumAlgorithm: 'SHA256', ServerSideEncryption: 'AES256',
  })));
  const rss = writer ? sampleRss(writer, 20) : undefined;
  const transfer = await timed(async () => {
    const response = await fetch(`${GATEWAY}/v1/images/${upload.imageUID}/transfers`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ imageVersion: 'v1-0-0', transferEnvironment: 'Testing' }),
    });
    const { requestId } = (await response.json()) as { requestId: string };
    for (;;) {
      const status = await fetch(`${GATEWAY}/v1/requests/${requestId}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await status.json()) as { status: string };
      if (body.status === 'succeeded' || body.status === 'failed') return body.status;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });
  const peak = rss?.stop() ?? Number.NaN;
  const label = `${(bytes / MiB).toFixed(0)} MiB`;
  console.log(`${label}: direct CopyObject ${direct.seconds.toFixed(3)} s; transfer ${transfer.value} after ${transfer.seconds.toFixed(3)} s; harbor-writer peak RSS ${(peak / MiB).toFixed(1)} MiB`);
  lines.push(ratioLine(`${label}: transfer time / direct CopyObject`, transfer.seconds / direct.seconds, '<= 1.5'));
  lines.push(ratioLine(`${label}: harbor-writer peak RSS (MiB)`, peak / MiB, 'flat across sizes'));
}
console.log(`\n${lines.join('\n')}`);
process.exit(0);
