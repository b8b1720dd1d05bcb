import { describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { environmentEnv, environmentRegistryEnv, imageRegistryOf } from './environments.js';

/** What readConfig says is wrong with one variable's value (nothing: an empty list). */
const problemsOf = (spec: Parameters<typeof readConfig>[0], name: string, value: string): readonly string[] => {
  try {
    readConfig(spec, { [name]: value });
    return [];
  } catch (error) {
    return (error as { problems: readonly string[] }).problems;
  }
};
const problemsWith = (chain: string): readonly string[] => problemsOf(environmentEnv, 'ORBIT_ENVIRONMENT_CHAIN', chain);

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

describe('ORBIT_ENVIRONMENT_REGISTRIES', () => {
  const config = (value?: string) => ({ ORBIT_IMAGE_REGISTRY: 'dev.registry.example/orbit', ...readConfig(environmentRegistryEnv, value === undefined ? {} : { ORBIT_ENVIRONMENT_REGISTRIES: value }) });
  const problems = (value: string): readonly string[] => problemsOf(environmentRegistryEnv, 'ORBIT_ENVIRONMENT_REGISTRIES', value);

  it('gives listed environments their own registry and every other one ORBIT_IMAGE_REGISTRY', () => {
    const both = config('Testing = harbor.example:8443/orbit-testing, production=prod.registry.example/orbit');
    expect(imageRegistryOf('Testing', both)).toBe('harbor.example:8443/orbit-testing');
    expect(imageRegistryOf('Production', both)).toBe('prod.registry.example/orbit');
    expect(imageRegistryOf('Staging', both)).toBe('dev.registry.example/orbit');
    expect(imageRegistryOf('Testing', config())).toBe('dev.registry.example/orbit');
  });

  it('refuses at start a pair that names no environment, no registry path, or one environment twice', () => {
    expect(problems('QA=registry.example/orbit')[0]).toContain('"QA=registry.example/orbit" is not Environment=registry/path');
    expect(problems('Testing=Registry Example')[0]).toContain('Testing: "Registry Example" is not a registry host and a path');
    expect(problems('Testing=registry.example/a,Testing=registry.example/b')[0]).toContain('Testing is named twice');
    expect(problems('Testing')[0]).toContain('is not Environment=registry/path');
    expect(problems('Development=registry.example/dev')[0]).toContain('cannot name Development, which pulls from ORBIT_IMAGE_REGISTRY');
  });

  it('still reads transfer roles as Env=role pairs', () => {
    expect([...readConfig(environmentEnv, { ORBIT_TRANSFER_ROLES: 'Production=release-manager, Staging=qa' }).ORBIT_TRANSFER_ROLES]).toEqual([['Production', 'release-manager'], ['Staging', 'qa']]);
  });
});
