import { describe, expect, it } from 'vitest';
import { BlobSources, type BlobLocationStore } from './blob-sources.js';

/** A store in a Map, counting what it is asked: the table's behaviour without DynamoDB (its own test runs against DynamoDB Local). */
class MapStore implements BlobLocationStore {
  readonly items = new Map<string, string>();
  finds = 0;
  records = 0;
  failing = false;

  async find(registry: string, digests: readonly string[]): Promise<Map<string, string>> {
    this.finds += 1;
    if (this.failing) throw new Error('the table is unreachable');
    return new Map(digests.flatMap((digest) => {
      const repository = this.items.get(`${registry} ${digest}`);
      return repository === undefined ? [] : [[digest, repository] as const];
    }));
  }

  async record(registry: string, digests: readonly string[], repository: string): Promise<void> {
    this.records += 1;
    if (this.failing) throw new Error('the table is unreachable');
    for (const digest of digests) this.items.set(`${registry} ${digest}`, repository);
  }

  async drop(registry: string, digest: string, repository: string): Promise<void> {
    if (this.items.get(`${registry} ${digest}`) === repository) this.items.delete(`${registry} ${digest}`);
  }
}

const sourceOf = async (sources: BlobSources, registry: string, digest: string, repository: string): Promise<string | undefined> =>
  (await sources.sourcesOf(registry, [digest], repository)).get(digest);

describe('BlobSources', () => {
  it('names the repository that last held a blob in that registry, never the one being pushed', async () => {
    const sources = new BlobSources();
    await sources.remember('r.example', ['sha256:a'], 'team/one');
    expect(await sourceOf(sources, 'r.example', 'sha256:a', 'team/two')).toBe('team/one');
    expect(await sourceOf(sources, 'r.example', 'sha256:a', 'team/one')).toBeUndefined();
    expect(await sourceOf(sources, 'other.example', 'sha256:a', 'team/two')).toBeUndefined();
    await sources.remember('r.example', ['sha256:a'], 'team/two');
    expect(await sourceOf(sources, 'r.example', 'sha256:a', 'team/three')).toBe('team/two');
  });

  it('forgets a source that could not lend the blob, but not a newer one', async () => {
    const store = new MapStore();
    const sources = new BlobSources(store);
    await sources.remember('r', ['sha256:a'], 'one');
    await sources.forget('r', 'sha256:a', 'other');
    expect(await sourceOf(sources, 'r', 'sha256:a', 'x')).toBe('one');
    await sources.forget('r', 'sha256:a', 'one');
    expect(await sourceOf(sources, 'r', 'sha256:a', 'x')).toBeUndefined();
    expect(store.items.size).toBe(0);
  });

  it('keeps at most its capacity in memory, dropping the least recently seen', async () => {
    const sources = new BlobSources(undefined, undefined, 2);
    await sources.remember('r', ['sha256:a'], 'one');
    await sources.remember('r', ['sha256:b'], 'one');
    await sources.remember('r', ['sha256:a'], 'two'); // seen again: now the newest
    await sources.remember('r', ['sha256:c'], 'one');
    expect(sources.size).toBe(2);
    expect(await sourceOf(sources, 'r', 'sha256:b', 'x')).toBeUndefined();
    expect(await sourceOf(sources, 'r', 'sha256:a', 'x')).toBe('two');
    expect(await sourceOf(sources, 'r', 'sha256:c', 'x')).toBe('one');
  });

  it('outlives a restart through its store, asking it only for what memory does not know, and recording only what changed', async () => {
    const store = new MapStore();
    await new BlobSources(store).remember('r', ['sha256:a', 'sha256:b'], 'team/base');
    const restarted = new BlobSources(store);
    expect(await restarted.sourcesOf('r', ['sha256:a', 'sha256:b', 'sha256:c'], 'team/app')).toEqual(new Map([['sha256:a', 'team/base'], ['sha256:b', 'team/base']]));
    expect(store.finds).toBe(1);
    expect(await restarted.sourcesOf('r', ['sha256:a'], 'team/app')).toEqual(new Map([['sha256:a', 'team/base']]));
    expect(store.finds).toBe(1);
    // A redelivered push of what is recorded writes nothing; a new repository for the blob is recorded.
    await restarted.remember('r', ['sha256:a', 'sha256:b'], 'team/base');
    expect(store.records).toBe(1);
    await restarted.remember('r', ['sha256:a'], 'team/app');
    expect(store.items.get('r sha256:a')).toBe('team/app');
  });

  it('goes on from memory when the store fails: a blob is then sent instead of mounted, the push does not fail', async () => {
    const store = new MapStore();
    const sources = new BlobSources(store);
    store.failing = true;
    await sources.remember('r', ['sha256:a'], 'one');
    expect(await sourceOf(sources, 'r', 'sha256:a', 'two')).toBe('one');
    expect(await sourceOf(sources, 'r', 'sha256:b', 'two')).toBeUndefined();
  });

  it('takes a suggestion for this process only, without recording it', async () => {
    const store = new MapStore();
    const sources = new BlobSources(store);
    sources.suggest('r', ['sha256:a'], 'uploads');
    expect(await sourceOf(sources, 'r', 'sha256:a', 'testing')).toBe('uploads');
    expect(store.items.size).toBe(0);
  });
});
