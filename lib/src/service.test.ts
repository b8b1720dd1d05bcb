import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, StoreUnavailableError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { retryPolicy } from './retry.js';
import { mysqlTarget } from './mysql-connection.js';
import { freePort } from '../../test/helpers/ports.js';
import {
  failureStreak, forcedExitCode, runMain, serveStartingHealth, serviceOfEntry, START_RETRY_POLICY, startFailureFields, StartProgress, StartWaitError, startConsumerService, untilConnected,
} from './service.js';

const quiet = createLogger({ service: 'test', level: 'silent' });
const fast = retryPolicy({ initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 5 });
/** An error as kafkajs makes it (only lib/src/kafka/client.ts imports kafkajs): its name, its fields. */
const kafkajsError = (name: string, message: string, fields: Record<string, unknown> = {}): Error => Object.assign(new Error(message), { name, retriable: false, ...fields });
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' });

describe('untilConnected', () => {
  it('waits out a broker that is not up yet and returns what the connect gave', async () => {
    let attempts = 0;
    const connected = await untilConnected('Kafka', async () => {
      attempts += 1;
      if (attempts < 3) throw refused();
      return 'producer';
    }, quiet, fast);
    expect(connected).toBe('producer');
    expect(attempts).toBe(3);
  });

  it('fails at once on an error no retry can fix, and gives up after the policy on one that never clears', async () => {
    let attempts = 0;
    await expect(untilConnected('Kafka', async () => { attempts += 1; throw new TypeError('topic orbit.x does not exist'); }, quiet, fast)).rejects.toThrow('does not exist');
    expect(attempts).toBe(1);
    await expect(untilConnected('Kafka', async () => { throw refused(); }, quiet, fast)).rejects.toMatchObject({ attempts: 5 });
  });
});

describe('startConsumerService', () => {
  it('reports what its configuration check finds before it connects to anything (a broker that never answers is not waited for)', async () => {
    const started = startConsumerService({
      service: 'checked', topics: [], schemas: new Map(),
      processEnv: { KAFKA_BROKERS: '127.0.0.1:9', MYSQL_URL: 'mysql://orbit:orbit@localhost:3306/viewport', MYSQL_TLS_CA_FILE: '/nowhere/ca.pem', LOG_LEVEL: 'silent' },
      checkConfig: (config) => { mysqlTarget(config); },
      createHandler: () => async () => undefined,
    });
    await expect(started).rejects.toMatchObject({ code: 'ORBIT_ERR_CONFIG', problems: ['MYSQL_TLS_CA_FILE: cannot read /nowhere/ca.pem (ENOENT)'] });
  }, 5_000);

  it('reports every bad variable at once: the variables, its own check and Kafka\'s connection, before it listens or connects', async () => {
    const progress = new StartProgress();
    const started = startConsumerService({
      service: 'checked', topics: [], schemas: new Map(), progress,
      processEnv: {
        LOG_LEVEL: 'verbose', KAFKA_BROKERS: '127.0.0.1:9', HEALTH_PORT: '0',
        MYSQL_URL: 'mysql://orbit:hunter2@db.example.com:3306/viewport?sslmode=require', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'orbit',
      },
      checkConfig: (config) => { mysqlTarget(config); },
      createHandler: () => async () => undefined,
    });
    const refused = await started.then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).problems).toEqual([
      expect.stringMatching(/^LOG_LEVEL: .*\(got "verbose"\)$/),
      expect.stringMatching(/^MYSQL_URL: \?sslmode is not read/),
      'KAFKA_SASL_PASSWORD: is missing: KAFKA_SASL_MECHANISM=scram-sha-512 needs a password',
    ]);
    expect((refused as ConfigError).message).not.toContain('hunter2');
    expect(progress.step).toBe('reading the configuration');
  }, 5_000);
});

const capture = (): { logger: Logger; lines: Record<string, unknown>[] } => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
  return { logger, lines };
};

