import { TOPICS } from '@orbit/lib';
import { sampleEvents, type UploadRequested } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { referenceCountingOf, sourceRegistryOf } from './pending-references.js';

describe('the source registry an upload by reference counts against (found by a review: the limit was per owner, and six owners\' slow references to one registry took every detached handler)', () => {
  it('is one name for every spelling of a registry, so that no spelling escapes its limit', () => {
    const spellings: readonly (readonly string[])[] = [
      ['docker.io/library/nginx:1', 'index.docker.io/library/nginx:1', 'registry-1.docker.io/library/nginx:1', 'Docker.IO/library/nginx:1', 'docker.io:443/library/nginx:1'],
      ['registry.example.com/team/app:1', 'Registry.Example.COM/team/app:1', 'registry.example.com:443/team/app:1', 'registry.example.com:0443/team/app@sha256:' + 'a'.repeat(64)],
      // Found by a reread: this host's loopback names counted apart.
      ['[::1]:5050/app:1', '[0:0:0:0:0:0:0:1]:5050/app:1', '[0:0::0001]:05050/app:1', 'localhost:5050/app:1', 'LOCALHOST:5050/app:1', '127.0.0.2:5050/app:1', '0.0.0.0:5050/app:1'],
      ['[fd00::5]/app:1', '[FD00:0:0:0:0:0:0:5]/app:1', '[fd00::5]:443/app:1'],
      ['127.0.0.1:5000/app:1', '127.1:5000/app:1', '[::ffff:7f00:1]:5000/app:1', '127.0.0.1:005000/app:1'],
    ];
    for (const [first, ...others] of spellings) {
      const name = sourceRegistryOf(first ?? '');
      for (const other of others) expect(sourceRegistryOf(other), other).toBe(name);
    }
    expect(spellings.map(([first]) => sourceRegistryOf(first ?? ''))).toEqual(['docker.io', 'registry.example.com', 'localhost:5050', '[fd00::5]', 'localhost:5000']);
  });

  it('keeps registries apart that are apart: another port, another host, a subdomain', () => {
    const names = ['registry.example.com/a:1', 'registry.example.com:5000/a:1', 'mirror.registry.example.com/a:1', 'ghcr.io/a:1', '[::2]:5050/a:1', 'localhost:5000/a:1', 'localhost:5001/a:1'];
    expect(new Set(names.map(sourceRegistryOf)).size).toBe(names.length);
  });

  it('counts an upload by reference against its owner and its registry, each with its own limit, and nothing else', () => {
    const sample = sampleEvents('U'.repeat(60), 'req-1')[TOPICS.uploadRequested];
    const reference: UploadRequested = { ...sample, source: 'REFERENCE', reference: 'Index.Docker.io/library/redis:7', staging: null };
    const archive: UploadRequested = { ...sample, source: 'ARCHIVE' };
    const limits = { maxPendingReferenceUploads: 2, maxPendingReferenceUploadsPerRegistry: 6 };
    expect(referenceCountingOf(reference, 'dev1', limits)).toEqual({ owner: 'dev1', registry: 'docker.io', perOwner: 2, perRegistry: 6 });
    expect(referenceCountingOf(reference, 'dev1', { maxPendingReferenceUploadsPerRegistry: 6 })).toEqual({ owner: 'dev1', registry: 'docker.io', perOwner: undefined, perRegistry: 6 });
    expect(referenceCountingOf(archive, 'dev1', limits)).toBeUndefined();
    expect(referenceCountingOf(reference, 'dev1', {})).toBeUndefined();
  });
});
