import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { createKafka, kafkaLogFields, orbitProducer } from './client.js';

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

  it('nests kafkajs\'s fields under kafka, so its numeric correlationId leaves Orbit\'s request id alone, and drops its duplicate timestamp and logger', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
    const kafka = createKafka({ clientId: 'client-test', brokers: ['127.0.0.1:1'], logger: logger.child({ correlationId: 'request-1' }) });
    kafka.logger().error('Response Metadata(key: 3, version: 6)', { broker: '127.0.0.1:1', correlationId: 7 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', correlationId: 'request-1', component: 'kafkajs', kafka: { broker: '127.0.0.1:1', correlationId: 7 } });
    expect(lines[0]).not.toHaveProperty('timestamp');
    expect(lines[0]).not.toHaveProperty('logger');
    expect(kafkaLogFields('Connection', { message: 'm', timestamp: 't', logger: 'kafkajs', stack: 's' })).toEqual({ namespace: 'Connection', kafka: { stack: 's' } });
  });

  it('logs at warn a cluster settling, which kafkajs retries by itself (a coordinator loading), and at error what an operator should look at', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
    const kafka = createKafka({ clientId: 'client-test', brokers: ['127.0.0.1:1'], logger });
    kafka.logger().error("The coordinator is loading and hence can't process requests for this group", { retryCount: 0, retryTime: 300 });
    kafka.logger().error("Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests for this group", { groupId: 'g' });
    kafka.logger().error('Crash: KafkaJSError: anything', { error: 'There is no leader for this topic-partition as we are in the middle of a leadership election' });
    kafka.logger().error('Connection error: connect ECONNREFUSED 127.0.0.1:1', { broker: '127.0.0.1:1' });
    kafka.logger().error('The group member needs to have a valid member id before actually entering a consumer group', {});
    // Retriable to kafkajs, but a disk error or a missing topic is the operator's to see.
    kafka.logger().error('Disk error when trying to access log file on the disk', {});
    kafka.logger().error('This server does not host this topic-partition', {});
    expect(lines.map((line) => line['level'])).toEqual(['warn', 'warn', 'warn', 'error', 'error', 'error', 'error']);
  });
});
