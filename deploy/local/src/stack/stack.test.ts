import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatPidFile, probeProcess } from './pidfile.js';
import type { ServiceDefinition } from './services/index.js';
import { assertNoPipelineRunning, installServices } from './stack.js';
import { ensureAptPackage } from './install.js';
import { useTemporaryStackDir } from '../../../../test/helpers/stack-dir.js';

describe('npm test beside npm start', () => {
  const stackDir = useTemporaryStackDir('orbit-guard');

  it('goes ahead on a stack where no pipeline runs (a fresh clone, CI)', () => {
    expect(() => assertNoPipelineRunning()).not.toThrow();
  });

  it('refuses while a pipeline service of this stack folder runs, saying to stop it first', () => {
    mkdirSync(join(stackDir(), 'run'));
    const { startTime } = probeProcess(process.pid);
    writeFileSync(join(stackDir(), 'run', 'portal-gateway.pid'), formatPidFile(startTime === undefined ? { pid: process.pid } : { pid: process.pid, startTime }));
    expect(() => assertNoPipelineRunning()).toThrow(expect.objectContaining({
      code: 'ORBIT_ERR_STACK_IN_USE', message: expect.stringMatching(/portal-gateway.*npm run stack:down/) as unknown,
    }));
  });

  it('ignores a pid file its process has left behind', () => {
    mkdirSync(join(stackDir(), 'run'));
    writeFileSync(join(stackDir(), 'run', 'portal-gateway.pid'), '999999999\n');
    expect(() => assertNoPipelineRunning()).not.toThrow();
  });
});

describe('installServices', () => {
  beforeEach(() => {
    vi.stubEnv('ORBIT_CACHE_DIR', mkdtempSync(join(tmpdir(), 'orbit-cache-')));
    vi.stubEnv('ORBIT_STACK_DIR', mkdtempSync(join(tmpdir(), 'orbit-stack-')));
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  const needing = (name: string, debianPackage: string): ServiceDefinition => ({
    name, kind: 'infrastructure', port: 1, ports: [1], startTimeoutMs: 1_000,
    install: () => void ensureAptPackage(name, debianPackage, [`orbit-no-such-${debianPackage}`]),
    prepare: () => ({ command: 'false', args: [] }),
    healthy: async () => false,
  });

  it('lists every Debian package a user who is not root must install, in one sudo line', async () => {
    vi.spyOn(process, 'getuid').mockReturnValue(1000);
    await expect(installServices([needing('mysql', 'orbit-test-a'), needing('registry', 'orbit-test-b')])).rejects.toMatchObject({
      code: 'ORBIT_ERR_STACK_INSTALL', message: expect.stringContaining('sudo apt-get install -y orbit-test-a orbit-test-b') as unknown,
    });
  });

  it('installs under the machine-wide install lock', async () => {
    const held: boolean[] = [];
    const probe: ServiceDefinition = { ...needing('probe', 'x'), install: () => void held.push(existsLock()) };
    await installServices([probe]);
    expect(held).toEqual([true]);
  });
});

function existsLock(): boolean {
  try {
    return readFileSync(join(process.env['ORBIT_CACHE_DIR'] ?? '', 'install.lock'), 'utf8').startsWith(`${process.pid}\n`);
  } catch {
    return false;
  }
}
