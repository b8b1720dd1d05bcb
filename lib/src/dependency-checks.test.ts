import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../test/helpers/memory-logger.js';
import { freePort } from '../../test/helpers/ports.js';
import { dependencyReadiness, DEPENDENCY_REUSE_MS, pushRegistryChecks, registryCheck, schemaRegistryCheck, shownReasonOf, type DependencyCheck } from './dependency-checks.js';
import { StoreUnavailableError } from './errors.js';
import { buildHealthServer, combineReadiness } from './health-server.js';
import { SchemaBehindError } from './schema-migrations.js';

const never = (): Promise<unknown> => new Promise(() => undefined);
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 10.0.3.7:9000'), { code: 'ECONNREFUSED' });

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let at = 0;
  return { now: () => at, advance: (ms) => { at += ms; } };
}

/** The health server as startConsumerService wires it: consuming and the dependencies in one round, and the spec's own. */
function consumerHealth(checks: readonly DependencyCheck[], registry: Registry, options: Parameters<typeof dependencyReadiness>[2] = {}): ReturnType<typeof buildHealthServer> {
  const dependencies = dependencyReadiness([{ name: 'kafka', shownAs: 'consuming', gates: true, check: async () => undefined }, ...checks], registry, options);
  return buildHealthServer({ ready: async () => combineReadiness((await dependencies()).checks) }, registry);
}

