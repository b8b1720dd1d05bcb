import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, stackStatus, stopPipeline } from '@orbit/local-stack';

const SERVICES = ['portal-gateway', 'image-validator', 'chart-generator', 'harbor-writer', 'viewport-projector', 'event-logger'];

/** `npm start` leaves all six services healthy, and each stops cleanly on SIGTERM. */
describe('the pipeline on the local stack', () => {
  beforeAll(async () => {
    await startPipeline(() => undefined);
  });

  afterAll(async () => {
    await stopPipeline();
  });

  it('runs all six services, each ready and exposing metrics', async () => {
    const status = await stackStatus();
    for (const name of SERVICES) {
      const service = status.find((row) => row.name === name);
      expect(service?.state, name).toBe('healthy');
      const health = await fetch(`http://127.0.0.1:${service?.port}/healthz`);
      expect(health.status, name).toBe(200);
      const metrics = await fetch(`http://127.0.0.1:${service?.port}/metrics`);
      expect(await metrics.text(), name).toContain('process_cpu_user_seconds_total');
    }
  });

  it('stops every service gracefully on SIGTERM', async () => {
    const before = await stackStatus();
    await stopPipeline();
    const after = await stackStatus();
    for (const name of SERVICES) {
      expect(after.find((row) => row.name === name)?.state, name).toBe('down');
      const log = readFileSync(before.find((row) => row.name === name)?.log ?? '', 'utf8');
      // Each consumer logs its orderly shutdown (loop stopped, offsets committed, disconnected).
      if (name !== 'portal-gateway') expect(log, name).toContain('"msg":"service stopped"');
    }
  });
});
