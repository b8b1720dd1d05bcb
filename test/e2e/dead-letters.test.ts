/**
 * A stage that cannot process a request's message puts it in its DLQ, and the
 * request fails at once with DEAD_LETTERED (which stage, why, which DLQ)
 * instead of staying `running` where nobody looks. Once the cause is fixed
 * and the letter re-driven, the same request carries on and succeeds. The
 * fault is a real one: the harbor-writer started with a Development bucket
 * name S3 refuses (400), the kind of misconfiguration operators fix and re-drive.
 * And a message nobody can decode, in a topic ViewPort is projected from, is
 * set aside once and does not hold back the uploads behind it.
 *
 * Each service runs as its own Kafka user with only its grants (the local
 * pipeline's per-service principals), so these also show that a stage may
 * publish the failure its dead-letter hook announces: the validator and the
 * projector are made to set aside a message they can decode, by a DynamoDB
 * table that is not there and by a MariaDB trigger that refuses one row.
 */
import { readFileSync } from 'node:fs';
import { createMysqlPool, listDeadLetters, redriveDeadLetters, TOPICS, type DeadLetterEntry } from '@orbit/lib';
import { startPipeline, startService, stopPipeline, stopService } from '@orbit/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lettersAt } from '../helpers/dlq-letters.js';
import { api, finished, uploadArchive, type RequestView } from '../helpers/gateway.js';
import { buildImage, type BuiltImage } from '../helpers/images.js';
import { startingWith, testConfig, testKafka, uniqueSuffix, waitFor } from '../helpers/index.js';

const USER = `dl-${uniqueSuffix()}`;
const VERSION = 'v1-0-00';
const DLQ = `${TOPICS.imageValidated}.dlq`;
let image: BuiltImage;

/** `service` restarted with `name` set to `value`, or as the pipeline runs it when `value` is undefined. */
async function restartWith(service: string, name: string, value: string | undefined): Promise<void> {
  await stopService(service);
  // The test's environment is the pipeline's own again once a start is over, so it is what "as usual" means.
  await startingWith(name, value ?? process.env[name], () => startService(service));
}

async function restartHarborWriter(bucket: string | undefined): Promise<void> {
  await restartWith('harbor-writer', 'ORBIT_BUCKET_DEVELOPMENT', bucket);
}

/** The letters `group` set aside in `dlq` for `imageUID` (the messages' key). */
async function lettersOf(dlq: string, group: string, imageUID: string): Promise<DeadLetterEntry[]> {
  return (await listDeadLetters(testKafka(), dlq)).filter((letter) => letter.consumerGroup === group && letter.key?.toString('utf8') === imageUID);
}

async function waitForSuccess(requestId: string): Promise<RequestView> {
  return waitFor(async () => {
    const { body } = await api<RequestView>(USER, `/v1/requests/${requestId}?wait=5`);
    return body.status === 'succeeded' ? body : undefined;
  }, { timeoutMs: 90_000, intervalMs: 100, what: 'the re-driven request to succeed' });
}

type ImageView = { versions: { imageVersion: string; status: string; environments: string[] }[] };

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
    await redriveDeadLetters(kafka, DLQ, { offsets: lettersAt(...letters.map((letter) => letter.dlqOffset)) });

    const done = await waitForSuccess(requestId);
    expect(done.error).toBeUndefined();
    expect(done.steps.map((step) => step.eventType)).toEqual(expect.arrayContaining(['upload-failed', 'image-stored', 'helm-chart-generated']));
    const view = await api<ImageView>(USER, `/v1/images/${imageUID}`);
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

