import { describe, expect, it } from 'vitest';
import { BlobSources } from './blob-sources.js';

describe('BlobSources', () => {
  it('names the repository that last held a blob in that registry, never the one being pushed', () => {
    const sources = new BlobSources();
    sources.remember('r.example', 'sha256:a', 'team/one');
    expect(sources.sourceOf('r.example', 'sha256:a', 'team/two')).toBe('team/one');
    expect(sources.sourceOf('r.example', 'sha256:a', 'team/one')).toBeUndefined();
    expect(sources.sourceOf('other.example', 'sha256:a', 'team/two')).toBeUndefined();
    sources.remember('r.example', 'sha256:a', 'team/two');
    expect(sources.sourceOf('r.example', 'sha256:a', 'team/three')).toBe('team/two');
  });

  it('forgets a source that could not lend the blob, but not a newer one', () => {
    const sources = new BlobSources();
    sources.remember('r', 'sha256:a', 'one');
    sources.forget('r', 'sha256:a', 'other');
    expect(sources.sourceOf('r', 'sha256:a', 'x')).toBe('one');
    sources.forget('r', 'sha256:a', 'one');
    expect(sources.sourceOf('r', 'sha256:a', 'x')).toBeUndefined();
  });

  it('keeps at most its capacity, dropping the least recently seen', () => {
    const sources = new BlobSources(2);
    sources.remember('r', 'sha256:a', 'one');
    sources.remember('r', 'sha256:b', 'one');
    sources.remember('r', 'sha256:a', 'two'); // seen again: now the newest
    sources.remember('r', 'sha256:c', 'one');
    expect(sources.size).toBe(2);
    expect(sources.sourceOf('r', 'sha256:b', 'x')).toBeUndefined();
    expect(sources.sourceOf('r', 'sha256:a', 'x')).toBe('two');
    expect(sources.sourceOf('r', 'sha256:c', 'x')).toBe('one');
  });
});
