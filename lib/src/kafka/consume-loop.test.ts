import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { retryPolicy } from '../retry.js';
import { createKafka } from './client.js';
import { ConsumeLoop } from './consume-loop.js';

const logger = createLogger({ service: 'consume-loop-test', level: 'silent' });
// Building a loop connects nothing, so an unreachable broker will do.
const kafka = createKafka({ clientId: 'consume-loop-test', brokers: ['127.0.0.1:1'], logger });

function loopWith(timing: { stallMs?: number; maxWaitTimeMs?: number }): ConsumeLoop<unknown> {
  return new ConsumeLoop<unknown>({
    kafka, groupId: 'g', topics: ['t'], logger, retryPolicy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }),
    decode: () => Promise.resolve(undefined), handler: () => Promise.resolve(), ...timing,
  });
}

describe('ConsumeLoop settings', () => {
  it('refuses a stall allowance that an idle consumer, fetching once per fetch wait, would exceed', () => {
    expect(() => loopWith({ stallMs: 9_000 })).toThrow('stallMs (9000) must be at least twice maxWaitTimeMs (5000)');
    expect(() => loopWith({ stallMs: 3_000, maxWaitTimeMs: 2_000 })).toThrow(RangeError);
    expect(() => loopWith({ stallMs: 10_000 })).not.toThrow();
    expect(() => loopWith({ stallMs: 3_000, maxWaitTimeMs: 500 })).not.toThrow();
  });
});
