import { networkInterfaces } from 'node:os';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { serveHealth } from './health-server.js';
import { runtimeEnv } from './runtime-config.js';

/** An address of this machine that is not loopback: where a kubelet probe or a Prometheus scrape comes from. */
const podAddress = Object.values(networkInterfaces()).flat().find((entry) => entry !== undefined && !entry.internal && entry.family === 'IPv4')?.address;

describe('serveHealth', () => {
  it.skipIf(podAddress === undefined)('answers probes and scrapes at the machine\'s own address with the default configuration', async () => {
    const health = await serveHealth({ ready: () => true }, new Registry(), readConfig(runtimeEnv, {}));
    try {
      const base = `http://${podAddress}:${health.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
    } finally {
      await health.close();
    }
  });

  it('keeps to loopback when HEALTH_HOST says so, on the HEALTH_PORT given', async () => {
    const probe = await serveHealth({ ready: () => true }, new Registry(), readConfig(runtimeEnv, {}));
    const port = probe.port;
    await probe.close();
    const health = await serveHealth({ ready: () => false }, new Registry(), readConfig(runtimeEnv, { HEALTH_HOST: '127.0.0.1', HEALTH_PORT: String(port) }));
    try {
      expect(health.port).toBe(port);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
      if (podAddress !== undefined) await expect(fetch(`http://${podAddress}:${port}/healthz`)).rejects.toThrow();
    } finally {
      await health.close();
    }
  });
});
