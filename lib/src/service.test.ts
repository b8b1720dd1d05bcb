import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { retryPolicy } from './retry.js';
import { mysqlTarget } from './mysql-connection.js';
import { startConsumerService, untilConnected } from './service.js';

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

describe('startConsumerService', () => {
  it('reports what its configuration check finds before it connects to anything (a broker that never answers is not waited for)', async () => {
    const started = startConsumerService({
      service: 'checked', topics: [], schemas: new Map(),
      processEnv: { KAFKA_BROKERS: '127.0.0.1:9', MYSQL_URL: 'mysql://orbit:orbit@localhost:3306/viewport', MYSQL_TLS_CA_FILE: '/nowhere/ca.pem', LOG_LEVEL: 'silent' },
      checkConfig: (config) => { mysqlTarget(config); },
      createHandler: () => async () => undefined,
    });
    await expect(started).rejects.toMatchObject({ code: 'ORBIT_ERR_CONFIG', problems: ['MYSQL_TLS_CA_FILE: cannot read /nowhere/ca.pem (ENOENT)'] });
  }, 5_000);
});
