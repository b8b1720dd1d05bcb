import { DecodeError, newImageUID, TOPICS } from '@orbit/lib';
import { DEAD_LETTERED, deadLetterFailure, sampleEvents, type ImageCopied } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import type { ChartStore } from './chart-store.js';
import { promoteChart, type PromoteDeps } from './promote.js';
import type { ChartPushOutcome } from './push-chart.js';

const digest = `sha256:${'a'.repeat(64)}`;

/** What promoteChart asked of the store and the registries: a forged event must ask nothing. */
function recordingDeps(): { deps: PromoteDeps; calls: string[] } {
  const calls: string[] = [];
  const store: ChartStore = {
    putObject: (key) => { calls.push(`putObject ${key}`); return Promise.reject(new Error('no write expected')); },
    getObject: (location) => { calls.push(`getObject ${location.key}`); return Promise.reject(new Error('no read expected')); },
    putRow: (table) => { calls.push(`putRow ${table}`); return Promise.reject(new Error('no write expected')); },
    getRow: (table) => { calls.push(`getRow ${table}`); return Promise.resolve(undefined); },
  };
  const pushChart = (_chart: unknown, registryPrefix: string): Promise<ChartPushOutcome> => {
    calls.push(`pushChart ${registryPrefix}`);
    return Promise.reject(new Error('no push expected'));
  };
  const deps: PromoteDeps = {
    store, tableOf: (environment) => `kustomize-${environment.toLowerCase()}`, baseTable: 'base-kustomize', pushChart,
    registry: 'localhost:5000/orbit', environmentRegistries: new Map([['Testing', 'registry-testing.example.com/orbit-testing']]),
  };
  return { deps, calls };
}

function copiedTo(imageReference: string | null): ImageCopied {
  const event = sampleEvents(newImageUID(), crypto.randomUUID())['orbit.image.copied'];
  return { ...event, imageReference, imageTag: imageReference === null ? null : `${imageReference.slice(0, imageReference.lastIndexOf('@'))}:v1-0-00` };
}

describe('promoteChart and the registry an ImageCopied names', () => {
  it('refuses one under no configured registry as an event no Orbit service writes, contacting nothing (found by a review: a forged ImageCopied had the Testing chart pushed to, and pinning, any host)', async () => {
    const { deps, calls } = recordingDeps();
    const forged = copiedTo(`registry.example.com/orbit/dev1/billing-api@${digest}`);
    const refused = await promoteChart(forged, deps).then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(DecodeError);
    expect(refused).toMatchObject({ code: 'ORBIT_ERR_DECODE', retriable: false, topic: TOPICS.imageCopied });
    expect(String((refused as DecodeError).cause)).toContain('imageReference "registry.example.com/orbit/dev1/billing-api@');
    expect(calls).toEqual([]);
    // Dead-lettered, the transfer fails with a reason code rather than waiting for ever.
    expect(deadLetterFailure({ topic: TOPICS.imageCopied, message: { event: forged }, error: refused }, 'chart-generator'))
      .toMatchObject({ flow: 'transfer', stage: 'chart-generator', reasonCode: DEAD_LETTERED, requestId: forged.requestId, targetEnvironment: 'Testing' });
  });

  it('refuses a look-alike of a configured registry: another port, a longer host, a sibling path', async () => {
    for (const reference of [`localhost:5001/orbit/dev1/app@${digest}`, `registry-testing.example.com.evil.example/orbit-testing/app@${digest}`, `registry-testing.example.com/orbit-testing-evil/app@${digest}`]) {
      const { deps, calls } = recordingDeps();
      await expect(promoteChart(copiedTo(reference), deps), reference).rejects.toMatchObject({ code: 'ORBIT_ERR_DECODE' });
      expect(calls, reference).toEqual([]);
    }
  });

  it('goes on with one under ORBIT_IMAGE_REGISTRY or an ORBIT_ENVIRONMENT_REGISTRIES registry, or naming none', async () => {
    for (const reference of [`registry-testing.example.com/orbit-testing/dev1/billing-api@${digest}`, `localhost:5000/orbit/dev1/billing-api@${digest}`, null]) {
      const { deps, calls } = recordingDeps();
      // No chart row in this store: past the check, the transfer fails as it would for any image without a chart.
      expect(await promoteChart(copiedTo(reference), deps), String(reference)).toMatchObject({ kind: 'failed', event: { reasonCode: 'CHART_NOT_FOUND' } });
      expect(calls).toContain('getRow kustomize-development');
    }
  });
});
