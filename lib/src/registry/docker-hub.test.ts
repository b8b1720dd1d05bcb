import { describe, expect, it } from 'vitest';
import { credentialsFor, distributionAddress } from './docker-hub.js';

describe('Docker Hub references', () => {
  it('are fetched from registry-1.docker.io, one-part repositories under library/', () => {
    expect(distributionAddress('docker.io', 'nginx')).toEqual({ registry: 'registry-1.docker.io', repository: 'library/nginx' });
    expect(distributionAddress('index.docker.io', 'bitnami/redis')).toEqual({ registry: 'registry-1.docker.io', repository: 'bitnami/redis' });
    expect(distributionAddress('Docker.IO', 'library/alpine')).toEqual({ registry: 'registry-1.docker.io', repository: 'library/alpine' });
  });

  it('leave every other registry as written', () => {
    expect(distributionAddress('ghcr.io', 'org/app')).toEqual({ registry: 'ghcr.io', repository: 'org/app' });
    expect(distributionAddress('127.0.0.1:5000', 'app')).toEqual({ registry: '127.0.0.1:5000', repository: 'app' });
  });

  it('find credentials saved under any of Docker Hub\'s names, and only there', () => {
    const saved = new Map([['registry-1.docker.io', 'hub'], ['ghcr.io', 'gh']]);
    expect(credentialsFor('docker.io', saved)).toBe('hub');
    expect(credentialsFor('ghcr.io', saved)).toBe('gh');
    expect(credentialsFor('quay.io', saved)).toBeUndefined();
  });
});
