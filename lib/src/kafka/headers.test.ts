import { describe, expect, it } from 'vitest';
import type { IHeaders } from './client.js';
import { droppedHeaderNamesOf, headerBytes, headersToStrings, valuelessHeaderNames } from './headers.js';

// As kafkajs hands back a header with no value (length -1, which Java, librdkafka and kcat write): its types leave null out.
const withNull = { 'x-null': null, 'x-kept': Buffer.from('yes'), dup: [Buffer.from('first'), null, Buffer.from('second')] } as unknown as IHeaders;

describe('headersToStrings', () => {
  it('reads a record with a header that has no value, as if that header were absent', () => {
    expect(headersToStrings(withNull)).toEqual({ 'x-kept': 'yes', dup: 'second' });
  });
});

describe('valuelessHeaderNames', () => {
  it('names the headers headerBytes leaves out, and reads them back from a letter', () => {
    expect(valuelessHeaderNames(withNull)).toEqual(['x-null']);
    expect(droppedHeaderNamesOf(JSON.stringify(['x-null', 'a,b']))).toEqual(['x-null', 'a,b']);
    expect([undefined, 'x-null', '{}', '[1]'].map(droppedHeaderNamesOf)).toEqual([[], [], [], []]);
  });
});

describe('headerBytes', () => {
  it('keeps every value of a repeated header, in order, as bytes', () => {
    expect(headerBytes(withNull)).toEqual({ 'x-kept': [Buffer.from('yes')], dup: [Buffer.from('first'), Buffer.from('second')] });
  });
});
