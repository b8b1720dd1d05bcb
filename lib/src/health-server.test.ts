import { networkInterfaces } from 'node:os';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { buildInfo } from './build-info.js';
import { StoreUnavailableError } from './errors.js';
import { buildHealthServer, checkWithin, combineReadiness, READINESS_CHECK_TIMEOUT_MS, readinessReasonOf, serveHealth } from './health-server.js';
import { runtimeEnv } from './runtime-config.js';

/** An address of this machine that is not loopback: where a kubelet probe or a Prometheus scrape comes from. */
const podAddress = Object.values(networkInterfaces()).flat().find((entry) => entry !== undefined && !entry.internal && entry.family === 'IPv4')?.address;

describe('serveHealth', () => {
  it.skipIf(podAddress === undefined)('answers probes and scrapes at the machine\'s own address with the default configuration', async () => {
    const health = await serveHealth({ ready: () => true }, new Registry(), readConfig(runtimeEnv, {}));
    try {
      const base = `http://${podAddress}:${health.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
    } finally {
      await health.close();
    }
  });

  it('keeps to loopback when HEALTH_HOST says so, on the HEALTH_PORT given', async () => {
    const probe = await serveHealth({ ready: () => true }, new Registry(), readConfig(runtimeEnv, {}));
    const port = probe.port;
    await probe.close();
    const health = await serveHealth({ ready: () => false }, new Registry(), readConfig(runtimeEnv, { HEALTH_HOST: '127.0.0.1', HEALTH_PORT: String(port) }));
    try {
      expect(health.port).toBe(port);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
      if (podAddress !== undefined) await expect(fetch(`http://${podAddress}:${port}/healthz`)).rejects.toThrow();
    } finally {
      await health.close();
    }
  });
});

describe('/readyz of a consumer', () => {
  it('names the check that failed and why, not a bare not-ready', async () => {
    const denied = Object.assign(new Error("Access denied for user 'orbit'@'10.0.3.7' (using password: YES)"), { code: 'ER_ACCESS_DENIED_ERROR' });
    const app = buildHealthServer({
      ready: async () => combineReadiness({ consuming: { up: true }, mysql: await checkWithin(async () => { throw new StoreUnavailableError('MySQL', denied); }) }),
    }, new Registry());
    const answer = await app.inject('/readyz');
    expect(answer.statusCode).toBe(503);
    expect(answer.json()).toEqual({
      status: 'not-ready',
      checks: {
        consuming: { up: true },
        mysql: { up: false, ms: expect.any(Number), error: "ORBIT_ERR_STORE_UNAVAILABLE: MySQL is unavailable <- ER_ACCESS_DENIED_ERROR: Access denied for user 'orbit'@'10.0.3.7' (using password: YES)" },
      },
    });
  });

  it('answers ready with its checks when all are up, and a bare answer as before', async () => {
    const reported = buildHealthServer({ ready: async () => combineReadiness({ consuming: { up: true } }, combineReadiness({ mysql: await checkWithin(async () => undefined) })) }, new Registry());
    const answer = await reported.inject('/readyz');
    expect([answer.statusCode, answer.json()]).toEqual([200, { status: 'ready', checks: { consuming: { up: true }, mysql: { up: true, ms: expect.any(Number) } } }]);
    const bare = buildHealthServer({ ready: () => false }, new Registry());
    expect((await bare.inject('/readyz')).json()).toEqual({ status: 'not-ready' });
  });

  it('gives a store that hangs READINESS_CHECK_TIMEOUT_MS, then says so, instead of holding the probe', async () => {
    const started = Date.now();
    const state = await checkWithin(() => new Promise(() => undefined));
    expect(state).toMatchObject({ up: false, error: `no answer within ${READINESS_CHECK_TIMEOUT_MS} ms` });
    expect(Date.now() - started).toBeLessThan(READINESS_CHECK_TIMEOUT_MS + 500);
  });

  it('names a consumer not in its group separately from a store that is away', () => {
    const report = combineReadiness({ consuming: { up: false, error: 'not consuming' } }, false);
    expect(report).toEqual({ ready: false, checks: { consuming: { up: false, error: 'not consuming' }, service: { up: false, error: 'not ready' } } });
  });
});

describe('readinessReasonOf', () => {
  it('tells an S3 answer without a body by its call and status, not UnknownError', () => {
    const forbidden = Object.assign(new Error('UnknownError'), { name: 'Forbidden', $metadata: { httpStatusCode: 403 }, awsCall: 'HeadBucket s3://orbit-staging' });
    expect(readinessReasonOf(forbidden)).toBe('HeadBucket s3://orbit-staging: HTTP 403 Forbidden without an error body');
  });

  it('follows an AggregateError of a connect to several addresses, and keeps to one short line', () => {
    const refused = new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:3306'), { code: 'ECONNREFUSED' })], '');
    Object.assign(refused, { code: 'ECONNREFUSED' });
    expect(readinessReasonOf(new StoreUnavailableError('MySQL', refused))).toBe('ORBIT_ERR_STORE_UNAVAILABLE: MySQL is unavailable <- ECONNREFUSED <- connect ECONNREFUSED ::1:3306');
    expect(readinessReasonOf(new Error('x'.repeat(5_000))).length).toBeLessThanOrEqual(400);
  });

  it('never repeats a password or secret a message quotes', () => {
    const reason = readinessReasonOf(new Error('cannot reach mysql://orbit:hunter2@db:3306/viewport (password=hunter2, secret=s3cr3t)'));
    expect(reason).not.toMatch(/hunter2|s3cr3t/);
    expect(reason).toContain('mysql://orbit:[redacted]@db:3306/viewport');
  });
});

describe('/healthz of a consumer', () => {
  it('says which build answers (the same as orbit_build_info), so an operator knows which upgrade notes apply', async () => {
    const app = buildHealthServer({ ready: () => true }, new Registry());
    const answer = await app.inject('/healthz');
    expect([answer.statusCode, answer.json()]).toEqual([200, { status: 'ok', build: buildInfo() }]);
    expect(buildInfo()).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), commit: expect.any(String), commitDate: expect.any(String) });
  });
});