describe('a stage that sets aside a message it can decode, running as its own Kafka user', () => {
  it('the validator: a name registry table that is not there fails the request, which succeeds once re-driven', async () => {
    const dlq = `${TOPICS.uploadRequested}.dlq`;
    await restartWith('image-validator', 'ORBIT_DEV_TABLE_SUFFIX', `-tbl-missing-${uniqueSuffix()}`);
    let requestId: string;
    let imageUID: string;
    try {
      const accepted = await uploadArchive(USER, readFileSync(image.ociArchive), { imageName: `validator-letter-${uniqueSuffix()}`, imageVersion: VERSION, port: 8080 });
      expect(accepted.status).toBe(202);
      ({ requestId, imageUID } = accepted.body);
      // Published by the validator under its own user: without its grant on orbit.pipeline.failed the request waits for ever.
      const failed = await finished(USER, requestId);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'DEAD_LETTERED' } });
      expect(failed.error?.message).toContain('image-validator');
      expect(failed.error?.message).toContain(dlq);
    } finally {
      await restartWith('image-validator', 'ORBIT_DEV_TABLE_SUFFIX', undefined);
    }
    // One letter, or more should a rebalance have the message handled again before its offset was committed.
    const letters = await lettersOf(dlq, 'image-validator', imageUID);
    expect(letters.length).toBeGreaterThanOrEqual(1);
    expect(letters[0]).toMatchObject({ originalTopic: TOPICS.uploadRequested, errorCode: 'ResourceNotFoundException' });
    await redriveDeadLetters(testKafka(), dlq, { offsets: lettersAt(...letters.map((letter) => letter.dlqOffset)) });
    expect((await waitForSuccess(requestId)).error).toBeUndefined();
    const view = await api<ImageView>(USER, `/v1/images/${imageUID}`);
    expect(view.body.versions).toMatchObject([{ imageVersion: VERSION, status: 'ready', environments: ['Development'] }]);
  }, 240_000);

  it('the projector: a row MariaDB refuses fails the request, and its ImageStored and chart re-driven in order project it', async () => {
    const imageName = `projector-letter-${uniqueSuffix()}`;
    const trigger = `orbit_e2e_refuse_${uniqueSuffix().replace(/\W/g, '_')}`;
    const mysql = createMysqlPool(testConfig.MYSQL_URL, 1);
    let requestId: string;
    let imageUID: string;
    try {
      // Only this test's image: every other upload goes through as usual.
      await mysql.query(
        `CREATE TRIGGER \`${trigger}\` BEFORE INSERT ON wp_image_uid FOR EACH ROW
         BEGIN IF NEW.image_name = ? THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the dead-letter e2e test'; END IF; END`.replace('?', mysql.escape(imageName)),
      );
      try {
        const accepted = await uploadArchive(USER, readFileSync(image.ociArchive), { imageName, imageVersion: VERSION, port: 8080 });
        expect(accepted.status).toBe(202);
        ({ requestId, imageUID } = accepted.body);
        // Published by the projector under its own user: without that grant the request waits for ever.
        const failed = await finished(USER, requestId);
        expect(failed).toMatchObject({ status: 'failed', error: { code: 'DEAD_LETTERED' } });
        expect(failed.error?.message).toContain('viewport-projector');
        expect(failed.error?.message).toContain(`${TOPICS.imageStored}.dlq`);
        // The chart that follows is set aside with its version instead of waiting for it.
        await waitFor(async () => (await lettersOf(`${TOPICS.chartGenerated}.dlq`, 'viewport-projector', imageUID)).length > 0, { timeoutMs: 60_000, what: "the projector's letter of the chart" });
      } finally {
        await mysql.query(`DROP TRIGGER IF EXISTS \`${trigger}\``);
      }
    } finally {
      await mysql.end();
    }
    const stored = await lettersOf(`${TOPICS.imageStored}.dlq`, 'viewport-projector', imageUID);
    expect(stored.length).toBeGreaterThanOrEqual(1);
    expect(stored[0]?.errorMessage).toContain('refused by the dead-letter e2e test');
    const kafka = testKafka();
    await redriveDeadLetters(kafka, `${TOPICS.imageStored}.dlq`, { offsets: lettersAt(...stored.map((letter) => letter.dlqOffset)) });
    await waitFor(async () => {
      const { status, body } = await api<ImageView>(USER, `/v1/images/${imageUID}`);
      return status === 200 && body.versions.some((version) => version.imageVersion === VERSION);
    }, { timeoutMs: 60_000, what: 'the re-driven ImageStored to be projected' });
    const chart = await lettersOf(`${TOPICS.chartGenerated}.dlq`, 'viewport-projector', imageUID);
    await redriveDeadLetters(kafka, `${TOPICS.chartGenerated}.dlq`, { offsets: lettersAt(...chart.map((letter) => letter.dlqOffset)) });
    expect((await waitForSuccess(requestId)).error).toBeUndefined();
    const view = await api<ImageView>(USER, `/v1/images/${imageUID}`);
    expect(view.body.versions).toMatchObject([{ imageVersion: VERSION, status: 'ready', environments: ['Development'] }]);
  }, 240_000);
});
