import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamo, createPresigningS3, createS3, S3_CHECK_SILENCE_TIMEOUT_MS } from './aws.js';
import { readConfig } from './config.js';
import { s3PublicEndpointEnv } from './runtime-config.js';
import { describeError, errorCodeOf } from './error-description.js';
import { isRetriable } from './retry-classifier.js';

/** An endpoint that takes the connection and never answers: a store shutting down, a black-holed network. */
const sockets: Socket[] = [];
const silent = createServer((socket) => { sockets.push(socket); });
let endpoint = '';
/** An endpoint that refuses every request with a bare 400, as S3 answers a HEAD of a bucket name it refuses. */
const refusing = createHttpServer((request, response) => { request.resume(); response.writeHead(400, { 'x-amz-request-id': 'REQ123' }).end(); });
let refusingEndpoint = '';

beforeAll(async () => {
  process.env['AWS_ACCESS_KEY_ID'] ??= 'test';
  process.env['AWS_SECRET_ACCESS_KEY'] ??= 'test';
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  refusingEndpoint = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  await new Promise((resolve) => refusing.close(resolve));
});

describe('errors of the clients createS3 and createDynamo make', () => {
  const settings = () => ({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: refusingEndpoint, AWS_ENDPOINT_URL_DYNAMODB: refusingEndpoint, S3_FORCE_PATH_STYLE: true });
  const failureOf = (promise: Promise<unknown>) => promise.then(() => { throw new Error('expected a refusal'); }, (caught: unknown) => caught);

  it('say which S3 call and object a bare refusal was for, so an operator knows what to fix', async () => {
    const s3 = createS3(settings());
    const head = await failureOf(s3.send(new HeadObjectCommand({ Bucket: 'Bad_Bucket', Key: 'img-v1.tar' })));
    expect(errorCodeOf(head)).toBe('HTTP_400');
    expect(describeError(head)).toBe('HeadObject s3://Bad_Bucket/img-v1.tar: HTTP 400 Bad Request, without an error body [request REQ123]');
    const copy = await failureOf(s3.send(new CopyObjectCommand({ Bucket: 'test-bkt', Key: 'img-v1.tar', CopySource: 'dev-bkt/img-v1.tar?versionId=v%201' })));
    expect(describeError(copy)).toMatch(/^CopyObject s3:\/\/test-bkt\/img-v1\.tar from dev-bkt\/img-v1\.tar\?versionId=v 1: /);
  });

  it('say which DynamoDB call and table(s), for the document client too', async () => {
    const dynamo = createDynamo(settings());
    expect(describeError(await failureOf(dynamo.send(new GetCommand({ TableName: 'metadata', Key: { id: 'x' } }))))).toMatch(/^Get(Item)? metadata: /);
    const batch = await failureOf(dynamo.send(new BatchWriteCommand({ RequestItems: { events: [{ PutRequest: { Item: { id: 'x' } } }], steps: [{ PutRequest: { Item: { id: 'y' } } }] } })));
    expect(describeError(batch)).toMatch(/^BatchWrite(Item)? events, steps: /);
  });
});

