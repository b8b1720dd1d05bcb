import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ConsumeLoop } from './kafka/consume-loop.js';
import { CONSUMER_EVENTS } from './kafka/instrumentation.js';
import { instrumentConsumeLoop } from './metrics.js';

describe('the handler time histogram', () => {
  it('tells a 20-minute transfer from a 40-minute one instead of putting both above 10 s', async () => {
    const registry = new Registry();
    const loop = new EventEmitter();
    instrumentConsumeLoop(registry, loop as unknown as ConsumeLoop<unknown>);
    for (const minutes of [20, 40]) loop.emit(CONSUMER_EVENTS.processed, { topic: 'orbit.transfer.requested', partition: 0, offset: '1', durationMs: minutes * 60_000 });
    const text = await registry.metrics();
    const bucket = (le: string): string | undefined => new RegExp(`orbit_message_duration_seconds_bucket\\{le="${le}",topic="orbit\\.transfer\\.requested"\\} (\\d+)`).exec(text)?.[1];
    expect([bucket('10'), bucket('1800'), bucket('3600'), bucket('\\+Inf')]).toEqual(['0', '1', '2', '2']);
  });
});
