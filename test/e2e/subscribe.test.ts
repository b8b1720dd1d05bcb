/**
 * Services subscribing to the lifecycle topics: one written with Confluent's
 * Python client (nobody on the team wrote it; it knows the broker, the schema
 * registry and the topic names, nothing of Orbit's code) is refused by the
 * broker's ACLs until granted read on its topics, then follows a transfer
 * over SASL_SSL and decodes every event through the registry; and `npm run events:follow`
 * shows a person the same events as they happen.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stopPipeline, startPipeline } from '@orbit/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, tokenFor, uploadArchive, GATEWAY_URL } from '../helpers/gateway.js';
import { buildImage, type BuiltImage } from '../helpers/images.js';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type AclEntry } from '@orbit/lib';
import { testConfig, testKafka, uniqueSuffix } from '../helpers/index.js';

const execFileAsync = promisify(execFile);
const USER = `sub-${uniqueSuffix()}`;
/** Confluent's client, pinned; installed once into a cached virtualenv from PyPI. */
const PYTHON_CLIENT = 'confluent-kafka[avro]==2.16.1';
const VENV = join(homedir(), '.cache', 'orbit', 'python-subscriber');
const PYTHON = join(VENV, 'bin', 'python');
let image: BuiltImage;

async function pythonClient(): Promise<void> {
  const has = await execFileAsync(PYTHON, ['-c', 'import confluent_kafka.schema_registry.avro']).then(() => true, () => false);
  if (has) return;
  await execFileAsync('python3', ['-m', 'venv', VENV]);
  await execFileAsync(join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', PYTHON_CLIENT], { maxBuffer: 16 * 1024 * 1024 });
}

async function uploadedAndPromoted(name: string): Promise<{ imageUID: string; transferId: string }> {
  const accepted = await uploadArchive(USER, readFileSync(image.ociArchive), { imageName: name, imageVersion: 'v1-0-00', port: 8080 });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  expect((await finished(USER, accepted.body.requestId)).status).toBe('succeeded');
  const imageUID = accepted.body.imageUID;
  return { imageUID, transferId: await promoted(imageUID) };
}

async function promoted(imageUID: string): Promise<string> {
  const response = await fetch(`${GATEWAY_URL}/v1/images/${imageUID}/transfers`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor(USER)}` }, body: JSON.stringify({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }),
  });
  const answer = await response.json() as { requestId: string };
  expect(response.status, JSON.stringify(answer)).toBe(202);
  const requestId = String(answer.requestId);
  expect((await finished(USER, requestId)).status).toBe('succeeded');
  return requestId;
}

function subscriberAcls(principal: string, topics: readonly string[], group: string): AclEntry[] {
  const allow = { principal, host: '*', permissionType: AclPermissionTypes.ALLOW, resourcePatternType: ResourcePatternTypes.LITERAL };
  return [
    ...topics.flatMap((topic) => [AclOperationTypes.READ, AclOperationTypes.DESCRIBE].map((operation) => ({ ...allow, resourceType: AclResourceTypes.TOPIC, resourceName: topic, operation }))),
    { ...allow, resourceType: AclResourceTypes.GROUP, resourceName: group, operation: AclOperationTypes.READ },
  ];
}

const lines = (text: string): { topic: string; key: string; event: Record<string, unknown> }[] =>
  text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { topic: string; key: string; event: Record<string, unknown> });

beforeAll(async () => {
  image = buildImage({ name: 'orbit-e2e/subscribed', tag: '1', exposedPort: '8080/tcp', entrypoint: ['/bin/app'], layers: [{ files: { 'bin/app': 'app' } }] });
  await Promise.all([startPipeline(() => undefined), pythonClient()]);
}, 300_000);

afterAll(async () => {
  await stopPipeline();
  image?.cleanup();
});

describe('services subscribing to the lifecycle topics', () => {
  it('a service on Confluent\'s Python client follows a transfer over SASL_SSL once granted read on its topics, each event decoded through the registry', async () => {
    const { imageUID, transferId } = await uploadedAndPromoted(`py-${uniqueSuffix()}`);
    const topics = ['orbit.image.copied', 'orbit.chart.promoted', 'orbit.viewport.updated'];
    const group = `py-subscriber-${uniqueSuffix()}`;
    // The broker's SASL_SSL listener, as a user it knows but no ACL names yet: a subscriber of a team of its own.
    const [user, password] = (process.env['ORBIT_STACK_KAFKA_OUTSIDER'] ?? '').split(':') as [string, string];
    const subscribe = (timeoutSeconds: number) => execFileAsync(PYTHON, [
      join(import.meta.dirname, 'subscribers', 'lifecycle_subscriber.py'), '--bootstrap', process.env['ORBIT_STACK_KAFKA_SECURE_BROKERS'] ?? '', '--registry', testConfig.SCHEMA_REGISTRY_URL,
      '--sasl-ssl', process.env['ORBIT_STACK_KAFKA_CA_FILE'] ?? '', user, password,
      '--group', group, '--request', transferId, '--count', '3', '--timeout', String(timeoutSeconds), ...topics,
    ], { timeout: 90_000 });
    const refused = await subscribe(8).then(() => 'read the topics', (error: { stderr?: string }) => error.stderr ?? '');
    expect(refused).toMatch(/authorization failed/i);
    // What docs/events.md tells an operator to grant a subscriber: read and describe on its topics, read on its group.
    const grants = subscriberAcls(`User:${user}`, topics, group);
    const admin = testKafka().admin();
    await admin.connect();
    await admin.createAcls({ acl: grants });
    let stdout: string;
    try {
      ({ stdout } = await subscribe(60).catch((error: { stdout?: string; stderr?: string; killed?: boolean }) => {
        throw new Error(`the subscriber failed${error.killed ? ' (killed after 90 s)' : ''}: ${error.stderr ?? ''}\nit printed: ${error.stdout ?? ''}`, { cause: error });
      }));
    } finally {
      await admin.deleteAcls({ filters: grants });
      await admin.disconnect();
    }
    const events = lines(stdout);
    // Keyed by the image, each in its topic's order; across topics a subscriber gets them as its fetches return.
    expect(events.map((entry) => [entry.topic, entry.key, entry.event['pid']]).sort()).toEqual([
      ['orbit.chart.promoted', imageUID, 'c8bms18-c20bre30-e70'],
      ['orbit.image.copied', imageUID, 'c8bms18-c16bre09-e50'],
      ['orbit.viewport.updated', imageUID, 'c8bms30-c32bre03-e85'],
    ]);
    expect(events.find((entry) => entry.topic === 'orbit.chart.promoted')?.event).toMatchObject({ imageUID, correlationId: transferId, requestId: transferId, imageVersion: 'v1-0-00', sourceEnvironment: 'Development', targetEnvironment: 'Testing', actor: { username: USER } });
  }, 240_000);

  it('npm run events:follow prints what happens as it happens, one JSON line per event', async () => {
    const accepted = await uploadArchive(USER, readFileSync(image.ociArchive), { imageName: `follow-${uniqueSuffix()}`, imageVersion: 'v1-0-00', port: 8080 });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    expect((await finished(USER, accepted.body.requestId)).status).toBe('succeeded');
    const imageUID = accepted.body.imageUID;
    const follower = spawn(process.execPath, ['consumers/event-logger/dist/follow-cli.js', '--image', imageUID, '--count', '2', 'orbit.chart.promoted', 'orbit.image.copied'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    follower.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    follower.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => follower.on('exit', resolve));
    try {
      const deadline = Date.now() + 60_000;
      while (!stderr.includes('following') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stderr).toContain('following orbit.chart.promoted, orbit.image.copied (new events only)');
      // New events only: its place is taken when its group first fetches, just after joining.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const transferId = await promoted(imageUID);
      expect(await exited).toBe(0);
      const events = lines(stdout);
      expect(events.map((entry) => [entry.topic, entry.event['pid'], entry.event['correlationId']]).sort()).toEqual([
        ['orbit.chart.promoted', 'c8bms18-c20bre30-e70', transferId],
        ['orbit.image.copied', 'c8bms18-c16bre09-e50', transferId],
      ]);
    } finally {
      follower.kill();
    }
  }, 180_000);
});