describe('createDynamo', () => {
  it('gives up on a DynamoDB that never answers, with an error the consume loop retries, instead of holding the partition', async () => {
    const dynamo = createDynamo({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: endpoint, AWS_ENDPOINT_URL_DYNAMODB: endpoint, S3_FORCE_PATH_STYLE: true }, 300);
    const started = Date.now();
    const error = await dynamo.send(new GetCommand({ TableName: 't', Key: { id: 'x' } })).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeDefined();
    expect(isRetriable(error)).toBe(true);
    // Two attempts (maxAttempts 2) of 300 ms each, and the SDK's short backoff between them.
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('an S3 client of a command that only looks (S3_CHECK_SILENCE_TIMEOUT_MS)', () => {
  it('gives up on an S3 that takes the connection and never answers within a minute, naming the call and object (found by a review: dry runs sat silent for twenty)', async () => {
    const s3 = createS3({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: endpoint, AWS_ENDPOINT_URL_DYNAMODB: endpoint, S3_FORCE_PATH_STYLE: true }, S3_CHECK_SILENCE_TIMEOUT_MS);
    const started = Date.now();
    const error = await s3.send(new HeadObjectCommand({ Bucket: 'images', Key: 'img-v1.tar' })).then(() => undefined, (caught: unknown) => caught);
    expect(describeError(error)).toMatch(/^HeadObject s3:\/\/images\/img-v1\.tar: TimeoutError/);
    // Two attempts of S3_CHECK_SILENCE_TIMEOUT_MS each: the command says so well within a minute.
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 45_000);
});

describe('an S3 client\'s silence (createS3\'s silenceTimeoutMs): the socket\'s idle time, not a deadline (found by a reread)', () => {
  /** An S3 that takes a PUT's body as it comes and answers 200, and answers a GET with its headers and 64 KiB of its 1 MiB, then nothing. */
  async function haltingS3(): Promise<{ endpoint: string; close: () => Promise<void> }> {
    const server = createHttpServer((request, response) => {
      if (request.method === 'PUT') {
        request.resume();
        request.once('end', () => response.writeHead(200, { etag: '"e"' }).end());
        return;
      }
      response.writeHead(200, { 'content-length': String(1024 * 1024), 'content-type': 'application/octet-stream' });
      response.write(Buffer.alloc(64 * 1024));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => { server.closeAllConnections(); return new Promise((resolve) => server.close(() => resolve())); },
    };
  }

  /** `chunks` of 64 KiB, one each `everyMs`: a body coming steadily over a slow link. */
  async function* slowly(chunks: number, everyMs: number): AsyncGenerator<Buffer> {
    for (let i = 0; i < chunks; i++) {
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      yield Buffer.alloc(64 * 1024, i);
    }
  }

  it('lets a PUT whose body flows steadily for longer than the silence finish, and fails a GET whose body stops half way within it', async () => {
    const halting = await haltingS3();
    try {
      const s3 = createS3({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: halting.endpoint, AWS_ENDPOINT_URL_DYNAMODB: halting.endpoint, S3_FORCE_PATH_STYLE: true, S3_CHECKSUMS: 'off' }, 1_500);
      const started = Date.now();
      // 20 chunks, one each 200 ms: 4 s of upload, never 1.5 s without a byte (a deadline of 1.5 s cut it).
      await s3.send(new PutObjectCommand({ Bucket: 'staging', Key: 'part', Body: Readable.from(slowly(20, 200)), ContentLength: 20 * 64 * 1024 }));
      expect(Date.now() - started).toBeGreaterThan(3_000);
      const { Body } = await s3.send(new GetObjectCommand({ Bucket: 'staging', Key: 'archive' }));
      const halted = Date.now();
      const error = await Body?.transformToByteArray().then(() => undefined, (caught: unknown) => caught);
      expect(String(error)).toMatch(/TimeoutError|timed out|inactivity/);
      expect(Date.now() - halted).toBeLessThan(6_000);
    } finally {
      await halting.close();
    }
  }, 30_000);
});

describe('S3_CHECKSUMS', () => {
  /** The headers each call would send, caught before it leaves (nothing goes over the network). */
  type S3 = ReturnType<typeof createS3>;
  async function headersSent(checksums: 'sha256' | 'off' | undefined, call: (s3: S3) => Promise<unknown>): Promise<string[]> {
    const s3 = createS3({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', S3_FORCE_PATH_STYLE: true, ...(checksums ? { S3_CHECKSUMS: checksums } : {}) });
    let seen: string[] = [];
    s3.middlewareStack.add((next) => async (args) => {
      seen = Object.keys((args.request as { headers: Record<string, string> }).headers).map((name) => name.toLowerCase()).filter((name) => name.includes('checksum')).sort();
      void next;
      throw new Error('caught');
    }, { step: 'finalizeRequest', priority: 'low', name: 'testCatchHeaders' });
    await call(s3).catch(() => undefined);
    return seen;
  }

  it('sends no checksum header when off (Backblaze B2 answers 400 to each), and the ones Orbit asks for by default', async () => {
    const head = (s3: S3) => s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k', ChecksumMode: 'ENABLED' }));
    const put = (s3: S3) => s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: Buffer.from('chart'), ChecksumSHA256: Buffer.alloc(32).toString('base64') }));
    const copy = (s3: S3) => s3.send(new CopyObjectCommand({ Bucket: 'b', Key: 'k', CopySource: 'a/k', ChecksumAlgorithm: 'SHA256' }));
    const upload = (s3: S3) => s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: Buffer.from('staged bytes') }));
    expect(await headersSent(undefined, head)).toEqual(['x-amz-checksum-mode']);
    expect(await headersSent('sha256', put)).toContain('x-amz-checksum-sha256');
    expect(await headersSent('sha256', copy)).toContain('x-amz-checksum-algorithm');
    expect(await headersSent('sha256', upload)).toContain('x-amz-checksum-crc32');
    for (const call of [head, put, copy, upload]) expect(await headersSent('off', call)).toEqual([]);
  });
});

describe('createPresigningS3 with ORBIT_S3_PUBLIC_ENDPOINT (found by a browser-portal review: URLs named the gateway\'s own 127.0.0.1:9000)', () => {
  const settings = { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000', S3_FORCE_PATH_STYLE: true };
  const endpointOf = async (client: ReturnType<typeof createS3>): Promise<string> => {
    const endpoint = await client.config.endpoint?.();
    return endpoint === undefined ? 'none' : `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path}`;
  };

  it('presigns for the public address, while the client that calls S3 keeps AWS_ENDPOINT_URL_S3', async () => {
    const gateway = { ...settings, ...readConfig(s3PublicEndpointEnv, { ORBIT_S3_PUBLIC_ENDPOINT: 'https://S3.example.com/' }) };
    expect(await endpointOf(createPresigningS3(gateway))).toBe('https://s3.example.com/');
    expect(await endpointOf(createS3(gateway))).toBe('http://127.0.0.1:9000/');
  });

  it('signs no checksum mode into a download link when S3_CHECKSUMS=off, as the gateway\'s own client sends none (found by a reread: B2 refuses it)', async () => {
    const link = async (checksums: 'sha256' | 'off') => getSignedUrl(createPresigningS3({ ...settings, S3_CHECKSUMS: checksums }),
      new GetObjectCommand({ Bucket: 'b', Key: 'k', ResponseContentDisposition: 'attachment; filename="a.tar"' }), { expiresIn: 60 });
    expect(await link('off')).not.toContain('x-amz-checksum-mode');
    expect(await link('sha256')).toContain('x-amz-checksum-mode=ENABLED');
  });

  it('presigns for AWS_ENDPOINT_URL_S3, as before, when it is unset', async () => {
    expect(await endpointOf(createPresigningS3({ ...settings, ...readConfig(s3PublicEndpointEnv, {}) }))).toBe('http://127.0.0.1:9000/');
  });
});
