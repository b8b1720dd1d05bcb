import type { S3Client } from '@aws-sdk/client-s3';
import type { RegistryAccess } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../../test/helpers/index.js';
import { pushMetrics } from './push-metrics.js';
import { pushIntoTargetRegistry } from './push-transferred.js';

describe('pushIntoTargetRegistry', () => {
  // Found by a reread: the upload's push counted this, the transfer's did not.
  it('counts a push refused for an environment registry that names no repository as a refused push', async () => {
    const request = sampleEvents()['orbit.transfer.requested'];
    const copied = { ...sampleEvents()['orbit.image.copied'], imageUID: request.imageUID, imageVersion: request.imageVersion, sourceEnvironment: 'Development', targetEnvironment: 'Testing' };
    const row = { imageUID: request.imageUID, imageVersion: request.imageVersion, imageName: 'app', username: 'dev1', bucket: 'development', key: 'k.tar', image: { manifestDigest: `sha256:${'a'.repeat(64)}` } };
    const registry = new Registry();
    const pushing = { prefix: 'localhost:5000/dev', access: {} as RegistryAccess, observe: pushMetrics(registry) };
    const outcome = await pushIntoTargetRegistry(copied, request, row, {
      s3: {} as S3Client, pushing,
      registryOf: (environment) => (environment === 'Testing' ? 'localhost:5000/NOT A PATH' : 'localhost:5000/dev'),
    }, quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'REGISTRY_PUSH_REFUSED' } });
    expect(await registry.metrics()).toContain('orbit_registry_pushes_total{outcome="refused"} 1');
  });
});
