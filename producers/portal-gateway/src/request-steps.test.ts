import { describe, expect, it } from 'vitest';
import { entryOfStep, pidOf, type Step } from '@orbit/lib';
import type { TimelineEntry } from './ports.js';
import { onceEach, stepsSettled } from './request-steps.js';

const step = (name: Step, payload: Record<string, unknown> = {}): TimelineEntry => ({
  pid: pidOf(name), eventType: entryOfStep(name).eventType, at: '2026-11-30T10:00:00.000Z', correlationId: 'r', payload: { eventId: `id-${name}`, ...payload },
});
const viewportUpdated = (status: string): TimelineEntry => step('viewportUpdated', { status });
const without = (steps: readonly TimelineEntry[], name: Step): TimelineEntry[] => steps.filter((entry) => entry.pid !== pidOf(name));

const uploadSteps = [step('uploadRequested'), step('imageValidated'), viewportUpdated('running'), step('imageStored'), viewportUpdated('running'), step('helmChartGenerated')];
const transferSteps = [step('transferRequested'), step('transferInitiated'), step('imageRetrieved'), step('imageUploaded'), step('helmChartRetrieved'), step('helmChartUploaded')];

describe('whether a finished request\'s steps are all in the event log', () => {
  it('waits for the ViewPort update that carried the final status', () => {
    expect(stepsSettled({ kind: 'upload', status: 'succeeded' }, uploadSteps)).toBe(false);
    expect(stepsSettled({ kind: 'upload', status: 'succeeded' }, [...uploadSteps, viewportUpdated('succeeded')])).toBe(true);
  });

  it('waits for every step of a succeeded upload, not only the last: the event log writes topics independently', () => {
    for (const name of ['uploadRequested', 'imageValidated', 'imageStored', 'helmChartGenerated'] as const) {
      expect(stepsSettled({ kind: 'upload', status: 'succeeded' }, [...without(uploadSteps, name), viewportUpdated('succeeded')])).toBe(false);
    }
  });

  it('waits for all seven steps of a succeeded transfer, both rows of a two-step message included', () => {
    const done = [...transferSteps, viewportUpdated('succeeded'), step('imageTransferred')];
    expect(stepsSettled({ kind: 'transfer', status: 'succeeded' }, done)).toBe(true);
    for (const name of ['transferRequested', 'transferInitiated', 'imageRetrieved', 'imageUploaded', 'helmChartRetrieved', 'helmChartUploaded', 'imageTransferred'] as const) {
      expect(stepsSettled({ kind: 'transfer', status: 'succeeded' }, without(done, name)), name).toBe(false);
    }
  });

  it('waits for a failure\'s own row, the event it names as failed and the request\'s first step', () => {
    const stored = step('imageStored');
    const failure = step('uploadFailed', { stage: 'chart', failedEventId: 'id-imageStored' });
    const failed = [step('uploadRequested'), step('imageValidated'), stored, failure, viewportUpdated('failed')];
    expect(stepsSettled({ kind: 'upload', status: 'failed' }, failed)).toBe(true);
    expect(stepsSettled({ kind: 'upload', status: 'failed' }, without(failed, 'uploadFailed'))).toBe(false);
    expect(stepsSettled({ kind: 'upload', status: 'failed' }, without(failed, 'imageStored'))).toBe(false);
    expect(stepsSettled({ kind: 'upload', status: 'failed' }, without(failed, 'uploadRequested'))).toBe(false);
    expect(stepsSettled({ kind: 'upload', status: 'failed' }, failed.slice(0, 4))).toBe(false);
    const rejected = [step('uploadRequested'), step('imageRejected', { stage: 'validate' }), viewportUpdated('failed')];
    expect(stepsSettled({ kind: 'upload', status: 'failed' }, rejected)).toBe(true);
  });

  it('expects no first step of a transfer the gateway refused', () => {
    const refused = [step('transferFailed', { stage: 'request', failedEventId: null }), viewportUpdated('failed')];
    expect(stepsSettled({ kind: 'transfer', status: 'failed' }, refused)).toBe(true);
  });

  it('has nothing to wait for while the request is still under way', () => {
    expect(stepsSettled({ kind: 'upload', status: 'running' }, [])).toBe(true);
  });
});

describe('a request\'s steps as shown', () => {
  it('shows a step a stage published again under the same eventId once (a broker stall before its commit), and keeps distinct events of one step', () => {
    const again = { ...step('imageValidated'), at: '2026-11-30T10:00:31.000Z' };
    const shown = onceEach([...uploadSteps, again, { ...viewportUpdated('running'), payload: { eventId: 'another', status: 'running' } }]);
    expect(shown.filter((entry) => entry.pid === pidOf('imageValidated'))).toEqual([step('imageValidated')]);
    // Two ViewPort updates with ids of their own are two steps.
    expect(shown.filter((entry) => entry.pid === pidOf('viewportUpdated'))).toHaveLength(2);
    // A message's row and the step row it implies share its eventId but not its PID: both shown.
    expect(onceEach([step('transferRequested', { eventId: 'x' }), step('transferInitiated', { eventId: 'x' })])).toHaveLength(2);
  });
});
