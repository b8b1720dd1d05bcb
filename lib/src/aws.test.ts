import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamo } from './aws.js';
import { isRetriable } from './retry-classifier.js';

/** An endpoint that takes the connection and never answers: a store shutting down, a black-holed network. */
const sockets: Socket[] = [];
const silent = createServer((socket) => { sockets.push(socket); });
let endpoint = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('createDynamo', () => {
  it('gives up on a DynamoDB that never answers, with an error the consume loop retries, instead of holding the partition', async () => {
    process.env['AWS_ACCESS_KEY_ID'] ??= 'test';
    process.env['AWS_SECRET_ACCESS_KEY'] ??= 'test';
    const dynamo = createDynamo({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: endpoint, AWS_ENDPOINT_URL_DYNAMODB: endpoint, S3_FORCE_PATH_STYLE: true }, 300);
    const started = Date.now();
    const error = await dynamo.send(new GetCommand({ TableName: 't', Key: { id: 'x' } })).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeDefined();
    expect(isRetriable(error)).toBe(true);
    // Two attempts (maxAttempts 2) of 300 ms each, and the SDK's short backoff between them.
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
