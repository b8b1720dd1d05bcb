import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDefinition, stateOf } from './lifecycle.js';
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
