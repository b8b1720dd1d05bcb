import { describe, expect, it } from 'vitest';
import type { ResolveHost } from '@orbit/lib';
import { redirectPolicy } from './redirect-policy.js';

const resolveHost: ResolveHost = async (host) => ({
  'metadata.internal': ['169.254.169.254'], 'cdn.example': ['203.0.113.7'], localhost: ['127.0.0.1', '::1'], 'orbit-registry.example': ['10.0.0.5'],
} as Record<string, string[]>)[host] ?? [];
const allowed = redirectPolicy({ own: ['127.0.0.1:5050/orbit', 'orbit-registry.example/orbit-testing'], resolveHost, interfaceAddresses: new Set(['10.1.1.1']) });
const verdict = (url: string): Promise<string> => allowed(new URL(url)).then(() => 'followed', (error: { reasonCode?: string }) => error.reasonCode ?? String(error));

describe('where a registry may send the validator (found by a probe: a 307 to Orbit\'s own registry and to 169.254.169.254 were followed)', () => {
  it('goes to object storage and CDNs, and to other registries on this host', async () => {
    expect(await verdict('https://cdn.example/layers/abc?sig=1')).toBe('followed');
    expect(await verdict('http://127.0.0.1:5741/v2/team/app/blobs/sha256:00')).toBe('followed');
  });

  it('refuses link-local addresses, where cloud metadata services answer, by address or by name', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://metadata.internal/computeMetadata/v1/', 'http://[fe80::1]/', 'http://[fd00:ec2::254]/', 'http://[::ffff:169.254.169.254]/']) {
      expect(await verdict(url), url).toBe('REGISTRY_NOT_ALLOWED');
    }
  });

  it('refuses Orbit\'s own registries under any name that reaches them, on any path', async () => {
    for (const url of ['http://127.0.0.1:5050/v2/orbit/other/blobs/sha256:00', 'http://localhost:5050/anything', 'http://[::1]:5050/v2/x', 'https://orbit-registry.example/v2/team/blobs/x', 'http://10.1.1.1:5050/v2/x']) {
      expect(await verdict(url), url).toBe('REGISTRY_NOT_ALLOWED');
    }
  });
});
