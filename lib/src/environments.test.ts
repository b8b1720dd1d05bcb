import { describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { environmentEnv } from './environments.js';

const problemsWith = (chain: string): readonly string[] => {
  try {
    readConfig(environmentEnv, { ORBIT_ENVIRONMENT_CHAIN: chain });
    return [];
  } catch (error) {
    return (error as { problems: readonly string[] }).problems;
  }
};

describe('ORBIT_ENVIRONMENT_CHAIN', () => {
  it('defaults to the design chain and accepts a shorter one that starts in Development', () => {
    expect(readConfig(environmentEnv, {}).ORBIT_ENVIRONMENT_CHAIN).toEqual(['Development', 'Testing', 'Staging', 'Production']);
    expect(readConfig(environmentEnv, { ORBIT_ENVIRONMENT_CHAIN: 'Development, Production' }).ORBIT_ENVIRONMENT_CHAIN).toEqual(['Development', 'Production']);
  });

  it('refuses at start a chain that could never promote an upload, or that loops', () => {
    expect(problemsWith('Testing,Production')).toEqual(['ORBIT_ENVIRONMENT_CHAIN: must start with Development, where uploads are stored (got "Testing,Production")']);
    expect(problemsWith('Development,Testing,Development')).toEqual(['ORBIT_ENVIRONMENT_CHAIN: must name each environment once (got "Development,Testing,Development")']);
    expect(problemsWith('Development')[0]).toContain('at least two');
    expect(problemsWith('Development,QA')[0]).toContain('ORBIT_ENVIRONMENT_CHAIN');
  });
});
