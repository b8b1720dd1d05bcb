import { Writable } from 'node:stream';
import { createLogger } from '@orbit/lib';
import { describe, expect, it, vi } from 'vitest';
import { ProjectionLostRefusal } from './errors.js';
import { confirmMisses, ProjectionWatch } from './projection-watch.js';

describe('ProjectionWatch', () => {
  it('knows a lost projection from its first look, keeps that answer while the stores do not answer, and follows it back', async () => {
    let looks = 0;
    let rebuilt = false;
    const messages: string[] = [];
    const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { messages.push(String((JSON.parse(chunk.toString()) as { msg: string }).msg)); done(); } }) });
    const watch = new ProjectionWatch({
      intervalMs: 5, logger,
      findLost: async () => {
        looks += 1;
        if (rebuilt) return [];
        if (looks > 1) throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
        return ['orbit.image.stored/0'];
      },
    });
    await watch.start();
    expect(watch.lost()).toEqual(['orbit.image.stored/0']);
    await vi.waitFor(() => expect(looks).toBeGreaterThanOrEqual(3));
    expect(watch.lost()).toEqual(['orbit.image.stored/0']);
    rebuilt = true;
    await vi.waitFor(() => expect(watch.lost()).toEqual([]));
    watch.close();
    // Each change said once, however many looks failed in between.
    expect(messages.map((message) => message.split(' ').slice(0, 3).join(' '))).toEqual(['ViewPort was lost', 'cannot check whether', 'can check whether', 'ViewPort is back:']);
  });

  it('confirms at once that the projection is lost, between two periodic looks, with one look for many callers', async () => {
    let lost: string[] = [];
    let looks = 0;
    const watch = new ProjectionWatch({ intervalMs: 60_000, freshMs: 50, findLost: async () => { looks += 1; return lost; } });
    await watch.start();
    await new Promise((resolve) => setTimeout(resolve, 60));
    await expect(watch.confirm()).resolves.toBeUndefined();
    // The tables were made again empty: the next confirm knows, though the periodic look is a minute away.
    lost = ['orbit.image.stored/0'];
    await new Promise((resolve) => setTimeout(resolve, 60));
    const before = looks;
    const answers = await Promise.allSettled([watch.confirm(), watch.confirm(), watch.confirm()]);
    expect(answers.map((answer) => answer.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((answers[0] as PromiseRejectedResult).reason).toBeInstanceOf(ProjectionLostRefusal);
    expect(looks).toBe(before + 1);
    expect(watch.lost()).toEqual(['orbit.image.stored/0']);
    watch.close();
  });

  it('takes the last answer when a look does not come back in time (Kafka away)', async () => {
    let hang = false;
    const watch = new ProjectionWatch({ intervalMs: 60_000, freshMs: 0, confirmWaitMs: 30, findLost: () => (hang ? new Promise<string[]>(() => undefined) : Promise.resolve([])) });
    await watch.start();
    hang = true;
    const started = Date.now();
    await expect(watch.confirm()).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
    watch.close();
  });

  it('confirms only the misses of a lookup', async () => {
    const confirm = vi.fn(async () => { throw new ProjectionLostRefusal(['orbit.image.stored/0']); });
    const read = confirmMisses(async (id: string) => (id === 'known' ? { id } : undefined), confirm);
    await expect(read('known')).resolves.toEqual({ id: 'known' });
    expect(confirm).not.toHaveBeenCalled();
    await expect(read('other')).rejects.toBeInstanceOf(ProjectionLostRefusal);
    // A search that finds nothing is a miss too.
    const search = confirmMisses(async (names: string[]) => ({ images: names }), confirm, (page) => page.images.length === 0);
    await expect(search(['billing'])).resolves.toEqual({ images: ['billing'] });
    expect(confirm).toHaveBeenCalledTimes(1);
    await expect(search([])).rejects.toBeInstanceOf(ProjectionLostRefusal);
  });
});
