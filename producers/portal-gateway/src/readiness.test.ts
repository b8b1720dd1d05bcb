import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { readinessOf } from './readiness.js';

const never = (): Promise<unknown> => new Promise(() => undefined);

describe('readinessOf', () => {
  it('is ready while every dependency it cannot serve without answers, and names each one that does not', async () => {
    const registry = new Registry();
    let mysqlAway = false;
    const ready = readinessOf([
      { name: 'mysql', gates: true, check: async () => { if (mysqlAway) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' }); } },
      { name: 's3', gates: false, check: never },
    ], 50, registry);
    const first = await ready();
    expect(first.ready).toBe(true);
    expect(first.dependencies['mysql']).toMatchObject({ up: true, gates: true });
    expect(first.dependencies['s3']).toMatchObject({ up: false, gates: false, error: 'no answer within 50 ms' });
    const metrics = await registry.metrics();
    expect(metrics).toContain('orbit_dependency_up{dependency="mysql"} 1');
    expect(metrics).toContain('orbit_dependency_up{dependency="s3"} 0');

    mysqlAway = true;
    const second = await ready();
    expect(second.ready).toBe(false);
    expect(second.dependencies['mysql']).toMatchObject({ up: false, error: 'connect ECONNREFUSED 127.0.0.1:3306' });
  });

  it('answers within its time even when a gating dependency hangs', async () => {
    const started = Date.now();
    const answer = await readinessOf([{ name: 'mysql', gates: true, check: never }], 100)();
    expect(answer.ready).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
