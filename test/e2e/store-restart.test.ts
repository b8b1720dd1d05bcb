/**
 * MySQL restarting under traffic, as a managed database's failover or a
 * host's restart does: while it is away the gateway answers 503
 * ORBIT_ERR_STORE_UNAVAILABLE with Retry-After (never a 500), nothing is
 * half accepted, every request accepted before it went finishes, the
 * consumers wait for it instead of dead-lettering, and a refused request
 * sent again once it is back succeeds. MySQL hanging (taking connections,
 * answering nothing) gets the same 503 within the gateway's deadline, not a
 * request held until it wakes.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pauseService, startPipeline, startService, stopPipeline, stopService } from '@orbit/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, finished, tokenFor, uploadArchive, GATEWAY_URL, type ApiAnswer, type Accepted } from '../helpers/gateway.js';
import { buildImage, type BuiltImage } from '../helpers/images.js';
import { testKafka, uniqueSuffix, waitFor } from '../helpers/index.js';
import { deadLetterCount } from '../helpers/kafka-scan.js';

const USER = `restart-${uniqueSuffix()}`;
const VERSION = 'v1-0-00';
let image: BuiltImage;
let archive: Buffer;

beforeAll(async () => {
  image = buildImage({ name: 'orbit-e2e/restart', tag: '1', exposedPort: '8080/tcp', entrypoint: ['/bin/app'], layers: [{ files: { 'bin/app': 'app' } }] });
  archive = readFileSync(image.ociArchive);
  await startPipeline(() => undefined);
}, 180_000);

afterAll(async () => {
  pauseService('mysql', false);
  await startService('mysql');
  await stopPipeline();
  image?.cleanup();
});

const upload = (name: string): Promise<ApiAnswer<Accepted>> => uploadArchive(USER, archive, { imageName: name, imageVersion: VERSION, port: 8080 });
const transfer = (imageUID: string): Promise<ApiAnswer<Accepted>> => api<Accepted>(USER, `/v1/images/${imageUID}/transfers`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ imageVersion: VERSION, transferEnvironment: 'Testing' }),
});

describe('MySQL restarting under traffic', () => {
  it('answers 503 with Retry-After while it is away and finishes every request it accepted', async () => {
    const seeds: string[] = [];
    for (const name of ['seed-a', 'seed-b', 'seed-c']) {
      const accepted = await upload(name);
      expect((await finished(USER, accepted.body.requestId)).status).toBe('succeeded');
      seeds.push(accepted.body.imageUID);
    }
    const lettersBefore = await deadLetterCount(testKafka());
    // Accepted a moment before MySQL goes: their consumers meet it gone on the way.
    const inFlight = await Promise.all([upload('in-flight-a'), upload('in-flight-b'), transfer(seeds[0]!), transfer(seeds[1]!)]);
    expect(inFlight.map((answer) => answer.status)).toEqual([202, 202, 202, 202]);

    expect(await stopService('mysql')).toBe(true);
    try {
      const refusedUpload = await upload('while-away');
      expect([refusedUpload.status, (refusedUpload.body as unknown as { code: string }).code]).toEqual([503, 'ORBIT_ERR_STORE_UNAVAILABLE']);
      const refusedTransfer = await fetch(`${GATEWAY_URL}/v1/images/${seeds[2]}/transfers`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor(USER)}` },
        body: JSON.stringify({ imageVersion: VERSION, transferEnvironment: 'Testing' }),
      });
      expect(refusedTransfer.status).toBe(503);
      expect(Number(refusedTransfer.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await startService('mysql');
    }

    for (const accepted of inFlight) expect((await finished(USER, accepted.body.requestId, 180_000)).status).toBe('succeeded');
    // Nothing of the refused upload was accepted: its name is free, and the same upload sent again succeeds.
    const again = await upload('while-away');
    expect(again.status).toBe(202);
    expect((await finished(USER, again.body.requestId)).status).toBe('succeeded');
    const retried = await transfer(seeds[2]!);
    expect(retried.status).toBe(202);
    expect((await finished(USER, retried.body.requestId)).status).toBe('succeeded');
    expect(await deadLetterCount(testKafka()), 'no message was dead-lettered while MySQL was away').toBe(lettersBefore);
  }, 420_000);

  it('answers 503 within its deadline while MySQL hangs, names it at /readyz, and goes on once it answers', async () => {
    const seeded = await upload('hang-seed');
    expect((await finished(USER, seeded.body.requestId)).status).toBe('succeeded');
    const timed = async <T>(work: Promise<T>): Promise<{ answer: T; seconds: number }> => {
      const started = Date.now();
      const answer = await work;
      return { answer, seconds: (Date.now() - started) / 1000 };
    };
    const readiness = async (): Promise<{ status: number; body: { dependencies?: Record<string, { up: boolean }> } }> => {
      const response = await fetch(`${GATEWAY_URL}/readyz`);
      return { status: response.status, body: await response.json() as { dependencies?: Record<string, { up: boolean }> } };
    };

    expect(pauseService('mysql', true)).toBe(true);
    try {
      // The gateway reuses a readiness answer for 1 s (READINESS_REUSE_MS): one from before the pause is waited out.
      const [listed, refused, ready] = await Promise.all([timed(api(USER, '/v1/images')), timed(upload('while-hung')), sleep(1_100).then(() => timed(readiness()))]);
      // The gateway's deadline is 10 s (ORBIT_MYSQL_ANSWER_TIMEOUT_SECONDS); a wait for a free connection adds at most as much.
      for (const { answer, seconds } of [listed, refused]) {
        expect([answer.status, (answer.body as unknown as { code: string }).code]).toEqual([503, 'ORBIT_ERR_STORE_UNAVAILABLE']);
        expect(seconds).toBeLessThan(25);
      }
      expect(ready.answer.status).toBe(503);
      expect(ready.seconds).toBeLessThan(2);
      expect(ready.answer.body.dependencies?.['mysql']?.up).toBe(false);
      expect(ready.answer.body.dependencies?.['s3']?.up).toBe(true);
    } finally {
      pauseService('mysql', false);
    }

    await waitFor(async () => (await readiness()).status === 200, { timeoutMs: 30_000, what: 'the gateway ready again' });
    // Nothing of the refused upload was accepted: sent again, it succeeds.
    const again = await upload('while-hung');
    expect(again.status).toBe(202);
    expect((await finished(USER, again.body.requestId)).status).toBe('succeeded');
  }, 240_000);
});
