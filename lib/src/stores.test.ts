import { describe, expect, it } from 'vitest';
import { isStagedBy, ownerKeySegment } from './stores.js';

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

  it('turns `.` and `..`, which the encoding keeps and S3 stores refuse as a key segment, into their digests (found by a review: every upload of such a user was a 500)', () => {
    for (const name of ['.', '..']) {
      expect(ownerKeySegment(name)).toMatch(/^=[0-9a-f]{64}$/);
      expect(isStagedBy({ bucket: 'staging', key: `uploads/${ownerKeySegment(name)}/direct/u1.tar` }, name, 'staging')).toBe(true);
    }
    expect(ownerKeySegment('.')).not.toBe(ownerKeySegment('..'));
    expect(ownerKeySegment('...')).toBe('...');
  });
});

describe('isStagedBy', () => {
  const staging = 'temporary-app-image-1203-bkt-k8d-aws';

  it('accepts what the gateway and the validator stage for the owner', () => {
    expect(isStagedBy({ bucket: staging, key: 'uploads/dev1/2026/11/22/u1.tar' }, 'dev1', staging)).toBe(true);
    expect(isStagedBy({ bucket: staging, key: 'uploads/dev1/direct/u1.tar' }, 'dev1', staging)).toBe(true);
    expect(isStagedBy({ bucket: staging, key: 'uploads/jane.doe%40example.com/pulled/r1.tar' }, 'jane.doe@example.com', staging)).toBe(true);
    expect(isStagedBy({ bucket: staging, key: `uploads/${ownerKeySegment('名'.repeat(255))}/direct/u1.tar` }, '名'.repeat(255), staging)).toBe(true);
  });

  it('refuses a stored image or any object outside the staging bucket', () => {
    expect(isStagedBy({ bucket: 'app-image-1206-bkt-k8d-aws', key: 'uploads/dev1/direct/u1.tar' }, 'dev1', staging)).toBe(false);
    expect(isStagedBy({ bucket: 'app-image-1206-bkt-k8d-aws', key: 'someUID-v1-0-00.tar' }, 'dev1', staging)).toBe(false);
  });

  it("refuses another owner's upload, also one whose name starts like the owner's", () => {
    expect(isStagedBy({ bucket: staging, key: 'uploads/dev2/direct/u1.tar' }, 'dev1', staging)).toBe(false);
    expect(isStagedBy({ bucket: staging, key: 'uploads/dev10/direct/u1.tar' }, 'dev1', staging)).toBe(false);
    expect(isStagedBy({ bucket: staging, key: 'uploads/dev1' }, 'dev1', staging)).toBe(false);
    expect(isStagedBy({ bucket: staging, key: 'bench/raw-1.tar' }, 'dev1', staging)).toBe(false);
    expect(isStagedBy({ bucket: staging, key: 'uploads/a/direct/u1.tar' }, 'a/../b', staging)).toBe(false);
  });

  it('refuses keys that only path normalisation would move out of the prefix', () => {
    for (const key of ['uploads/dev1/../dev2/u1.tar', 'uploads/dev1/./u1.tar', 'uploads/dev1//u1.tar', 'uploads/dev1/', 'uploads/dev1/direct/..', 'uploads/dev1/u1.tar/']) {
      expect(isStagedBy({ bucket: staging, key }, 'dev1', staging), key).toBe(false);
    }
  });

  it('refuses everything for an empty owner', () => {
    expect(isStagedBy({ bucket: staging, key: 'uploads//u1.tar' }, '', staging)).toBe(false);
  });
});
