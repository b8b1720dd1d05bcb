import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { acceptsGzip, HelmIndexCache, INDEX_MAX_AGE_MS, startOfUtcDay } from './helm-index-cache.js';

function counted(text = 'apiVersion: v1\nentries: {}\n') {
  let renders = 0;
  return { render: async () => { renders += 1; return text; }, renders: () => renders };
}

describe('HelmIndexCache', () => {
  it('renders a repository\'s index once while its owner\'s mark stays, again once it moves, and gives it gzip\'d too', async () => {
    let projection = 'p1';
    const cache = new HelmIndexCache(async () => projection);
    const { render, renders } = counted();
    const first = await cache.get('dev1', 'dev1/Testing', render);
    expect((await cache.get('dev1', 'dev1/Testing', render)).yaml).toBe(first.yaml);
    expect(renders()).toBe(1);
    expect(gunzipSync(first.gzip).toString('utf8')).toBe('apiVersion: v1\nentries: {}\n');
    projection = 'p2';
    await cache.get('dev1', 'dev1/Testing', render);
    expect(renders()).toBe(2);
    // Another repository (or another caller's view of it) is rendered on its own.
    await cache.get('dev1', 'dev1/Staging', render);
    expect(renders()).toBe(3);
  });

  it('keeps an owner\'s index while other owners\' marks move, and renders it again once its owner\'s does (found by a scale review: any upload by anyone rendered every index again)', async () => {
    const marks = new Map([['alice', 'a1'], ['bob', 'b1']]);
    const asked: string[] = [];
    const cache = new HelmIndexCache(async (owner) => { asked.push(owner); return marks.get(owner) ?? 'none'; });
    const alice = counted('alice: 1\n');
    const bob = counted('bob: 1\n');
    const first = await cache.get('alice', '["Testing","alice","owner"]', alice.render);
    await cache.get('bob', '["Testing","bob","owner"]', bob.render);
    // Bob uploads: his index is rendered again, Alice's is the one kept.
    marks.set('bob', 'b2');
    expect(await cache.get('alice', '["Testing","alice","owner"]', alice.render)).toBe(first);
    await cache.get('bob', '["Testing","bob","owner"]', bob.render);
    expect([alice.renders(), bob.renders()]).toEqual([1, 2]);
    // Alice's own change (an upload, a chart, a transfer) renders hers again.
    marks.set('alice', 'a2');
    expect((await cache.get('alice', '["Testing","alice","owner"]', alice.render)).yaml.toString()).toBe('alice: 1\n');
    expect(alice.renders()).toBe(2);
    // The mark asked for is the repository owner's.
    expect(new Set(asked)).toEqual(new Set(['alice', 'bob']));
    // An owner nothing was projected for has no mark: an index of nothing is kept all the same.
    const nobody = counted();
    await cache.get('carol', '["Testing","carol","owner"]', nobody.render);
    await cache.get('carol', '["Testing","carol","owner"]', nobody.render);
    expect(nobody.renders()).toBe(1);
  });

  it('renders a kept index again once it is five minutes old, its mark unmoved: a commit that moved no mark (an older projector in a rolling upgrade) is seen within that', async () => {
    let at = 0;
    const cache = new HelmIndexCache(async () => 'a1', { maxBytes: 32 * 1024 * 1024, maxEntries: 1000 }, () => at);
    const alice = counted('alice: 1\n');
    const first = await cache.get('alice', 'r', alice.render);
    at = INDEX_MAX_AGE_MS - 1;
    expect(await cache.get('alice', 'r', alice.render)).toBe(first);
    expect(alice.renders()).toBe(1);
    at = INDEX_MAX_AGE_MS;
    await cache.get('alice', 'r', alice.render);
    expect(alice.renders()).toBe(2);
  });

  it('shares one rendering among askers at once, and keeps no failed one', async () => {
    const cache = new HelmIndexCache(async () => 'p1');
    let renders = 0;
    let finish: (text: string) => void = () => undefined;
    const slow = () => { renders += 1; return new Promise<string>((resolve) => { finish = resolve; }); };
    const asked = Promise.all([cache.get('dev1', 'r', slow), cache.get('dev1', 'r', slow), cache.get('dev1', 'r', slow)]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    finish('x: 1\n');
    expect(new Set((await asked).map((index) => index.yaml.toString()))).toEqual(new Set(['x: 1\n']));
    expect(renders).toBe(1);
    const failing = new HelmIndexCache(async () => 'p1');
    await expect(failing.get('dev1', 'r', async () => { throw new Error('MySQL away'); })).rejects.toThrow('MySQL away');
    const { render, renders: after } = counted();
    await failing.get('dev1', 'r', render);
    expect(after()).toBe(1);
  });

  it('lets the least recently asked go first past its byte budget, and keeps nothing larger than the budget', async () => {
    // Each of a, b and c costs about 3.1 KB with its overhead: two fit.
    const cache = new HelmIndexCache(async () => 'p1', { maxBytes: 7000, maxEntries: 1000 });
    const renders: string[] = [];
    const render = (name: string, size: number) => async () => { renders.push(name); return `${name}: ${'y'.repeat(size)}\n`; };
    await cache.get('dev1', 'a', render('a', 1000));
    await cache.get('dev1', 'b', render('b', 1000));
    await cache.get('dev1', 'a', render('a', 1000));
    await cache.get('dev1', 'c', render('c', 1000));
    await cache.get('dev1', 'a', render('a', 1000));
    expect(renders).toEqual(['a', 'b', 'c']);
    await cache.get('dev1', 'b', render('b', 1000));
    expect(renders).toEqual(['a', 'b', 'c', 'b']);
    await cache.get('dev1', 'huge', render('huge', 10_000));
    await cache.get('dev1', 'huge', render('huge', 10_000));
    expect(renders.filter((name) => name === 'huge')).toHaveLength(2);
  });

  it('counts what a kept index costs beside its YAML, and keeps at most maxEntries (found by a review: 35 000 empty indexes of made-up owners counted 5 MB and held over 40)', async () => {
    const budget = new HelmIndexCache(async () => 'p1', { maxBytes: 1024 * 1024, maxEntries: 100_000 });
    for (let owner = 0; owner < 2000; owner += 1) await budget.get(`owner-${owner}`, `["Staging","owner-${owner}","owner"]`, async () => 'apiVersion: v1\nentries: {}\n');
    // An empty index's YAML and gzip are under 100 bytes: counted alone, all 2000 would have been kept in 1 MiB.
    expect(budget.size).toBeLessThan(520);
    const counted = new HelmIndexCache(async () => 'p1', { maxBytes: 1024 * 1024 * 1024, maxEntries: 3 });
    const renders: string[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'a']) await counted.get('dev1', name, async () => { renders.push(name); return `${name}: 1\n`; });
    expect(counted.size).toBe(3);
    expect(renders).toEqual(['a', 'b', 'c', 'd', 'a']);
  });
});

