import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { buildApp } from './app.js';

describe('gateway health', () => {
  it('answers liveness always and readiness from its dependencies', async () => {
    let ready = false;
    const app = buildApp({ ready: async () => ready, metrics: new Registry() });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(503);
    ready = true;
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });
});
