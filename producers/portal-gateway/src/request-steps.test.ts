import { describe, expect, it } from 'vitest';
import type { TimelineEntry } from './ports.js';
import { stepsSettled } from './request-steps.js';

const step = (eventType: string, status?: string): TimelineEntry => ({
  pid: 'p', eventType, at: '2026-11-30T10:00:00.000Z', correlationId: 'r', payload: status === undefined ? { any: 'thing' } : { status },
});

const uploadSteps = [step('upload-requested'), step('image-validated'), step('viewport-updated', 'running'), step('image-stored'), step('viewport-updated', 'running'), step('helm-chart-generated')];
const transferSteps = [step('transfer-requested'), step('transfer-initiated'), step('image-retrieved'), step('image-uploaded'), step('helm-chart-retrieved'), step('helm-chart-uploaded')];

describe('whether a finished request\'s steps are all in the event log', () => {
  it('waits for the ViewPort update that carried the final status', () => {
    expect(stepsSettled({ kind: 'upload', status: 'succeeded' }, uploadSteps)).toBe(false);
    expect(stepsSettled({ kind: 'upload', status: 'succeeded' }, [...uploadSteps, step('viewport-updated', 'succeeded')])).toBe(true);
    expect(stepsSettled({ kind: 'upload', status: 'failed' }, [step('upload-requested'), step('error')])).toBe(false);
    expect(stepsSettled({ kind: 'upload', status: 'failed' }, [step('upload-requested'), step('error'), step('viewport-updated', 'failed')])).toBe(true);
  });

  it('waits for image-transferred as well when a transfer succeeded (two rows of one message, written one by one)', () => {
    expect(stepsSettled({ kind: 'transfer', status: 'succeeded' }, [...transferSteps, step('viewport-updated', 'succeeded')])).toBe(false);
    expect(stepsSettled({ kind: 'transfer', status: 'succeeded' }, [...transferSteps, step('viewport-updated', 'succeeded'), step('image-transferred', 'succeeded')])).toBe(true);
  });

  it('has nothing to wait for while the request is still under way', () => {
    expect(stepsSettled({ kind: 'upload', status: 'running' }, [])).toBe(true);
  });
});
