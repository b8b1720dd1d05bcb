import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { kafkaAnswers } from './reachable.js';

/** A "broker" that takes the connection and never says a word: a hung process, a black-holed network. */
let silent: Server;
const held: Socket[] = [];
let silentBroker = '';
/** A port nothing listens on: taken, then let go. */
let closedBroker = '';

beforeAll(async () => {
  silent = createServer((socket) => { held.push(socket); });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentBroker = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  closedBroker = `127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((resolve) => closed.close(resolve));
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

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
