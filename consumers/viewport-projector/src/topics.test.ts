import { PROJECTED_TOPICS, TOPICS } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { dependentsFirst } from './topics.js';

describe('the order a replay reads end offsets in', () => {
  it('reads a topic before the topics its events wait for', () => {
    const order = dependentsFirst(PROJECTED_TOPICS);
    expect(order.indexOf(TOPICS.chartPromoted)).toBeLessThan(order.indexOf(TOPICS.chartGenerated));
    expect(order.indexOf(TOPICS.chartGenerated)).toBeLessThan(order.indexOf(TOPICS.imageStored));
    expect(order.indexOf(TOPICS.imageStored)).toBeLessThan(order.indexOf(TOPICS.imageValidated));
    expect([...order].sort()).toEqual([...PROJECTED_TOPICS].sort());
  });

  it('orders renamed copies by the lifecycle topic they mirror', () => {
    const renamed = PROJECTED_TOPICS.map((topic) => `mirror.${topic}`);
    const order = dependentsFirst(renamed, (topic) => topic.slice('mirror.'.length));
    expect(order.indexOf(`mirror.${TOPICS.chartGenerated}`)).toBeLessThan(order.indexOf(`mirror.${TOPICS.imageStored}`));
  });
});
