import { describe, expect, it } from 'vitest';
import type { FileFacts } from './entry-facts.js';
import { parseConfig } from './image-config.js';

function file(config: unknown): FileFacts {
  const json = Buffer.from(JSON.stringify(config));
  return { kind: 'file', path: 'config.json', size: json.length, sha256: '0'.repeat(64), compression: 'none', decoded: null, json, jsonSkipped: null };
}

const rootfs = { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] };

describe('parseConfig', () => {
  it('maps docker\'s empty strings and nulls to null and empty lists', () => {
    const parsed = parseConfig(file({ architecture: 'arm64', os: 'linux', rootfs, config: { Env: null, Cmd: null, WorkingDir: '', User: '', StopSignal: '', Labels: null, ExposedPorts: null } }), 'config');
    expect(parsed).toEqual({
      architecture: 'arm64', os: 'linux', diffIds: rootfs.diff_ids,
      facts: { exposedPorts: [], env: [], entrypoint: [], cmd: [], workingDir: null, user: null, labels: {}, healthcheck: null, stopSignal: null, volumes: [] },
    });
  });

  it('accepts a config with no config object at all', () => {
    expect(parseConfig(file({ architecture: 'amd64', os: 'linux', rootfs }), 'config').facts.entrypoint).toEqual([]);
  });

  it('reads healthcheck durations as whole seconds, rounding up; 0 means the default; NONE switches it off', () => {
    const healthcheck = (Healthcheck: unknown) => parseConfig(file({ architecture: 'amd64', os: 'linux', rootfs, config: { Healthcheck } }), 'config').facts.healthcheck;
    expect(healthcheck({ Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 1_500_000_000, Timeout: 0, Retries: 2 }))
      .toEqual({ test: ['CMD-SHELL', 'curl -f localhost'], intervalSeconds: 2, timeoutSeconds: null, startPeriodSeconds: null, retries: 2 });
    expect(healthcheck({ Test: ['NONE'] })).toBeNull();
    expect(healthcheck({ Test: [] })).toBeNull();
  });
});
