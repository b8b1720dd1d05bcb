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
    // A repeated header that lost one value of its values is named too (found by a bug reread: it went unsaid).
    expect(valuelessHeaderNames(withNull)).toEqual(['x-null', 'dup']);
    expect(droppedHeaderNamesOf(JSON.stringify(['x-null', 'a,b']))).toEqual(['x-null', 'a,b']);
    expect([undefined, 'x-null', '{}', '[1]'].map(droppedHeaderNamesOf)).toEqual([[], [], [], []]);
  });
});

describe('headerBytes', () => {
  it('keeps every value of a repeated header, in order, as bytes', () => {
    expect(headerBytes(withNull)).toEqual({ 'x-kept': [Buffer.from('yes')], dup: [Buffer.from('first'), Buffer.from('second')] });
  });
});

describe('headers named like Object.prototype properties', () => {
  // As kafkajs builds them: `headers[name] === undefined` is false for an inherited property, so the inherited function
  // comes first in an array (found by a bug reread: the dead letter's send threw on it, and its partition retried for ever).
  const inherited = JSON.parse('{}') as Record<string, unknown>;
  inherited['constructor'] = [Object, Buffer.from('x')];
  inherited['toString'] = [Object.prototype.toString, Buffer.from('y'), null];
  Object.defineProperty(inherited, '__proto__', { value: [Buffer.from('z')], enumerable: true });
  const headers = inherited as unknown as IHeaders;

  it('keeps only what a producer wrote: bytes, as own headers of the copy', () => {
    const bytes = headerBytes(headers);
    expect(Object.keys(bytes)).toEqual(['constructor', 'toString', '__proto__']);
    expect(bytes['constructor']).toEqual([Buffer.from('x')]);
    expect(bytes['toString']).toEqual([Buffer.from('y')]);
    expect(Object.getPrototypeOf(bytes)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(bytes, '__proto__')?.value).toEqual([Buffer.from('z')]);
    expect(headersToStrings(headers)).toMatchObject({ constructor: 'x', toString: 'y' });
    expect(valuelessHeaderNames(headers)).toEqual(['toString']);
  });
});
