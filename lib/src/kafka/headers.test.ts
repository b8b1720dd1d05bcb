import { describe, expect, it } from 'vitest';
import type { IHeaders } from './client.js';
import { headerBytes, headersToStrings } from './headers.js';

// As kafkajs hands back a header with no value (length -1, which Java, librdkafka and kcat write): its types leave null out.
const withNull = { 'x-null': null, 'x-kept': Buffer.from('yes'), dup: [Buffer.from('first'), null, Buffer.from('second')] } as unknown as IHeaders;

describe('headersToStrings', () => {
  it('reads a record with a header that has no value, as if that header were absent', () => {
    expect(headersToStrings(withNull)).toEqual({ 'x-kept': 'yes', dup: 'second' });
  });
});

describe('headerBytes', () => {
  it('keeps every value of a repeated header, in order, as bytes', () => {
    expect(headerBytes(withNull)).toEqual({ 'x-kept': [Buffer.from('yes')], dup: [Buffer.from('first'), Buffer.from('second')] });
  });
});
