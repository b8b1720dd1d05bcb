import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { problemsReport } from './problems.js';

describe('problemsReport', () => {
  let dir: string;
  const saved = process.env['ORBIT_STACK_DIR'];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orbit-problems-'));
    process.env['ORBIT_STACK_DIR'] = dir;
  });

  afterEach(() => {
    if (saved === undefined) delete process.env['ORBIT_STACK_DIR'];
    else process.env['ORBIT_STACK_DIR'] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('names every service, gives each pipeline service its problems since the tests began from its own log, and the free disk', async () => {
    mkdirSync(join(dir, 'logs'));
    const line = (time: string, level: string, msg: string): string => JSON.stringify({ level, time, service: 'harbor-writer', msg });
    writeFileSync(join(dir, 'logs', 'harbor-writer.log'), [
      line('2026-12-02T08:00:00.000Z', 'error', 'before the tests'),
      line('2026-12-02T08:10:00.000Z', 'error', 'consumer replaced by a new one: it fetched nothing for 31 s with no handler running'),
      line('2026-12-02T08:10:05.000Z', 'info', 'replacement consumer running'),
    ].join('\n'));
    const report = await problemsReport(Date.parse('2026-12-02T08:05:00.000Z'));
    // Its state depends on what runs on this machine; what its log says does not.
    expect(report).toMatch(/^harbor-writer: (not )?running, 1 errors and 0 warnings logged\n {4}\d\d:10:00\.000 error consumer replaced by a new one/m);
    expect(report).toMatch(/^ {4}last: \d\d:10:05\.000 info replacement consumer running$/m);
    // A service with no log yet is reported with nothing logged.
    expect(report).toMatch(/^event-logger: (not )?running, 0 errors and 0 warnings logged$/m);
    for (const name of ['kafka', 's3', 'dynamodb', 'mysql', 'portal-gateway', 'viewport-projector']) expect(report).toMatch(new RegExp(`^${name}: `, 'm'));
    expect(report).toMatch(new RegExp(`^free disk under ${dir.replaceAll('/', '\\/')}: \\d+\\.\\d GiB$`, 'm'));
  }, 30_000);
});
