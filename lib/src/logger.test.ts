import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _encoding, done) { chunks.push(chunk.toString()); done(); } });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('logger', () => {
  it('writes JSON with the service and context fields, and redacts secrets', () => {
    const out = capture();
    const log = createLogger({ service: 'svc', destination: out.stream });
    log.child({ component: 'c' }).info({ pid: 'p-e10', correlationId: 'r1', imageUID: 'u', headers: { authorization: 'Bearer abc' }, password: 'hunter2', config: { MYSQL_URL: 'mysql://u:pw@h/db' } }, 'hello');
    const [line] = out.lines();
    expect(line).toMatchObject({ service: 'svc', component: 'c', pid: 'p-e10', correlationId: 'r1', imageUID: 'u', level: 'info', msg: 'hello' });
    expect(JSON.stringify(line)).not.toMatch(/hunter2|Bearer abc|pw@h/);
  });

  it('names the host and the OS process on every line, so replicas can be told apart, leaving pid to Orbit', () => {
    const out = capture();
    const log = createLogger({ service: 'svc', destination: out.stream });
    log.child({ component: 'c' }).info({ pid: 'p-e10' }, 'hello');
    const [line] = out.lines();
    expect(line).toMatchObject({ service: 'svc', host: hostname(), processId: process.pid, pid: 'p-e10' });
  });
});
