import { describe, expect, it } from 'vitest';
import { pushTagsOf, pushTargetOf } from './target.js';

const UID = 'AbC123def456ghi789jkl012mno345pqr678stu901vwx234yz567ABC890DE';

describe('pushTagsOf', () => {
  it('tags by version first, then by version and the image UID for when another image holds the version', () => {
    expect(pushTagsOf('1.0.0', UID)).toEqual(['1.0.0', '1.0.0-AbC123def456']);
  });

  it('keeps the second tag within the 128 characters a tag may have', () => {
    const [, owned] = pushTagsOf('v'.repeat(128), UID);
    expect(owned).toHaveLength(128);
    expect(owned?.endsWith('-AbC123def456')).toBe(true);
  });

  it('gives none for a version that is no tag', () => {
    expect(pushTagsOf('1.0.0+build', UID)).toEqual([]);
  });
});

describe('pushTargetOf', () => {
  it('pushes to ORBIT_IMAGE_REGISTRY/<owner>/<chart name> with both tags (found by a probe: another owner took a version\'s tag in a shared repository first)', () => {
    expect(pushTargetOf('registry.example.com/orbit', { owner: 'ada', imageName: 'Billing API', imageUID: UID }, '1.0.0')).toMatchObject({
      registry: 'registry.example.com', repository: 'orbit/ada/billing-api', name: 'registry.example.com/orbit/ada/billing-api', tags: ['1.0.0', '1.0.0-AbC123def456'],
    });
    const other = pushTargetOf('registry.example.com/orbit', { owner: 'bob', imageName: 'billing-api', imageUID: UID }, '1.0.0');
    expect(other?.name).toBe('registry.example.com/orbit/bob/billing-api');
  });

  it('keeps a stored version under the owner path it was recorded with, and gives the owner\'s path of today to one recorded without', () => {
    expect(pushTargetOf('registry.example.com/orbit', { owner: 'Ada', ownerPath: 'ada-0123abcd', imageName: 'Billing API', imageUID: UID }, '1.0.0')?.name).toBe('registry.example.com/orbit/ada-0123abcd/billing-api');
    expect(pushTargetOf('registry.example.com/orbit', { owner: 'Ada', imageName: 'Billing API', imageUID: UID }, '1.0.0')?.name).toMatch(/^registry\.example\.com\/orbit\/ada-[0-9a-f]{16}\/billing-api$/);
  });

  it('keeps a version recorded without its owner, or pushed before owners had paths, where it was pushed, under the chart name alone', () => {
    expect(pushTargetOf('registry.example.com/orbit', { owner: undefined, imageName: 'Billing API', imageUID: UID }, '1.0.0')?.name).toBe('registry.example.com/orbit/billing-api');
    expect(pushTargetOf('registry.example.com/orbit', { owner: 'ada', ownerPath: null, imageName: 'Billing API', imageUID: UID }, '1.0.0')?.name).toBe('registry.example.com/orbit/billing-api');
  });
});
