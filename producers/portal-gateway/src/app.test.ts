import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Writable } from 'node:stream';
import { createLogger } from '@orbit/lib';
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

  it('names which dependency is down to anyone, and what it said only in the log (a driver\'s words name hosts and accounts)', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
    const refused = "Access denied for user 'orbit'@'10.0.3.7' (using password: YES)";
    const app = buildApp({
      metrics: new Registry(), logger,
      ready: async () => ({ ready: false, dependencies: { mysql: { up: false, gates: true, ms: 3, error: refused }, s3: { up: true, gates: false, ms: 4 } } }),
    });
    for (let ask = 0; ask < 3; ask++) {
      const answer = await app.inject('/readyz');
      expect([answer.statusCode, answer.json()]).toEqual([503, { status: 'not-ready', dependencies: { mysql: { up: false, gates: true, ms: 3 }, s3: { up: true, gates: false, ms: 4 } } }]);
      expect(answer.body).not.toContain('10.0.3.7');
    }
    // Logged once while the reason stays the same, not at every probe.
    expect(lines.filter((line) => line['reason'] === refused)).toEqual([expect.objectContaining({ dependency: 'mysql', msg: 'a dependency did not answer the readiness check' })]);
  });
});

describe('gateway metrics', () => {
  it('counts answers by route template, method and status, and shows whether ViewPort is lost', async () => {
    const metrics = new Registry();
    let lost: readonly string[] = [];
    const app = buildApp({ ready: async () => true, metrics, projectionLost: () => lost });
    await app.inject('/healthz');
    await app.inject('/healthz');
    await app.inject('/v1/requests/3f1c9a');
    const scrape = async (): Promise<string> => (await app.inject('/metrics')).body;
    let text = await scrape();
    expect(text).toContain('orbit_http_requests_total{method="GET",route="/healthz",status="200"} 2');
    // No route matched: one series for every such URL, never the URL itself.
    expect(text).toContain('orbit_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).not.toContain('3f1c9a');
    expect(text).toMatch(/orbit_http_request_duration_seconds_count\{method="GET",route="\/healthz"\} 2/);
    expect(text).toContain('orbit_gateway_projection_lost 0');
    lost = ['orbit.image.stored/0'];
    text = await scrape();
    expect(text).toContain('orbit_gateway_projection_lost 1');
  });
});
