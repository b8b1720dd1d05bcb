import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentListener, type SilentListener } from '../../../test/helpers/silent-listener.js';
import { freePort } from '../../../test/helpers/ports.js';
import { createLogger } from '../logger.js';
import { kafkaAnswers } from './reachable.js';

let silent: SilentListener;
let silentBroker = '';
/** A port nothing listens on: taken, then let go. */
let closedBroker = '';

beforeAll(async () => {
  silent = await silentListener();
  silentBroker = silent.address;
  closedBroker = `127.0.0.1:${await freePort()}`;
});
afterAll(() => silent.close());

const logger = createLogger({ service: 'kafka-answers-test', level: 'fatal' });

async function failureOf(brokers: string, deadlineMs?: number): Promise<{ message: string; seconds: number }> {
  const started = Date.now();
  const error = await kafkaAnswers({ clientId: 'kafka-answers-test', brokers: [brokers], logger }, deadlineMs).then(() => undefined, (failed: unknown) => failed);
  return { message: error instanceof Error ? error.message : String(error), seconds: (Date.now() - started) / 1000 };
}

describe('kafkaAnswers', () => {
  it('says within its deadline that a broker which takes the connection and never answers is unavailable, naming it (found by a review: 97 s, "Broker not connected")', async () => {
    const { message, seconds } = await failureOf(silentBroker, 2_000);
    expect(message).toBe(`Kafka at ${silentBroker} is unavailable`);
    expect(seconds).toBeGreaterThanOrEqual(1.9);
    expect(seconds).toBeLessThan(5);
  }, 20_000);

  it('says at once that nothing listens on a closed port, within the default deadline', async () => {
    const { message, seconds } = await failureOf(closedBroker);
    expect(message).toBe(`Kafka at ${closedBroker} is unavailable`);
    expect(seconds).toBeLessThan(10);
  }, 20_000);
});
