import { Writable } from 'node:stream';
import { createLogger, StoreUnavailableError, type Logger } from '@orbit/lib';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { readinessOf, READINESS_REUSE_MS } from './readiness.js';

const never = (): Promise<unknown> => new Promise(() => undefined);

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let at = 0;
  return { now: () => at, advance: (ms) => { at += ms; } };
}

/** A logger whose lines the test reads back, parsed. */
function loggedLines(): { lines: Record<string, unknown>[]; logger: Logger } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  return { lines, logger: createLogger({ service: 'test', destination }) };
}

/** A check that counts its calls and answers after a few milliseconds, or fails while `down` says so. */
function countedCheck(): { calls: () => number; check: () => Promise<unknown>; down: (error: unknown) => void } {
  let calls = 0;
  let failure: unknown;
  return {
    calls: () => calls,
    down: (error) => { failure = error; },
    check: async () => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (failure !== undefined) throw failure;
    },
  };
}

describe('readinessOf', () => {
  it('is ready while every dependency it cannot serve without answers, and names each one that does not', async () => {
    const registry = new Registry();
    const clock = manualClock();
    let mysqlAway = false;
    const ready = readinessOf([
      { name: 'mysql', gates: true, check: async () => { if (mysqlAway) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' }); } },
      { name: 's3', gates: false, check: never },
    ], 50, registry, { now: clock.now });
    const first = await ready();
    expect(first.ready).toBe(true);
    expect(first.dependencies['mysql']).toMatchObject({ up: true, gates: true });
    expect(first.dependencies['s3']).toMatchObject({ up: false, gates: false, error: 'no answer within 50 ms' });
    const metrics = await registry.metrics();
    expect(metrics).toContain('orbit_dependency_up{dependency="mysql"} 1');
    expect(metrics).toContain('orbit_dependency_up{dependency="s3"} 0');

    mysqlAway = true;
    clock.advance(READINESS_REUSE_MS);
    const second = await ready();
    expect(second.ready).toBe(false);
    expect(second.dependencies['mysql']).toMatchObject({ up: false, error: 'ECONNREFUSED (connection refused)' });
  });

  it('answers within its time even when a gating dependency hangs', async () => {
    const started = Date.now();
    const answer = await readinessOf([{ name: 'mysql', gates: true, check: never }], 100)();
    expect(answer.ready).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('asks each dependency once for 100 probes at the same time, and not again within a second', async () => {
    const clock = manualClock();
    const mysql = countedCheck();
    const s3 = countedCheck();
    const ready = readinessOf([{ name: 'mysql', gates: true, check: mysql.check }, { name: 's3', gates: false, check: s3.check }], 100, undefined, { now: clock.now });
    const answers = await Promise.all(Array.from({ length: 100 }, () => ready()));
    expect(answers.every((answer) => answer.ready)).toBe(true);
    expect([mysql.calls(), s3.calls()]).toEqual([1, 1]);

    clock.advance(READINESS_REUSE_MS - 1);
    await Promise.all(Array.from({ length: 100 }, () => ready()));
    expect([mysql.calls(), s3.calls()]).toEqual([1, 1]);

    // Once the answer is a second old, the next probe asks again; a dependency gone since is seen then.
    mysql.down(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' }));
    clock.advance(1);
    const later = await Promise.all(Array.from({ length: 100 }, () => ready()));
    expect([mysql.calls(), s3.calls()]).toEqual([2, 2]);
    expect(later.every((answer) => !answer.ready)).toBe(true);
  });

  it('refreshes orbit_dependency_up at each scrape when nothing probes /readyz, through the same cache', async () => {
    const registry = new Registry();
    const clock = manualClock();
    const kafka = countedCheck();
    readinessOf([{ name: 'kafka', gates: false, check: kafka.check }], 100, registry, { now: clock.now });
    expect(await registry.metrics()).toContain('orbit_dependency_up{dependency="kafka"} 1');
    expect(kafka.calls()).toBe(1);

    kafka.down(new Error('There is no leader for this topic-partition'));
    await Promise.all([registry.metrics(), registry.metrics(), registry.metrics()]);
    expect(kafka.calls()).toBe(1);
    clock.advance(READINESS_REUSE_MS);
    expect(await registry.metrics()).toContain('orbit_dependency_up{dependency="kafka"} 0');
    expect(kafka.calls()).toBe(2);
  });

  it('says what went wrong in codes, and logs the full reason with the cause a store wrapped, never the password', async () => {
    const { lines, logger } = loggedLines();
    const denied = Object.assign(new Error("Access denied for user 'orbit'@'10.0.3.7' (using password: YES)"), { code: 'ER_ACCESS_DENIED_ERROR' });
    // What the S3 SDK throws for a HEAD with a wrong secret: a 403 without a body, named UnknownError.
    const forbidden = Object.assign(new Error('UnknownError'), { name: '403', $metadata: { httpStatusCode: 403 }, awsCall: 'HeadBucket orbit-staging' });
    const leaky = new Error('connect to mysql://orbit:hunter2@db:3306/orbit failed');
    const answer = await readinessOf([
      { name: 'mysql', gates: true, check: async () => { throw new StoreUnavailableError('MySQL', denied); } },
      { name: 's3', gates: false, check: async () => { throw forbidden; } },
      { name: 'dynamodb', gates: false, check: async () => { throw leaky; } },
    ], 100, undefined, { logger })();
    expect(answer.dependencies['mysql']?.error).toBe('ORBIT_ERR_STORE_UNAVAILABLE <- ER_ACCESS_DENIED_ERROR');
    expect(answer.dependencies['s3']?.error).toBe('HTTP 403 Forbidden');
    expect(answer.dependencies['dynamodb']?.error).toBe('failed (the reason is in the log)');
    const reasons = Object.fromEntries(lines.map((line) => [line['dependency'], line['reason']]));
    expect(reasons).toEqual({
      mysql: "ORBIT_ERR_STORE_UNAVAILABLE: MySQL is unavailable <- ER_ACCESS_DENIED_ERROR: Access denied for user 'orbit'@'10.0.3.7' (using password: YES)",
      s3: 'HeadBucket orbit-staging: HTTP 403 Forbidden without an error body',
      dynamodb: expect.stringContaining('mysql://orbit:[redacted]@db:3306/orbit'),
    });
    expect(JSON.stringify([answer, lines])).not.toContain('hunter2');
  });

  it('logs a failure once with its reason while it lasts, and one line when the dependency answers again', async () => {
    const { lines, logger } = loggedLines();
    const clock = manualClock();
    const mysql = countedCheck();
    const ready = readinessOf([{ name: 'mysql', gates: true, check: mysql.check }], 100, undefined, { now: clock.now, logger });
    await ready();
    mysql.down(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' }));
    for (let round = 0; round < 3; round++) {
      clock.advance(READINESS_REUSE_MS);
      await ready();
    }
    mysql.down(undefined);
    for (let round = 0; round < 2; round++) {
      clock.advance(READINESS_REUSE_MS);
      await ready();
    }
    expect(lines.map((line) => [line['level'], line['msg'], line['dependency'], line['reason'] ?? line['lastReason']])).toEqual([
      ['warn', 'a dependency did not answer the readiness check', 'mysql', 'connect ECONNREFUSED 127.0.0.1:3306'],
      ['info', 'a dependency answers the readiness check again', 'mysql', 'connect ECONNREFUSED 127.0.0.1:3306'],
    ]);
  });

  it('logs a failure a metrics scrape saw, with no probe asking (a dependency lost between probes is in the log)', async () => {
    const registry = new Registry();
    const { lines, logger } = loggedLines();
    readinessOf([{ name: 's3', gates: false, check: async () => { throw new Error('socket hang up'); } }], 100, registry, { logger });
    expect(await registry.metrics()).toContain('orbit_dependency_up{dependency="s3"} 0');
    expect(lines.map((line) => [line['level'], line['dependency']])).toEqual([['warn', 's3']]);
  });
});
