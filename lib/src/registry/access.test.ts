import { describe, expect, it } from 'vitest';
import { imageRegistryEnv, isInsecureRegistry, namesRegistryRepository } from './access.js';

describe('isInsecureRegistry', () => {
  const access = { insecure: new Set(['registry.lab:5000']), credentials: new Map() };
  it('speaks plain HTTP to loopback registries and to the listed ones only', () => {
    expect(isInsecureRegistry('127.0.0.1:5000', access)).toBe(true);
    expect(isInsecureRegistry('localhost:5000', access)).toBe(true);
    expect(isInsecureRegistry('[::1]:5000', access)).toBe(true);
    expect(isInsecureRegistry('registry.lab:5000', access)).toBe(true);
    expect(isInsecureRegistry('registry.lab', access)).toBe(false);
    expect(isInsecureRegistry('ghcr.io', access)).toBe(false);
  });
});

describe('ORBIT_IMAGE_REGISTRY', () => {
  it('takes a registry host with a path, as the charts write it, and refuses what would name Docker Hub or no repository', () => {
    for (const ok of ['registry.example.com/orbit', 'localhost:5000', '127.0.0.1:5000/orbit/images', 'ghcr.io/acme']) expect(namesRegistryRepository(ok), ok).toBe(true);
    for (const bad of ['orbit', 'registry.example.com/Orbit', 'registry.example.com/orbit/', 'registry.example.com/orbit:1', 'https://registry.example.com/orbit', '']) {
      expect(namesRegistryRepository(bad), bad).toBe(false);
    }
    expect(imageRegistryEnv.ORBIT_IMAGE_REGISTRY.safeParse(undefined)).toMatchObject({ success: true, data: 'registry.orbit.local/orbit' });
    expect(imageRegistryEnv.ORBIT_IMAGE_REGISTRY.safeParse('orbit').success).toBe(false);
  });
});
