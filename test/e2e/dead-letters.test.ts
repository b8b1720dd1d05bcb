/**
 * A stage that cannot process a request's message puts it in its DLQ, and the
 * request fails at once with DEAD_LETTERED (which stage, why, which DLQ)
 * instead of staying `running` where nobody looks. Once the cause is fixed
 * and the letter re-driven, the same request carries on and succeeds. The
 * fault is a real one: the harbor-writer started with a Development bucket
 * name S3 refuses (400), the kind of misconfiguration operators fix and re-drive.
 * And a message nobody can decode, in a topic ViewPort is projected from, is
 * set aside once and does not hold back the uploads behind it.
 */
import { readFileSync } from 'node:fs';
import { listDeadLetters, redriveDeadLetters, TOPICS } from '@orbit/lib';
import { startPipeline, startService, stopPipeline, stopService } from '@orbit/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, finished, uploadArchive, type RequestView } from '../helpers/gateway.js';
import { buildImage, type BuiltImage } from '../helpers/images.js';
import { testKafka, uniqueSuffix, waitFor } from '../helpers/index.js';

const USER = `dl-${uniqueSuffix()}`;
const VERSION = 'v1-0-00';
const DLQ = `${TOPICS.imageValidated}.dlq`;
let image: BuiltImage;

/** Restarts the harbor-writer with `bucket` as its Development bucket (undefined: its default). */
async function restartHarborWriter(bucket: string | undefined): Promise<void> {
  await stopService('harbor-writer');
  if (bucket === undefined) delete process.env['ORBIT_BUCKET_DEVELOPMENT'];
  else process.env['ORBIT_BUCKET_DEVELOPMENT'] = bucket;
  await startService('harbor-writer');
}

beforeAll(async () => {
  image = buildImage({ name: 'orbit-e2e/dead-letter', tag: '1', exposedPort: '8080/tcp', entrypoint: ['/bin/app'], layers: [{ files: { 'bin/app': 'app' } }] });
  await startPipeline(() => undefined);
}, 180_000);

afterAll(async () => {
  await restartHarborWriter(undefined);
  await stopPipeline();
  image?.cleanup();
});

describe('a request whose message a stage sets aside', () => {
  it('fails with DEAD_LETTERED at once, and succeeds once the letter is re-driven', async () => {
    await restartHarborWriter('Misconfigured..Bucket');
    let requestId: string;
    let imageUID: string;
    try {
      const accepted = await uploadArchive(USER, readFileSync(image.ociArchive), { imageName: `dead-letter-${uniqueSuffix()}`, imageVersion: VERSION, port: 8080 });
      expect(accepted.status).toBe(202);
      ({ requestId, imageUID } = accepted.body);
      const failed = await finished(USER, requestId);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'DEAD_LETTERED', pid: 'c8bms06-c20bre24-911' } });
      expect(failed.error?.message).toContain('harbor-writer');
      expect(failed.error?.message).toContain(DLQ);
      // What to fix, in the request's own failure: the refused call and the bucket it named (S3 says only "400").
      expect(failed.error?.message).toContain('HeadObject s3://Misconfigured..Bucket/');
    } finally {
      await restartHarborWriter(undefined);
    }

    // The operator's side: the letter is listed with its cause, then re-driven (only this one).
    const kafka = testKafka();
    const letters = (await listDeadLetters(kafka, DLQ)).filter((letter) => letter.key?.toString('utf8') === imageUID);
    expect(letters.length).toBeGreaterThan(0);
    expect(letters[0]).toMatchObject({ originalTopic: TOPICS.imageValidated, consumerGroup: 'harbor-writer', errorCode: 'HTTP_400' });
    expect(letters[0]?.errorMessage).toMatch(/^HeadObject s3:\/\/Misconfigured\.\.Bucket\/\S+: HTTP 400 Bad Request, without an error body/);
    await redriveDeadLetters(kafka, DLQ, { offsets: letters.map((letter) => letter.dlqOffset) });

    const done = await waitFor(async () => {
      const { body } = await api<RequestView>(USER, `/v1/requests/${requestId}?wait=5`);
      return body.status === 'succeeded' ? body : undefined;
    }, { timeoutMs: 90_000, intervalMs: 100, what: 'the re-driven request to succeed' });
    expect(done.error).toBeUndefined();
    expect(done.steps.map((step) => step.eventType)).toEqual(expect.arrayContaining(['upload-failed', 'image-stored', 'helm-chart-generated']));
    const view = await api<{ versions: { imageVersion: string; status: string; environments: string[] }[] }>(USER, `/v1/images/${imageUID}`);
    expect(view.body.versions).toMatchObject([{ imageVersion: VERSION, status: 'ready', environments: ['Development'] }]);
  }, 240_000);

  it('goes on past an undecodable message in a projected topic: the projector sets it aside once and projects what follows', async () => {
    const kafka = testKafka();
    const projectorLetters = async (): Promise<number> =>
      (await listDeadLetters(kafka, `${TOPICS.imageStored}.dlq`)).filter((letter) => letter.consumerGroup === 'viewport-projector').length;
    const lettersBefore = await projectorLetters();
    // On every partition, so whatever partition the upload's ImageStored lands on comes after one.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: TOPICS.imageStored, messages: [0, 1, 2].map((partition) => ({ partition, key: `garbage-${partition}`, value: Buffer.from('not avro at all') })) });
    await producer.disconnect();

    const accepted = await uploadArchive(USER, readFileSync(image.ociArchive), { imageName: `after-garbage-${uniqueSuffix()}`, imageVersion: VERSION, port: 8080 });
    expect((await finished(USER, accepted.body.requestId, 90_000)).status).toBe('succeeded');
    await waitFor(async () => (await projectorLetters()) >= lettersBefore + 3, { timeoutMs: 30_000, what: "the projector's three letters" });
    // Set aside once each: a few seconds later there are still just three more.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await projectorLetters()).toBe(lettersBefore + 3);
  }, 180_000);
});
