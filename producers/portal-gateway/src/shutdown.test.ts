import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildApp } from './app.js';

describe('a gateway being stopped', () => {
  /** The answers on one keep-alive connection: a request held in flight while the gateway is stopped, then the next one. */
  async function answersAcrossStop(corsOrigins: readonly string[], nextHeaders: string): Promise<[string, string]> {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const app = buildApp({ ready: async () => { await held; return true; }, metrics: new Registry(), corsOrigins });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let askedAgain = false;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      // A keep-alive client sends its next request as soon as the first is answered, on the same connection.
      if (!askedAgain && received.includes('"status"')) {
        askedAgain = true;
        socket.write(`GET /readyz HTTP/1.1\r\nHost: gateway\r\n${nextHeaders}\r\n`);
      }
    });
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /readyz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = app.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await Promise.all([closed, ended]);
    const [first = '', second = ''] = received.split(/(?=HTTP\/1\.1 )/);
    return [first, second];
  }

  it('finishes the request in flight, then answers the next one on that connection 503 ORBIT_ERR_SHUTTING_DOWN with Retry-After and Connection: close (found by a probe: a bare Fastify 503)', async () => {
    const [first, second] = await answersAcrossStop([], '');
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(second).toMatch(/\r\nconnection: close\r\n/i);
    expect(second).toContain('"code":"ORBIT_ERR_SHUTTING_DOWN"');
  });

  it('answers a portal\'s script that 503 with the CORS headers it needs to read it (a browser showed "Failed to fetch")', async () => {
    const [, second] = await answersAcrossStop(['https://portal.example.com'], 'Origin: https://portal.example.com\r\n');
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toMatch(/\r\naccess-control-allow-origin: https:\/\/portal\.example\.com\r\n/i);
    expect(second).toMatch(/\r\nx-content-type-options: nosniff\r\n/i);
  });
});
