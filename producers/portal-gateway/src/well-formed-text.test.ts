import { describe, expect, it } from 'vitest';
import { BEYOND_SAFE_INTEGERS, jsonShapeProblem, MAX_JSON_DEPTH } from './well-formed-text.js';

const illFormedAt = (value: unknown) => jsonShapeProblem(value)?.path;

describe('jsonShapeProblem', () => {
  it('passes any well-formed text: emoji (a whole surrogate pair), NUL, right-to-left marks, other scripts', () => {
    expect(jsonShapeProblem({ notes: 'rc1 🚀 \u0000 \u202e Grüße 日本', list: ['a', { deep: '𝔘' }], n: 1, none: null })).toBeUndefined();
  });

  it('names the first value or key holding half a surrogate pair, however deep', () => {
    expect(illFormedAt({ notes: 'broken \ud83d here' })).toBe('notes');
    expect(illFormedAt({ metadata: { envVars: [{ key: 'A', value: 'ok' }, { key: 'B', value: '\ude80 low half first' }] } })).toBe('metadata.envVars.1.value');
    expect(illFormedAt({ ['key\ud800']: 'x' })).toBe('key\ud800');
    expect(illFormedAt({ a: 'fine', b: '\ud800', c: { ['\udc00']: 1 } })).toBe('b');
    expect(illFormedAt('\udbff')).toBe('body');
    expect(illFormedAt('\ud83d\ude80'.slice(0, 1))).toBe('body');
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels, however deep, without running out of stack`, () => {
    const nestedTo = (levels: number): unknown => {
      let value: unknown = 'bottom';
      for (let level = 0; level < levels; level += 1) value = level % 2 === 0 ? { d: value } : [value];
      return value;
    };
    expect(jsonShapeProblem(nestedTo(MAX_JSON_DEPTH))).toBeUndefined();
    expect(jsonShapeProblem(nestedTo(MAX_JSON_DEPTH + 1))?.message).toBe(`nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`);
    expect(jsonShapeProblem(nestedTo(200_000))?.path.split('.')).toHaveLength(MAX_JSON_DEPTH);
  });

  it('names a number JSON readers would not all read as written (2^53 or more), and passes every smaller one', () => {
    expect(jsonShapeProblem(JSON.parse('{"extra":{"build":12345678901234567890}}'))).toEqual({ path: 'extra.build', message: BEYOND_SAFE_INTEGERS });
    expect(illFormedAt(JSON.parse('[-9007199254740992]'))).toBe('0');
    expect(illFormedAt(JSON.parse('1e300'))).toBe('body');
    expect(jsonShapeProblem(JSON.parse('{"a":9007199254740991,"b":-9007199254740991,"c":0.1,"d":1e-300,"e":8080}'))).toBeUndefined();
  });

  it('leaves such a number to a field that refuses it itself (sizeBytes: 413 over the limit), and names it anywhere else', () => {
    const body = JSON.parse('{"sizeBytes":9007199254740992,"extra":{"sizeBytes":9007199254740992}}') as unknown;
    expect(jsonShapeProblem(body, ['sizeBytes'])).toEqual({ path: 'extra.sizeBytes', message: BEYOND_SAFE_INTEGERS });
    expect(jsonShapeProblem(body, ['sizeBytes', 'extra.sizeBytes'])).toBeUndefined();
  });
});