describe('the start deadline', () => {
  it('gives up on a connect that hangs once the start has waited its time, naming what it waited for (not 30 attempts of a kafkajs connect with its own retries)', async () => {
    const progress = new StartProgress(100);
    const began = Date.now();
    const waited = untilConnected('Kafka (publisher)', () => new Promise<never>(() => undefined), quiet, START_RETRY_POLICY, progress);
    await expect(waited).rejects.toBeInstanceOf(StartWaitError);
    await expect(waited).rejects.toMatchObject({ code: 'ORBIT_ERR_RETRY_EXHAUSTED', what: 'Kafka (publisher)', message: expect.stringMatching(/^Kafka \(publisher\) did not answer within 0 s \(1 attempts\)$/) });
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(progress.step).toBe('connecting to Kafka (publisher)');
  });

  it('still gives a step reached after the start\'s time was spent one fair attempt: a dependency that answers is not failed against a 0 ms timer', async () => {
    const spent = new StartProgress(-1);
    await expect(untilConnected('Kafka (consumer group)', async () => { await new Promise((resolve) => setTimeout(resolve, 5)); return 'joined'; }, quiet, START_RETRY_POLICY, spent)).resolves.toBe('joined');
  });

  it('waits its time whatever the wall clock does: a step of the wall clock (time sync at boot) neither shortens nor stretches the start (found by a review: 10 s instead of 120 after a step forward)', async () => {
    const progress = new StartProgress(200);
    const wall = Date.now();
    // The step comes after the process began (its StartProgress made) and before it connects: 5 s back.
    const stepped = vi.spyOn(Date, 'now').mockImplementation(() => wall - 5_000);
    const began = performance.now();
    try {
      await expect(untilConnected('Kafka (publisher)', () => new Promise<never>(() => undefined), quiet, START_RETRY_POLICY, progress)).rejects.toBeInstanceOf(StartWaitError);
      expect(performance.now() - began).toBeLessThan(1_500);
    } finally {
      stepped.mockRestore();
    }
  }, 10_000);

  it('keeps the last error as the cause when the time runs out between attempts', async () => {
    const progress = new StartProgress(80);
    const slow = retryPolicy({ initialDelayMs: 30, maxDelayMs: 30, jitter: 0 });
    await expect(untilConnected('Kafka', async () => { throw refused(); }, quiet, slow, progress)).rejects.toMatchObject({ what: 'Kafka', cause: { code: 'ECONNREFUSED' } });
  });
});

