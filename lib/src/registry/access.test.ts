import { describe, expect, it } from 'vitest';
import { isInsecureRegistry } from './access.js';

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
