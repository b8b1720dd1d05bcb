import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamo, newImageUID, tableName, TOPICS } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { eventLogRows } from '../../../../consumers/event-logger/src/event-row.js';
import { testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import type { ImageView } from '../ports.js';
import { dynamoEventLog } from '../stores/dynamo-events.js';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';

const dynamo = createDynamo(testConfig);
const table = tableName('userEventLog', testConfig);

describe('GET /v1/images/{uid}/events over the event log in DynamoDB Local: what a role holder sees of another user\'s image', () => {
  it('shows a release manager who did what, not the owner\'s e-mail, idempotency key or staging object; the owner sees them all', async () => {
    // 1. An upload of dev1's (Ada, with an Idempotency-Key) and rm1's promotion of it, logged as the event-logger logs them.
    const imageUID = newImageUID();
    const idempotencyKey = crypto.randomUUID();
    const events = sampleEvents(imageUID, `req-${uniqueSuffix()}`);
    const rm1 = { username: 'rm1', firstName: 'Rita', lastName: 'Manager', email: 'rita@example.com' };
    const logged = [
      { topic: TOPICS.uploadRequested, event: { ...events[TOPICS.uploadRequested], idempotencyKey, bodyDigest: { metadataSha256: 'a'.repeat(64), contentSha256: 'e'.repeat(64) } } },
      { topic: TOPICS.imageValidated, event: events[TOPICS.imageValidated] },
      { topic: TOPICS.imageStored, event: events[TOPICS.imageStored] },
      { topic: TOPICS.transferRequested, event: { ...events[TOPICS.transferRequested], actor: rm1 } },
      { topic: TOPICS.imageCopied, event: { ...events[TOPICS.imageCopied], actor: rm1 } },
    ];
    const rows = logged.flatMap(({ topic, event }, index) => eventLogRows({ ...event, occurredAt: Date.UTC(2026, 11, 6, 12, 0, index) }, { topic, partition: 0, offset: String(index) }));
    for (const row of rows) await dynamo.send(new PutCommand({ TableName: table, Item: { ...row } }));

    // 2. The version is in Staging, which a release manager reads.
    const image: ImageView = {
      imageUID, owner: 'dev1', imageName: 'billing-api', description: 'Billing', environments: ['Development', 'Testing', 'Staging'],
      versions: [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing', 'Staging'] }],
    };
    const app = routeTestGateway({
      uid: imageUID, image, events: dynamoEventLog(dynamo, table),
      transfers: {
        claims: { claim: async () => ({ requestId: 'r', status: null }), find: async () => undefined }, publish: { transferRefused: async () => undefined },
        policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Staging', 'release-manager'], ['Production', 'release-manager']]) },
      },
    });
    const read = async (user: string, roles: readonly string[] = []) => {
      const response = await app.inject({ url: `/v1/images/${imageUID}/events`, headers: { authorization: `Bearer ${await routeTestToken(user, roles)}` } });
      expect(response.statusCode).toBe(200);
      return (response.json() as { events: { eventType: string; payload: Record<string, unknown> }[] }).events;
    };

    // 3. The owner: every payload as logged.
    const owners = await read('dev1');
    const ownerText = JSON.stringify(owners);
    for (const whole of ['ada@example.com', idempotencyKey, '"staging":{"bucket":"temporary-app-image-1203-bkt-k8d-aws"', 'rita@example.com', '"bodyDigest"']) expect(ownerText).toContain(whole);

    // 4. Another release manager: the same events, who (by username), what and when, and what to deploy; nothing of the rest.
    const others = await read('rm2', ['release-manager']);
    expect(others.map((event) => event.eventType)).toEqual(owners.map((event) => event.eventType));
    const othersText = JSON.stringify(others);
    for (const hidden of ['ada@example.com', '"Ada"', idempotencyKey, '"staging"', '"bodyDigest"', '"uploadId"', 'rita@example.com', 'bucket', 'versionId']) expect(othersText).not.toContain(hidden);
    const upload = others.find((event) => event.eventType === 'upload-requested')?.payload;
    expect(upload).toMatchObject({ actor: { username: 'dev1' }, metadata: { imageName: 'billing-api', imageVersion: 'v1-0-00' }, sha256: 'e'.repeat(64) });
    expect(upload?.['actor']).toEqual({ username: 'dev1' });
    expect(others.find((event) => event.eventType === 'image-uploaded')?.payload).toMatchObject({
      actor: { username: 'rm1' }, targetEnvironment: 'Testing', imageReference: expect.stringMatching(/^registry-testing\.example\.com\/.+@sha256:/) as unknown,
    });

    // 5. The release manager who promoted it: their own record whole in their own steps, no one else's.
    const promoters = await read('rm1', ['release-manager']);
    expect(promoters.find((event) => event.eventType === 'transfer-requested')?.payload['actor']).toEqual(rm1);
    expect(JSON.stringify(promoters)).not.toContain('ada@example.com');
  });
});
