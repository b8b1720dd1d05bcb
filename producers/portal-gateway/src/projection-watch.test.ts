import { Writable } from 'node:stream';
import { createLogger } from '@orbit/lib';
import { describe, expect, it, vi } from 'vitest';
import { ProjectionWatch } from './projection-watch.js';

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
});