describe('a consumer starting while Kafka is away', () => {
  it('answers /healthz 200 and /readyz 503 naming the step from the start, and fails within the start deadline', async () => {
    const port = await freePort();
    const progress = new StartProgress(2_500);
    const started = startConsumerService({
      service: 'waiting', topics: [], schemas: new Map(), progress,
      processEnv: { KAFKA_BROKERS: '127.0.0.1:9', HEALTH_HOST: '127.0.0.1', HEALTH_PORT: String(port), LOG_LEVEL: 'silent' },
      createHandler: () => async () => undefined,
    });
    const failed = started.then(() => 'started', (error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toEqual({ status: 'starting', step: 'connecting to Kafka (publisher)' });
    expect(await failed).toMatchObject({ code: 'ORBIT_ERR_RETRY_EXHAUSTED', what: 'Kafka (publisher)' });
    // Closed again on the failure: the port is free.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  }, 10_000);

  it('fails at once, naming the address, when the health port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const progress = new StartProgress();
    try {
      await expect(startConsumerService({
        service: 'clash', topics: [], schemas: new Map(), progress,
        processEnv: { KAFKA_BROKERS: '127.0.0.1:9', HEALTH_HOST: '127.0.0.1', HEALTH_PORT: String(port), LOG_LEVEL: 'silent' },
        createHandler: () => async () => undefined,
      })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(progress.step).toBe(`listening on 127.0.0.1:${port} (HEALTH_HOST, HEALTH_PORT)`);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});

describe('runMain', () => {
  const harness = (start: () => Promise<{ stop(): Promise<void>; logger: Logger }>, progress = new StartProgress()) => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    const { logger, lines } = capture();
    runMain(start, { signals, progress, exit: (code) => { exits.push(code); }, fallbackLogger: () => logger });
    return { signals, exits, lines, progress, logger };
  };
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('stops a start still waiting at the first SIGTERM, exit 0, with a line naming the step', async () => {
    const { signals, exits, lines, progress } = harness(() => new Promise(() => undefined));
    progress.step = 'connecting to Kafka (publisher)';
    signals.emit('SIGTERM', 'SIGTERM');
    expect(exits).toEqual([0]);
    expect(lines).toEqual([expect.objectContaining({ level: 'info', signal: 'SIGTERM', step: 'connecting to Kafka (publisher)', msg: 'stopped while starting' })]);
  });

  it('stops once on SIGINT as on SIGTERM, and a second signal while stopping forces the exit with 128 + its number', async () => {
    let stops = 0;
    const { logger: serviceLogger } = capture();
    const { signals, exits, lines } = harness(async () => ({ logger: serviceLogger, stop: () => { stops += 1; return new Promise<void>(() => undefined); } }));
    await tick();
    signals.emit('SIGINT', 'SIGINT');
    signals.emit('SIGTERM', 'SIGTERM');
    expect(stops).toBe(1);
    expect(exits).toEqual([143]);
    expect(lines).toEqual([expect.objectContaining({ level: 'error', signal: 'SIGTERM', exitCode: 143, msg: 'forced exit: a second signal came while stopping' })]);
    expect(forcedExitCode('SIGINT')).toBe(130);
  });

  it('exits 0 once the stop is done', async () => {
    const { logger: serviceLogger } = capture();
    const { signals, exits } = harness(async () => ({ logger: serviceLogger, stop: async () => undefined }));
    await tick();
    signals.emit('SIGTERM', 'SIGTERM');
    await tick();
    expect(exits).toEqual([0]);
  });

  it('logs a failed start as one JSON line naming the step and the code, the stack only in err', async () => {
    const taken = Object.assign(new Error('listen EADDRINUSE: address already in use 0.0.0.0:9101'), { code: 'EADDRINUSE' });
    const progress = new StartProgress();
    const { exits, lines } = harness(async () => {
      progress.step = 'listening on 0.0.0.0:9101 (HEALTH_HOST, HEALTH_PORT)';
      throw taken;
    }, progress);
    await tick();
    await tick();
    expect(exits).toEqual([1]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'fatal', step: 'listening on 0.0.0.0:9101 (HEALTH_HOST, HEALTH_PORT)', code: 'EADDRINUSE',
      msg: 'failed to start while listening on 0.0.0.0:9101 (HEALTH_HOST, HEALTH_PORT): listen EADDRINUSE: address already in use 0.0.0.0:9101',
      err: { message: 'listen EADDRINUSE: address already in use 0.0.0.0:9101', stack: expect.stringContaining('Error: listen EADDRINUSE') },
    });
  });

  it('lists a configuration problem one line per variable on stderr for the operator, and also as one JSON fatal line with ORBIT_ERR_CONFIG', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const problems = ['LOG_LEVEL: Invalid option (got "verbose")', 'MYSQL_URL: ?sslmode is not read'];
      const { exits, lines } = harness(async () => { throw new ConfigError(problems); });
      await tick();
      await tick();
      expect(exits).toEqual([1]);
      expect(stderr.mock.calls).toEqual([['invalid configuration:\n  - LOG_LEVEL: Invalid option (got "verbose")\n  - MYSQL_URL: ?sslmode is not read']]);
      expect(lines).toEqual([expect.objectContaining({
        level: 'fatal', code: 'ORBIT_ERR_CONFIG', step: 'reading the configuration', problems,
        msg: 'failed to start while reading the configuration: invalid configuration: LOG_LEVEL: Invalid option (got "verbose"); MYSQL_URL: ?sslmode is not read',
      })]);
      expect(lines[0]).not.toHaveProperty('err');
    } finally {
      stderr.mockRestore();
    }
  });

  it('gives a start Kafka refused (a wrong SASL password) the code of a store that refused the service, ORBIT_ERR_STORE_UNAVAILABLE', async () => {
    const progress = new StartProgress();
    const { exits, lines } = harness(async () => {
      progress.step = 'connecting to Kafka (publisher)';
      throw kafkajsError('KafkaJSSASLAuthenticationError', 'SASL PLAIN authentication failed: Authentication failed: Invalid username or password');
    }, progress);
    await tick();
    await tick();
    expect(exits).toEqual([1]);
    expect(lines).toEqual([expect.objectContaining({
      level: 'fatal', step: 'connecting to Kafka (publisher)', code: 'ORBIT_ERR_STORE_UNAVAILABLE',
      msg: 'failed to start while connecting to Kafka (publisher): SASL PLAIN authentication failed: Authentication failed: Invalid username or password',
      err: expect.objectContaining({ name: 'KafkaJSSASLAuthenticationError' }) as unknown,
    })]);
  });

  it('codes every failed start: ours as they are, a Kafka protocol refusal as a store\'s, another error by its own code or name', () => {
    const code = (error: unknown): string => startFailureFields(new StartProgress(), error).code;
    expect(code(kafkajsError('KafkaJSProtocolError', 'Not authorized to access topics: [Topic authorization failed]', { type: 'TOPIC_AUTHORIZATION_FAILED', code: 29 }))).toBe('ORBIT_ERR_STORE_UNAVAILABLE');
    expect(code(new StartWaitError('Kafka (publisher)', 120_000, 30, new Error('connect ECONNREFUSED')))).toBe('ORBIT_ERR_RETRY_EXHAUSTED');
    expect(code(new StoreUnavailableError('MySQL', new Error('no answer')))).toBe('ORBIT_ERR_STORE_UNAVAILABLE');
    expect(code(refused())).toBe('ECONNREFUSED');
    expect(code(new TypeError('a bug'))).toBe('TypeError');
  });

  it('names a process by its entry\'s package when it has no logger yet', () => {
    expect(serviceOfEntry('/work/main/consumers/harbor-writer/dist/main.js')).toBe('harbor-writer');
    expect(serviceOfEntry(undefined)).toBe('orbit');
  });
});

describe('failureStreak', () => {
  it('logs a failure once per new reason, with the count, and once when it works again', () => {
    const { logger, lines } = capture();
    const streak = failureStreak(logger, { failed: 'sweep failed', recovered: 'sweep works again' });
    streak.succeeded();
    for (let sweep = 0; sweep < 5; sweep++) streak.failed(refused());
    streak.failed(Object.assign(new Error('no answer within 10000 ms'), { code: 'ORBIT_ERR_STORE_UNAVAILABLE' }));
    streak.succeeded();
    streak.succeeded();
    streak.failed(refused());
    expect(lines.map((line) => [line['level'], line['msg'], line['failures'], line['reason'] ?? line['lastReason']])).toEqual([
      ['warn', 'sweep failed', 1, 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9092'],
      ['warn', 'sweep failed', 6, 'ORBIT_ERR_STORE_UNAVAILABLE: no answer within 10000 ms'],
      ['info', 'sweep works again', 6, 'ORBIT_ERR_STORE_UNAVAILABLE: no answer within 10000 ms'],
      ['warn', 'sweep failed', 1, 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9092'],
    ]);
  });
});

// Found by a reread: the API's error body has `problems` on every answer; the starting gateway's 503 had none.
describe('serveStartingHealth', () => {
  it('answers an API request while starting 503 in the API\'s error shape, problems included', async () => {
    const progress = new StartProgress();
    const server = await serveStartingHealth(progress, { ready: () => false }, new Registry(), { host: '127.0.0.1', port: 0, names: 'HOST, PORT' });
    try {
      const answer = await fetch(`http://127.0.0.1:${server.port}/v1/images`);
      expect(answer.status).toBe(503);
      expect(await answer.json()).toEqual({ code: 'ORBIT_ERR_STORE_UNAVAILABLE', message: expect.stringMatching(/^starting \(/) as unknown, problems: [] });
    } finally {
      await server.close();
    }
  });
});
