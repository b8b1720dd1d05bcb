import type { S3Client } from '@aws-sdk/client-s3';
import type { RegistryAccess } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../../test/helpers/index.js';
import { pushMetrics } from './push-metrics.js';
import { sendValidatedImage } from './push-stored.js';

describe('sendValidatedImage', () => {
  it('counts a push refused for an ORBIT_IMAGE_REGISTRY that names no repository as a refused push', async () => {
    const event = sampleEvents()['orbit.image.validated'];
    const registry = new Registry();
    const pushing = { prefix: 'localhost:5000/NOT A PATH', access: {} as RegistryAccess, observe: pushMetrics(registry) };
    const sent = await sendValidatedImage(event, event.staging, { s3: {} as S3Client, pushing }, quietLogger);
    expect(sent).toMatchObject({ kind: 'refused', refusal: { reasonCode: 'REGISTRY_PUSH_REFUSED' } });
    expect(await registry.metrics()).toContain('orbit_registry_pushes_total{outcome="refused"} 1');
  });
});
