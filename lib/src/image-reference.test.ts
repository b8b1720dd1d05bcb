import { describe, expect, it } from 'vitest';
import { parseImageReference } from './image-reference.js';

describe('parseImageReference', () => {
  it('reads host:port/repo:tag and digests', () => {
    expect(parseImageReference('127.0.0.1:5000/team/app:1.0')).toEqual({ registry: '127.0.0.1:5000', repository: 'team/app', tag: '1.0', digest: null });
    expect(parseImageReference(`registry.example.com/app@sha256:${'a'.repeat(64)}`)?.digest).toBe(`sha256:${'a'.repeat(64)}`);
    expect(parseImageReference(`localhost/app:v1@sha256:${'b'.repeat(64)}`)?.tag).toBe('v1');
  });

  it('refuses references without a registry, tag or digest, or with bad parts', () => {
    for (const bad of ['app:1.0', 'library/app:1.0', 'host.example/app', 'host.example/App:1', 'host.example/app:', 'host.example/../x:1', `host.example/app@sha256:${'z'.repeat(64)}`, '']) {
      expect(parseImageReference(bad), bad).toBeUndefined();
    }
  });
});
