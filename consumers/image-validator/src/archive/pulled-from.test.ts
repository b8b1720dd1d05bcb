import { describe, expect, it } from 'vitest';
import { referrersListedBy } from './pulled-from.js';

describe('referrersListedBy', () => {
  it('names index.json for an uploaded archive, and the source registry, unnamed, for a pulled one (found by a reread: the reference is its owner\'s alone)', () => {
    expect(referrersListedBy('upload')).toBe('index.json also lists');
    expect(referrersListedBy('registry')).toBe('the source registry also has');
  });
});
