import { describe, expect, it } from 'vitest';
import { jsonRefusal } from './json-body.js';

describe('jsonRefusal', () => {
  it('tells broken JSON (with where it broke) from valid JSON refused for a poisoning key', () => {
    expect(jsonRefusal('{"metadata": {')).toMatch(/^the body is not valid JSON: .*JSON/);
    expect(jsonRefusal(' ')).toBe('the body is empty; send a JSON object');
    expect(jsonRefusal('{"metadata": {"__proto__": {"admin": true}}}')).toMatch(/"__proto__".*prototype poisoning/);
  });
});
