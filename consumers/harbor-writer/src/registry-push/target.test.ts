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
  it('pushes to ORBIT_IMAGE_REGISTRY/<chart name> with both tags', () => {
    expect(pushTargetOf('registry.example.com/orbit', 'Billing API', UID, '1.0.0')).toMatchObject({
      registry: 'registry.example.com', repository: 'orbit/billing-api', name: 'registry.example.com/orbit/billing-api', tags: ['1.0.0', '1.0.0-AbC123def456'],
    });
  });
});
