/**
 * The image registry going away under uploads: a stored image must be
 * pullable by what its chart pins, so storing waits for the registry (nothing
 * recorded as stored, no chart, the request still running) and finishes once
 * it is back, with nothing dead-lettered.
 */
import { readFileSync } from 'node:fs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamo, ownerPathOf, tableName } from '@orbit/lib';
import { startPipeline, startService, stopPipeline, stopService } from '@orbit/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, finished, uploadArchive, type RequestView } from '../helpers/gateway.js';
import { buildImage, type BuiltImage } from '../helpers/images.js';
import { testConfig, testKafka, uniqueSuffix } from '../helpers/index.js';
import { deadLetterCount } from '../helpers/kafka-scan.js';
import { pullWithSkopeo } from '../helpers/registry.js';

const USER = `registry-outage-${uniqueSuffix()}`;
const VERSION = 'v1-0-00';
const dynamo = createDynamo(testConfig);
let image: BuiltImage;

beforeAll(async () => {
  image = buildImage({ name: 'orbit-e2e/registry-outage', tag: '1', exposedPort: '8080/tcp', layers: [{ files: { 'bin/app': 'app' } }] });
  await startPipeline(() => undefined);
}, 180_000);

afterAll(async () => {
  await startService('registry');
  await stopPipeline();
  image?.cleanup();
});

describe('the image registry away under uploads', () => {
  it('holds the upload before it is recorded as stored, then stores, pushes and charts it once the registry is back', async () => {
    const lettersBefore = await deadLetterCount(testKafka());
    expect(await stopService('registry')).toBe(true);
    let requestId: string;
    let imageUID: string;
    try {
      const accepted = await uploadArchive(USER, readFileSync(image.ociArchive), { imageName: `outage-${uniqueSuffix()}`, imageVersion: VERSION, port: 8080 });
      expect(accepted.status).toBe(202);
      ({ requestId, imageUID } = accepted.body);
      await new Promise((resolve) => setTimeout(resolve, 8000));
      const pending = await api<RequestView>(USER, `/v1/requests/${requestId}`);
      expect(pending.body.status).not.toBe('succeeded');
      expect(pending.body.status).not.toBe('failed');
      // Not stored yet as far as anyone can see: no image-stored step, no version in ViewPort.
      expect(pending.body.steps.map((step) => step.eventType)).not.toContain('image-stored');
      const row = await dynamo.send(new GetCommand({ TableName: tableName('appImageMetadata', testConfig), Key: { imageUID, imageVersion: VERSION } }));
      expect(row.Item, 'nothing is recorded as stored while its image cannot be pushed').toBeUndefined();
    } finally {
      await startService('registry');
    }
    const request = await finished(USER, requestId, 180_000);
    expect(request.status, JSON.stringify(request.error)).toBe('succeeded');
    const view = await api<{ versions: { digest: string; chartName: string }[] }>(USER, `/v1/images/${imageUID}`);
    const [version] = view.body.versions;
    expect(pullWithSkopeo(`${process.env['ORBIT_IMAGE_REGISTRY'] ?? ''}/${ownerPathOf(USER)}/${version?.chartName ?? ''}@${version?.digest ?? ''}`)).toBe(version?.digest);
    expect(await deadLetterCount(testKafka()), 'no message was dead-lettered while the registry was away').toBe(lettersBefore);
  }, 300_000);
});
