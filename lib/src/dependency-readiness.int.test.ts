import { afterAll, describe, expect, it } from 'vitest';
import { createTestTopics, testConfig, testKafka, uniqueSuffix, waitFor } from '../../test/helpers/index.js';
import { freePort } from '../../test/helpers/ports.js';
import { createDynamo, createS3 } from './aws.js';
import { EventCodec } from './codec.js';
import { dynamoCheck, s3Check } from './dependency-checks.js';
import { startConsumerService, type RunningService } from './service.js';
import { bucketEnv, tableName } from './stores.js';

// A consumer as the real ones are wired (startConsumerService, its spec's dependencies), against the local stack, with
// one store's endpoint at a port nothing listens on: found by an SRE review, a consumer said ready with S3 refused for
// 11 minutes, and one started during a schema registry outage said ready and could not decode.
const kafka = testKafka();
const topic = `fixr-ready-${uniqueSuffix()}`;
const schemas = new Map([[topic, { type: 'record', name: 'ReadyProbe', namespace: 'orbit.test', fields: [{ name: 'pid', type: 'string' }] }]]);
const services: RunningService[] = [];
const groups: string[] = [];

afterAll(async () => {
  await Promise.all(services.map((service) => service.stop()));
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
  await admin.deleteGroups(groups).catch(() => undefined);
  await admin.disconnect();
});

interface Readyz { readonly status: string; readonly checks: Record<string, { up: boolean; gates?: boolean; error?: string }> }

async function started(overrides: NodeJS.ProcessEnv): Promise<RunningService> {
  const service = `fixr-ready-${uniqueSuffix()}`;
  groups.push(service);
  const running = await startConsumerService({
    service, topics: [topic], schemas, env: bucketEnv,
    processEnv: { ...process.env, ORBIT_SERVICE: undefined, HEALTH_HOST: '127.0.0.1', HEALTH_PORT: '0', LOG_LEVEL: 'silent', ...overrides },
    createHandler: () => async () => undefined,
    dependencies: ({ config }) => [s3Check(createS3(config), config.ORBIT_BUCKET_STAGING), dynamoCheck(createDynamo(config), tableName('userEventLog', config))],
  });
  services.push(running);
  return running;
}

/** orbit_dependency_up of `dependency` as /metrics reads it (the registry labels every series with the service too). */
function gauge(metrics: string, dependency: string): number | undefined {
  const value = new RegExp(`^orbit_dependency_up\\{dependency="${dependency}",[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1];
  return value === undefined ? undefined : Number(value);
}

/** /readyz once the consumer has joined its group (consuming up), then /metrics. */
async function healthOf(running: RunningService): Promise<{ status: number; body: Readyz; metrics: string }> {
  const base = `http://127.0.0.1:${running.healthPort}`;
  return waitFor(async () => {
    const response = await fetch(`${base}/readyz`);
    const body = await response.json() as Readyz;
    if (body.checks?.['consuming']?.up !== true) return undefined;
    return { status: response.status, body, metrics: await (await fetch(`${base}/metrics`)).text() };
  }, { what: 'the consumer to join its group', timeoutMs: 60_000 });
}

describe('a consumer\'s /readyz against the local stack', () => {
  it('names S3 at an endpoint with nothing listening, with a reason quoting no address, and reads it 0 in orbit_dependency_up; stays ready (S3 does not gate)', async () => {
    await createTestTopics(kafka, [topic, `${topic}.dlq`]);
    // Provisioning registers the real topics' schemas; this test's own topic is registered here.
    await new EventCodec(testConfig.SCHEMA_REGISTRY_URL, schemas).schemaIdOf(topic);
    const closed = await freePort();
    const { status, body, metrics } = await healthOf(await started({ AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${closed}` }));
    expect(body.checks['s3']).toMatchObject({ up: false, gates: false, error: expect.stringContaining('ECONNREFUSED') });
    expect(body.checks['dynamodb']).toMatchObject({ up: true, gates: false });
    expect(body.checks['schema-registry']).toMatchObject({ up: true, gates: true });
    expect(JSON.stringify(body)).not.toContain(String(closed));
    expect(status).toBe(200);
    expect(gauge(metrics, 's3')).toBe(0);
    expect(gauge(metrics, 'dynamodb')).toBe(1);
    expect(gauge(metrics, 'kafka')).toBe(1);
    expect(gauge(metrics, 'schema-registry')).toBe(1);
  }, 90_000);

  it('is not ready, naming the schema registry, when started while it does not answer, and names DynamoDB at a closed port', async () => {
    const registryPort = await freePort();
    const dynamoPort = await freePort();
    const { status, body, metrics } = await healthOf(await started({
      SCHEMA_REGISTRY_URL: `http://127.0.0.1:${registryPort}/apis/ccompat/v7`, AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${dynamoPort}`,
    }));
    expect(status).toBe(503);
    expect(body.status).toBe('not-ready');
    expect(body.checks['schema-registry']).toMatchObject({ up: false, gates: true, error: 'ECONNREFUSED (connection refused)' });
    expect(body.checks['dynamodb']).toMatchObject({ up: false, gates: false, error: expect.stringContaining('ECONNREFUSED') });
    expect(JSON.stringify(body)).not.toMatch(new RegExp(`${registryPort}|${dynamoPort}`));
    expect(gauge(metrics, 'schema-registry')).toBe(0);
    expect(gauge(metrics, 'dynamodb')).toBe(0);
  }, 90_000);
});
