import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { retryPolicy } from './retry.js';
import { untilConnected } from './service.js';

const quiet = createLogger({ service: 'test', level: 'silent' });
const fast = retryPolicy({ initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 5 });
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' });

describe('untilConnected', () => {
  it('waits out a broker that is not up yet and returns what the connect gave', async () => {
    let attempts = 0;
    const connected = await untilConnected('Kafka', async () => {
      attempts += 1;
      if (attempts < 3) throw refused();
      return 'producer';
    }, quiet, fast);
    expect(connected).toBe('producer');
    expect(attempts).toBe(3);
  });

  it('fails at once on an error no retry can fix, and gives up after the policy on one that never clears', async () => {
    let attempts = 0;
    await expect(untilConnected('Kafka', async () => { attempts += 1; throw new TypeError('topic orbit.x does not exist'); }, quiet, fast)).rejects.toThrow('does not exist');
    expect(attempts).toBe(1);
    await expect(untilConnected('Kafka', async () => { throw refused(); }, quiet, fast)).rejects.toMatchObject({ attempts: 5 });
  });
});
