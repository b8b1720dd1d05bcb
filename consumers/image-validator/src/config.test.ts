import { describe, expect, it } from 'vitest';
import { readConfig } from '@orbit/lib';
import { configProblemsOf } from '../../../test/helpers/config-problems.js';
import { gatewayEnv } from '../../../producers/portal-gateway/src/config.js';
import { validatorEnv } from './config.js';
import { REGISTRY_PATIENCE } from './pull-into-staging.js';
import { DEFAULT_PULL_DEADLINE } from './registry-pull/pull-deadline.js';

describe('the validator\'s pull deadline settings', () => {
  it('default to 600 s and 1 MiB/s', () => {
    const config = readConfig(validatorEnv, {});
    expect(config.ORBIT_PULL_MIN_DEADLINE_SECONDS).toBe(600);
    expect(config.ORBIT_PULL_MIN_BYTES_PER_SECOND).toBe(1024 * 1024);
  });

  it('are refused at start, each named, when they are no whole number in range', () => {
    const problems = configProblemsOf(() => readConfig(validatorEnv, { ORBIT_PULL_MIN_DEADLINE_SECONDS: '0', ORBIT_PULL_MIN_BYTES_PER_SECOND: '1MiB' }));
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^ORBIT_PULL_MIN_DEADLINE_SECONDS/), expect.stringMatching(/^ORBIT_PULL_MIN_BYTES_PER_SECOND.*whole number/)]));
    expect(configProblemsOf(() => readConfig(validatorEnv, { ORBIT_PULL_MIN_DEADLINE_SECONDS: '86401' }))).toEqual([expect.stringMatching(/^ORBIT_PULL_MIN_DEADLINE_SECONDS/)]);
  });
});

describe('the validator\'s defaults', () => {
  it('are those the pull code falls back on when given none, written once', () => {
    const config = readConfig(validatorEnv, {});
    expect({ minSeconds: config.ORBIT_PULL_MIN_DEADLINE_SECONDS, minBytesPerSecond: config.ORBIT_PULL_MIN_BYTES_PER_SECOND }).toEqual(DEFAULT_PULL_DEADLINE);
    expect(config.ORBIT_REGISTRY_PATIENCE_SECONDS * 1000).toBe(REGISTRY_PATIENCE.patienceMs);
  });
});

describe('the validator\'s uploads validated at once (found by a race review: 4 detached handlers, and one owner\'s slow references stalled everyone\'s uploads)', () => {
  it('default to 12, well above the uploads by reference the gateway lets one owner have under way', () => {
    const config = readConfig(validatorEnv, {});
    expect(config.ORBIT_MAX_DETACHED_HANDLERS).toBe(12);
    // Two owners at their limit leave room for the others' uploads; so does one registry at its limit, every owner's
    // together (six owners with two slow references each to one registry took all 12 before that limit).
    const gateway = readConfig(gatewayEnv, {});
    expect(config.ORBIT_MAX_DETACHED_HANDLERS).toBeGreaterThan(2 * gateway.ORBIT_MAX_PENDING_REFERENCE_UPLOADS);
    expect(config.ORBIT_MAX_DETACHED_HANDLERS).toBeGreaterThan(gateway.ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY);
    expect(readConfig(validatorEnv, { ORBIT_MAX_DETACHED_HANDLERS: '16' }).ORBIT_MAX_DETACHED_HANDLERS).toBe(16);
  });

  it('are refused at start, named, when no whole number from 1 to 64', () => {
    for (const given of ['0', '65', 'many']) {
      expect(configProblemsOf(() => readConfig(validatorEnv, { ORBIT_MAX_DETACHED_HANDLERS: given })), given).toEqual([expect.stringMatching(/^ORBIT_MAX_DETACHED_HANDLERS/)]);
    }
  });
});
