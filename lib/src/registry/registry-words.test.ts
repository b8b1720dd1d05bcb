import { describe, expect, it } from 'vitest';
import { quotable } from './registry-words.js';

describe('quotable', () => {
  it('cuts a long quote before an emoji, never between its halves', () => {
    for (const pad of ['', 'x']) {
      const quoted = quotable(`${pad}${'🚀'.repeat(600)}`, 101);
      expect(quoted.endsWith('…')).toBe(true);
      expect(quoted.slice(0, -1)).toBe(quoted.slice(0, -1).toWellFormed());
    }
  });
});
