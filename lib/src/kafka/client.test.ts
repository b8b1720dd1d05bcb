import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { createKafka, orbitProducer } from './client.js';

describe('the Kafka client', () => {
  it('starts an Orbit producer without warnings an operator cannot act on, and still passes kafkajs warnings on', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
    const kafka = createKafka({ clientId: 'client-test', brokers: ['127.0.0.1:1'], logger });
    orbitProducer(kafka);
    expect(lines).toEqual([]);
    // A producer made without Orbit's settings gets kafkajs's partitioner notice, through our logger.
    kafka.producer();
    expect(lines.map((line) => [line['level'], line['component']])).toEqual([['warn', 'kafkajs']]);
  });
});
