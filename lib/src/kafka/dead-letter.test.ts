import { describe, expect, it } from 'vitest';
import { DecodeError, RetryExhaustedError, StoreUnavailableError } from '../errors.js';
import { deadLetterRecord, oversizedDeadLetterRecord } from './dead-letter.js';
import { letterFactsOf } from './dlq-letter.js';
import type { IHeaders } from './client.js';
import { HEADER } from './headers.js';

const message = {
  key: Buffer.from('image-1'),
  value: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
  headers: { traceparent: Buffer.from('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01') },
  offset: '42', timestamp: '0', attributes: 0,
};

describe('deadLetterRecord', () => {
  it('keeps the original bytes and headers and says why, where from and how often', () => {
    const record = deadLetterRecord({ topic: 'orbit.image.stored', partition: 2, message, error: new DecodeError('orbit.image.stored', new TypeError('bad magic')), attempts: 1, groupId: 'g' }, new Date('2026-01-01T00:00:00Z'));
    expect(record.value).toBe(message.value);
    expect(record.key).toBe(message.key);
    expect(record.headers['traceparent']).toEqual([message.headers.traceparent]);
    expect(record.headers[HEADER.dlqError]).toBe('ORBIT_ERR_DECODE');
    expect(String(record.headers[HEADER.dlqMessage])).toContain('bad magic');
    expect(record.headers[HEADER.dlqTopic]).toBe('orbit.image.stored');
    expect(record.headers[HEADER.dlqPartition]).toBe('2');
    expect(record.headers[HEADER.dlqOffset]).toBe('42');
    expect(record.headers[HEADER.dlqGroup]).toBe('g');
    expect(record.headers[HEADER.dlqFailedAt]).toBe('2026-01-01T00:00:00.000Z');
  });

  it('records the attempts of an exhausted retry', () => {
    const error = new RetryExhaustedError(7, new StoreUnavailableError('s3', undefined));
    const record = deadLetterRecord({ topic: 't', partition: 0, message, error, attempts: 1, groupId: 'g' });
    expect(record.headers[HEADER.dlqAttempts]).toBe('7');
    expect(record.headers[HEADER.dlqError]).toBe('ORBIT_ERR_RETRY_EXHAUSTED');
  });

  it('names foreign errors by their own code where they carry one, else by their class', () => {
    const record = deadLetterRecord({ topic: 't', partition: 0, message, error: new TypeError('x is undefined'), attempts: 1, groupId: 'g' });
    expect(record.headers[HEADER.dlqError]).toBe('TypeError');
    expect(record.headers[HEADER.dlqRetriable]).toBe('false');
    // As mysql2 throws them: a plain Error with the server's code.
    const tooLong = Object.assign(new Error("Data too long for column 'user_login' at row 1"), { code: 'ER_DATA_TOO_LONG', errno: 1406 });
    expect(deadLetterRecord({ topic: 't', partition: 0, message, error: tooLong, attempts: 1, groupId: 'g' }).headers[HEADER.dlqError]).toBe('ER_DATA_TOO_LONG');
  });

  it('keeps every value of a repeated header and non-UTF-8 bytes as written, and leaves out a header with no value', () => {
    // A header with no value reaches kafkajs as null, which its types leave out; kafkajs cannot write one back.
    const headers = { 'x-bin': Buffer.from([0xff, 0xfe, 0x00, 0x80]), dup: [Buffer.from('first'), Buffer.from('second')], 'x-null': null } as unknown as IHeaders;
    const record = deadLetterRecord({ topic: 't', partition: 0, message: { ...message, headers }, error: new TypeError('x'), attempts: 1, groupId: 'g' });
    expect(record.headers['x-bin']).toEqual([Buffer.from([0xff, 0xfe, 0x00, 0x80])]);
    expect(record.headers['dup']).toEqual([Buffer.from('first'), Buffer.from('second')]);
    expect(Object.keys(record.headers)).not.toContain('x-null');
  });

  it('says which headers it left out for having no value, names with commas included, and keeps the message\'s own timestamp (found by a review: dropped in silence)', () => {
    const headers = { 'x-null': null, 'a,b': null, kept: Buffer.from('yes') } as unknown as IHeaders;
    const record = deadLetterRecord({ topic: 't', partition: 0, message: { ...message, headers, timestamp: '1765000000123' }, error: new TypeError('x'), attempts: 1, groupId: 'g' });
    expect(record.headers[HEADER.dlqDroppedHeaders]).toBe('["x-null","a,b"]');
    expect(letterFactsOf(record.headers as IHeaders)).toMatchObject({ droppedHeaders: ['x-null', 'a,b'], originalTimestamp: '1765000000123' });
    expect(deadLetterRecord({ topic: 't', partition: 0, message, error: new TypeError('x'), attempts: 1, groupId: 'g' }).headers[HEADER.dlqDroppedHeaders]).toBeUndefined();
    expect(oversizedDeadLetterRecord({ topic: 't', partition: 0, message: { ...message, headers }, error: new TypeError('x'), attempts: 1, groupId: 'g' }).headers[HEADER.dlqOriginalTimestamp]).toBe('0');
  });
});