describe('a consumer\'s dependency checks', () => {
  it('names a store that is down in /readyz with a reason that quotes no host, reads 0 in orbit_dependency_up, and stays ready (S3 does not gate)', async () => {
    const registry = new Registry();
    const app = consumerHealth([
      { name: 's3', gates: false, check: async () => { throw Object.assign(new TypeError('fetch failed: http://orbit:hunter2@10.0.3.7:9000'), { cause: refused() }); } },
      { name: 'dynamodb', gates: false, check: async () => undefined },
    ], registry);
    const answer = await app.inject('/readyz');
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({
      status: 'ready',
      checks: {
        consuming: { up: true, gates: true, ms: expect.any(Number) },
        s3: { up: false, gates: false, ms: expect.any(Number), error: 'ECONNREFUSED (connection refused)' },
        dynamodb: { up: true, gates: false, ms: expect.any(Number) },
      },
    });
    expect(answer.body).not.toMatch(/10\.0\.3\.7|hunter2|orbit:/);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toContain('orbit_dependency_up{dependency="s3"} 0');
    expect(metrics).toContain('orbit_dependency_up{dependency="dynamodb"} 1');
    expect(metrics).toContain('orbit_dependency_up{dependency="kafka"} 1');
  });

  it('is not ready while a gating dependency (the schema registry) is down, and says which and why', async () => {
    const registry = new Registry();
    const app = consumerHealth([{ name: 'schema-registry', gates: true, check: async () => { throw new StoreUnavailableError('schema-registry', refused()); } }], registry);
    const answer = await app.inject('/readyz');
    expect(answer.statusCode).toBe(503);
    expect(answer.json()).toMatchObject({
      status: 'not-ready',
      checks: { 'schema-registry': { up: false, gates: true, error: 'ORBIT_ERR_STORE_UNAVAILABLE <- ECONNREFUSED (connection refused)' } },
    });
    expect((await app.inject('/metrics')).body).toContain('orbit_dependency_up{dependency="schema-registry"} 0');
  });

  it('gives a check that hangs its time, then says so', async () => {
    const started = Date.now();
    const answer = await dependencyReadiness([{ name: 'dynamodb', gates: false, check: never }], undefined, { timeoutMs: 50 })();
    expect(answer.checks['dynamodb']).toMatchObject({ up: false, error: 'no answer within 50 ms' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('asks each store once for 100 probes and scrapes at the same time, and not again within a second', async () => {
    const registry = new Registry();
    const clock = manualClock();
    let calls = 0;
    let down = false;
    const ready = dependencyReadiness([{ name: 's3', gates: false, check: async () => { calls += 1; if (down) throw refused(); } }], registry, { now: clock.now });
    await Promise.all([...Array.from({ length: 100 }, () => ready()), registry.metrics(), registry.metrics()]);
    expect(calls).toBe(1);
    down = true;
    clock.advance(DEPENDENCY_REUSE_MS - 1);
    await Promise.all([ready(), registry.metrics()]);
    expect(calls).toBe(1);
    clock.advance(1);
    // A scrape alone refreshes the gauge.
    expect(await registry.metrics()).toContain('orbit_dependency_up{dependency="s3"} 0');
    expect(calls).toBe(2);
  });

  it('logs the full reason (readinessReasonOf: with its words, secrets redacted) once per new reason, and once when the store answers again', async () => {
    const { logger, lines } = memoryLogger();
    const clock = manualClock();
    let failure: Error | undefined = refused();
    const ready = dependencyReadiness([{ name: 's3', gates: false, check: async () => { if (failure) throw failure; } }], undefined, { now: clock.now, logger });
    for (let round = 0; round < 3; round++, clock.advance(DEPENDENCY_REUSE_MS)) await ready();
    failure = undefined;
    await ready();
    expect(lines.map((line) => [line['msg'], line['dependency'], line['reason'] ?? line['lastReason']])).toEqual([
      ['a dependency did not answer the readiness check', 's3', 'connect ECONNREFUSED 10.0.3.7:9000'],
      ['a dependency answers the readiness check again', 's3', 'connect ECONNREFUSED 10.0.3.7:9000'],
    ]);
  });
});

describe('shownReasonOf', () => {
  it('keeps codes and HTTP statuses, never a driver\'s words', () => {
    const denied = Object.assign(new Error("User: arn:aws:iam::123456789012:user/orbit is not authorized to perform: dynamodb:DescribeTable"), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    expect(shownReasonOf(denied)).toBe('AccessDeniedException HTTP 400 Bad Request');
    expect(shownReasonOf(denied)).not.toContain('123456789012');
    // An S3 HEAD's answer without a body: the SDK names it by its status.
    expect(shownReasonOf(Object.assign(new Error('UnknownError'), { name: '403', $metadata: { httpStatusCode: 403 } }))).toBe('HTTP 403 Forbidden');
    expect(shownReasonOf(Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }))).toBe('NoSuchBucket HTTP 404 Not Found');
    expect(shownReasonOf(new StoreUnavailableError('MySQL', Object.assign(new Error("Access denied for user 'orbit'@'10.0.3.7'"), { code: 'ER_ACCESS_DENIED_ERROR' }))))
      .toBe('ORBIT_ERR_STORE_UNAVAILABLE <- ER_ACCESS_DENIED_ERROR');
    expect(shownReasonOf(new Error('something at db.internal:3306'))).toBe('failed (the reason is in the log)');
    expect(shownReasonOf(new SchemaBehindError(['0042_search']))).toBe('ORBIT_ERR_SCHEMA_BEHIND: the MySQL database lacks migration 0042_search of this build: run `npm run provision`');
  });
});

describe('registryCheck', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });
  const registryAnswering = async (status: number): Promise<{ host: string; asked: string[] }> => {
    const asked: string[] = [];
    const server = createServer((request, response) => {
      asked.push(`${request.method} ${request.url} ${request.headers.authorization ?? '-'}`);
      response.writeHead(status, status === 401 ? { 'www-authenticate': 'Bearer realm="https://auth.example/token",service="registry"' } : {}).end('{}');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
  };

  it('takes 200 and 401 (a registry that wants a token: Harbor, ECR) as up, asking GET /v2/ without credentials', async () => {
    for (const status of [200, 401]) {
      const { host, asked } = await registryAnswering(status);
      const answer = await dependencyReadiness([registryCheck('image-registry', `${host}/orbit`, { insecure: new Set() })], undefined)();
      expect(answer.checks['image-registry']).toMatchObject({ up: true });
      expect(asked).toEqual(['GET /v2/ -']);
    }
  });

  it('says what a registry answered otherwise, and names one with nothing listening', async () => {
    const { host } = await registryAnswering(503);
    const closed = `127.0.0.1:${await freePort()}`;
    const answer = await dependencyReadiness(pushRegistryChecks({
      ORBIT_IMAGE_REGISTRY: `${host}/orbit`, ORBIT_ENVIRONMENT_REGISTRIES: new Map([['Testing', `${closed}/orbit-testing`], ['Staging', `${host}/orbit-staging`]]), ORBIT_INSECURE_REGISTRIES: new Set(),
    }), undefined)();
    expect(answer.checks).toEqual({
      'image-registry': { up: false, gates: false, ms: expect.any(Number), error: 'GET /v2/ answered HTTP 503 Service Unavailable' },
      'image-registry-testing': { up: false, gates: false, ms: expect.any(Number), error: 'ECONNREFUSED (connection refused)' },
    });
    expect(answer.ready).toBe(true);
  });
});

describe('schemaRegistryCheck', () => {
  it('asks the registry at every round, not an id kept from before, and says a refused connection as one (the client calls it HTTP 400)', async () => {
    const clock = manualClock();
    const asked: string[] = [];
    let answer: () => Promise<number> = async () => 7;
    const ready = dependencyReadiness([schemaRegistryCheck({ getLatestSchemaId: (subject) => { asked.push(subject); return answer(); } }, 'orbit.image-stored')], undefined, { now: clock.now });
    expect((await ready()).ready).toBe(true);
    // What @kafkajs/confluent-schema-registry throws when nothing listens: status 400, the network error in its words.
    answer = async () => { throw Object.assign(new Error('Confluent_Schema_Registry - Error, status 400: connect ECONNREFUSED 10.0.3.7:8081'), { name: 'ResponseError', status: 400 }); };
    clock.advance(DEPENDENCY_REUSE_MS);
    const down = await ready();
    expect(down).toMatchObject({ ready: false, checks: { 'schema-registry': { up: false, gates: true, error: 'ECONNREFUSED (connection refused)' } } });
    answer = async () => { throw Object.assign(new Error("Confluent_Schema_Registry - Subject 'orbit.image-stored-value' not found."), { name: 'ResponseError', status: 404 }); };
    clock.advance(DEPENDENCY_REUSE_MS);
    expect((await ready()).checks['schema-registry']?.error).toBe('subject orbit.image-stored-value is not registered (HTTP 404)');
    expect(asked).toEqual(['orbit.image-stored-value', 'orbit.image-stored-value', 'orbit.image-stored-value']);
  });
});
