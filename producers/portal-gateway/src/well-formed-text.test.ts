import { describe, expect, it } from 'vitest';
import { illFormedTextAt } from './well-formed-text.js';

describe('illFormedTextAt', () => {
  it('passes any well-formed text: emoji (a whole surrogate pair), NUL, right-to-left marks, other scripts', () => {
    expect(illFormedTextAt({ notes: 'rc1 🚀 \u0000 \u202e Grüße 日本', list: ['a', { deep: '𝔘' }], n: 1, none: null })).toBeUndefined();
  });

  it('names the first value or key holding half a surrogate pair, however deep', () => {
    expect(illFormedTextAt({ notes: 'broken \ud83d here' })).toBe('notes');
    expect(illFormedTextAt({ metadata: { envVars: [{ key: 'A', value: 'ok' }, { key: 'B', value: '\ude80 low half first' }] } })).toBe('metadata.envVars.1.value');
    expect(illFormedTextAt({ ['key\ud800']: 'x' })).toBe('key\ud800');
    expect(illFormedTextAt('\udbff')).toBe('body');
    expect(illFormedTextAt('\ud83d\ude80'.slice(0, 1))).toBe('body');
  });
});