describe('acceptsGzip', () => {
  it('sends gzip where Accept-Encoding prefers it to none, by its weights', () => {
    for (const header of ['gzip', 'gzip, deflate, br', 'br;q=1.0, gzip;q=0.8', '*', 'GZIP']) expect(acceptsGzip(header), header).toBe(true);
    for (const header of [undefined, '', 'identity', 'identity, *;q=0.5', 'br', 'gzip;q=0', 'gzip;q=0.0, br', '*;q=0', 'gzip;q=0, *;q=1']) expect(acceptsGzip(header), String(header)).toBe(false);
  });
});

describe('HelmIndexCache: the time an index of no chart is dated by (found by a review: 1970)', () => {
  it('hands a rendering the start of the day, kept or not, whatever ViewPort did (found by a reread: it moved with every upload)', async () => {
    let state = 'p1';
    const cache = new HelmIndexCache(async () => state);
    const dated: string[] = [];
    const render = async (emptyGenerated: string) => { dated.push(emptyGenerated); return `generated: ${emptyGenerated}\n`; };
    const today = startOfUtcDay(new Date());
    await cache.get('dev1', 'dev1/Testing', render);
    await cache.unkept(render);
    state = 'p2';
    await cache.get('dev1', 'dev1/Testing', render);
    await new HelmIndexCache(undefined).get('dev1', 'r', render);
    expect(dated).toEqual([today, today, today, today]);
    expect(startOfUtcDay(new Date('2026-12-07T23:59:59.999Z'))).toBe('2026-12-07T00:00:00.000Z');
  });
});
