import { describe, expect, it } from 'vitest';
import { quotable } from './registry-words.js';

describe('quotable', () => {
  it('cuts a long quote before an emoji, never between its halves', () => {
    for (const pad of ['', 'x']) {
      const quoted = quotable(`${pad}${'🚀'.repeat(600)}`, 101);
      expect(quoted.endsWith('…')).toBe(true);
      // A high surrogate with no low one after it, or a low one with no high one before it: half an emoji.
      expect(quoted).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    }
  });
});
