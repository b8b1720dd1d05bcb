import { describe, expect, it } from 'vitest';
import { ownerKeySegment } from './stores.js';

describe('ownerKeySegment', () => {
  it('keeps a user name readable, encoded so any name makes a valid key', () => {
    expect(ownerKeySegment('dev1')).toBe('dev1');
    expect(ownerKeySegment('jane.doe@example.com')).toBe('jane.doe%40example.com');
    expect(ownerKeySegment('a/../b c')).toBe('a%2F..%2Fb%20c');
  });

  it('turns a name too long for one key segment into a fixed-length digest that no encoded name can equal', () => {
    const cjk = ownerKeySegment('名'.repeat(255));
    expect(cjk).toMatch(/^=[0-9a-f]{64}$/);
    expect(ownerKeySegment('名'.repeat(255))).toBe(cjk);
    expect(ownerKeySegment('名'.repeat(254))).not.toBe(cjk);
    expect(ownerKeySegment('u'.repeat(255))).toMatch(/^=[0-9a-f]{64}$/);
    expect(ownerKeySegment('u'.repeat(128))).toBe('u'.repeat(128));
    expect(ownerKeySegment(`=${'0'.repeat(64)}`)).toBe(`%3D${'0'.repeat(64)}`);
  });
});
