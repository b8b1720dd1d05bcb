import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketNames, createS3, PullRefusedError, sha256Of } from '@orbit/lib';
import { sampleEvents, type UploadRequested } from '@orbit/schemas';
import { testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { pulledKeyOf, stageReference } from '../stage-reference.js';

const LAYER_BYTES = 64 * 1024 * 1024;
const layerDigest = `sha256:${'ab'.repeat(32)}`;
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Of(config), size: config.length },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: LAYER_BYTES }],
}));

/**
 * A registry whose one layer comes at 40 KiB/s: above the 8 KiB/s each
 * 30 s window asks of a blob, so only a deadline on the whole pull ends it
 * (the review's drip.mjs). `layerClosed` settles when the validator closed
 * the layer's connection.
 */
function drippingRegistry(): { server: Server; layerClosed: Promise<number> } {
  let closed: (sent: number) => void = () => undefined;
  const layerClosed = new Promise<number>((resolve) => { closed = resolve; });
  const server = createServer((request, response) => {
    const url = request.url ?? '';
    if (url.endsWith('/manifests/1') || url.endsWith(`/manifests/${sha256Of(manifest)}`)) {
      response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': sha256Of(manifest), 'content-length': manifest.length });
      response.end(manifest);
    } else if (url.endsWith('/manifests/silent')) {
      // Takes the request and never answers: the deadline, not the 30 s answer timeout, ends it.
    } else if (url.endsWith(sha256Of(config))) {
      response.writeHead(200, { 'content-length': config.length });
      response.end(config);
    } else if (url.endsWith(layerDigest)) {
      response.writeHead(200, { 'content-length': LAYER_BYTES });
      let sent = 0;
      const drip = setInterval(() => {
        response.write(Buffer.alloc(4096));
        sent += 4096;
      }, 100);
      response.on('close', () => {
        clearInterval(drip);
        closed(sent);
      });
    } else {
      // No referrers API, no referrer tags: the pull goes on to the blobs.
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{"errors":[{"code":"NAME_UNKNOWN"}]}');
    }
  });
  return { server, layerClosed };
}

let registry: ReturnType<typeof drippingRegistry>;
let address: string;

beforeAll(async () => {
  registry = drippingRegistry();
  registry.server.listen(0, '127.0.0.1');
  await once(registry.server, 'listening');
  address = `127.0.0.1:${(registry.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  registry.server.closeAllConnections();
  await new Promise((resolve) => registry.server.close(resolve));
});

describe('a pull by reference from a registry that drips its layer', () => {
  it('stops at the whole pull\'s deadline, closing the layer\'s connection, refused REGISTRY_ERROR naming the registry, and leaves nothing in staging (review: such a pull ran for days and held the partitions)', async () => {
    const s3 = createS3(testConfig);
    const stagingBucket = bucketNames(testConfig).staging;
    const requestId = `req-deadline-${uniqueSuffix()}`;
    const event: UploadRequested = { ...sampleEvents('M'.repeat(60), requestId)['orbit.upload.requested'], staging: null, source: 'REFERENCE', reference: `${address}/team/drip:1` };
    const started = Date.now();
    // 1. a deadline of 3 s (the image's 64 MiB at 1 GiB/s is shorter); 2. the pull, refused; 3. the registry's side and staging
    const staged = stageReference(event, {
      s3, stagingBucket, access: { insecure: new Set([address]), credentials: new Map() }, maxBytes: 1024 ** 3,
      pullDeadline: { minSeconds: 3, minBytesPerSecond: 1024 ** 3 },
    });
    const refusal = await staged.then(() => undefined, (error: unknown) => error);
    const tookMs = Date.now() - started;
    expect(refusal).toBeInstanceOf(PullRefusedError);
    expect(refusal).toMatchObject({ reasonCode: 'REGISTRY_ERROR' });
    expect((refusal as Error).message).toMatch(new RegExp(`^registry ${address.replaceAll('.', '\\.')} sent \\d+ bytes of the ${LAYER_BYTES + config.length} its manifests declare of ${address.replaceAll('.', '\\.')}/team/drip:1 in 3 s, and a pull must end within 3 s`));
    expect(tookMs).toBeGreaterThanOrEqual(2_900);
    expect(tookMs).toBeLessThan(10_000);
    const sent = await registry.layerClosed;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(LAYER_BYTES);

    const key = pulledKeyOf(event.actor.username, requestId);
    const head = await s3.send(new HeadObjectCommand({ Bucket: stagingBucket, Key: key })).then(() => 'there', (error: { name?: string }) => error.name);
    expect(head).toBe('NotFound');
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: stagingBucket, Prefix: key }));
    expect(uploads.Uploads ?? []).toEqual([]);
  }, 30_000);

  it('ends a request in flight at the deadline too (a manifest not answered), refused REGISTRY_ERROR rather than retried as an outage', async () => {
    const s3 = createS3(testConfig);
    const event: UploadRequested = { ...sampleEvents('M'.repeat(60), `req-deadline-${uniqueSuffix()}`)['orbit.upload.requested'], staging: null, source: 'REFERENCE', reference: `${address}/team/drip:silent` };
    const started = Date.now();
    const refusal = await stageReference(event, {
      s3, stagingBucket: bucketNames(testConfig).staging, access: { insecure: new Set([address]), credentials: new Map() }, maxBytes: 1024 ** 3,
      pullDeadline: { minSeconds: 2, minBytesPerSecond: 1024 ** 3 },
    }).then(() => undefined, (error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(refusal).toBeInstanceOf(PullRefusedError);
    expect(refusal).toMatchObject({ reasonCode: 'REGISTRY_ERROR', message: expect.stringMatching(new RegExp(`^registry ${address.replaceAll('.', '\\.')} sent 0 bytes of ${address.replaceAll('.', '\\.')}/team/drip:silent in 2 s, and a pull must end within 2 s`)) as unknown });
  }, 30_000);
});
