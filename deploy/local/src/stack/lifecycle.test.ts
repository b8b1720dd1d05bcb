import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assertPortsFree, portInUseReason, startDefinition, stateOf } from './lifecycle.js';
import type { ServiceDefinition } from './services/index.js';

/** Port 1 (tcpmux) is closed on any machine these tests run on. */
const unbuilt: ServiceDefinition = {
  name: 'unbuilt', kind: 'pipeline', port: 1, ports: [1], startTimeoutMs: 1_000,
  unavailable: () => 'not built (dist/main.js is missing)',
  install: () => undefined,
  prepare: () => ({ command: 'false', args: [] }),
  healthy: async () => false,
};

describe('a pipeline service that is not built', () => {
  beforeEach(() => vi.stubEnv('ORBIT_STACK_DIR', mkdtempSync(join(tmpdir(), 'orbit-life-'))));
  afterEach(() => vi.unstubAllEnvs());

  it('shows as "not built" rather than down', async () => {
    await expect(stateOf(unbuilt)).resolves.toEqual({ state: 'not built', pid: undefined });
  });

  it('is refused with a stable code instead of being launched', async () => {
    await expect(startDefinition(unbuilt)).rejects.toMatchObject({ code: 'ORBIT_ERR_STACK_NOT_BUILT', service: 'unbuilt' });
  });

  it('is plain down once built', async () => {
    await expect(stateOf({ ...unbuilt, unavailable: () => undefined })).resolves.toEqual({ state: 'down', pid: undefined });
  });
});

describe('a port held by another process', () => {
  let server: Server;
  let port: number;
  beforeEach(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await new Promise((resolve) => server.close(resolve));
  });

  const infrastructure = (name: string): ServiceDefinition => ({ ...unbuilt, name, kind: 'infrastructure', port, ports: [port], unavailable: () => undefined });

  it('names the variable that moves that very port', async () => {
    vi.stubEnv('ORBIT_S3_CONSOLE_PORT', String(port));
    await expect(assertPortsFree(infrastructure('s3'))).rejects.toMatchObject({
      code: 'ORBIT_ERR_STACK_PORT_IN_USE', message: expect.stringContaining(`set ORBIT_S3_CONSOLE_PORT to a free port`) as unknown,
    });
  });

  it('says a pipeline service\'s port cannot be changed, rather than naming a variable', async () => {
    const error: unknown = await assertPortsFree({ ...infrastructure('portal-gateway'), kind: 'pipeline' }).catch((caught: unknown) => caught);
    expect(String(error)).toMatch(/cannot be changed/);
    expect(String(error)).not.toMatch(/ORBIT_\w*PORT/);
  });

  it('names Debian\'s own MariaDB when it is what holds MySQL\'s port', () => {
    vi.stubEnv('ORBIT_MYSQL_PORT', String(port));
    const pidFile = join(mkdtempSync(join(tmpdir(), 'orbit-mysqld-')), 'mysqld.pid');
    writeFileSync(pidFile, `${process.pid}\n`);
    const reason = portInUseReason(infrastructure('mysql'), port, pidFile);
    expect(reason).toContain('systemctl stop mariadb');
    expect(reason).toContain('ORBIT_MYSQL_PORT');
    expect(portInUseReason(infrastructure('mysql'), port, join(tmpdir(), 'no-such-mysqld.pid'))).not.toContain('systemctl');
  });
});
