import { describe, expect, it } from 'vitest';
import { planOverview, type VersionReach } from './image-overview.js';

const versions: VersionReach[] = [
  { at: 3, environments: ['Development', 'Testing', 'Staging'] },
  { at: 7, environments: ['Development', 'Testing'] },
  { at: 9, environments: ['Development'] },
  { at: 12, environments: ['Development'] },
];

describe('planOverview', () => {
  it('shows the owner the newest versions, oldest first, and counts and places every one', () => {
    expect(planOverview(true, versions, [], 2)).toEqual({ shown: [9, 12], seen: [3, 7, 9, 12], versionCount: 4, environments: ['Development', 'Testing', 'Staging'] });
    expect(planOverview(true, versions, [], 10)?.shown).toEqual([3, 7, 9, 12]);
  });

  it('shows a role holder only the versions in environments they read, counted and placed by those alone', () => {
    expect(planOverview(false, versions, ['Staging', 'Production'], 10)).toEqual({ shown: [3], seen: [3], versionCount: 1, environments: ['Development', 'Testing', 'Staging'] });
    expect(planOverview(false, versions, ['Testing', 'Staging'], 1)).toEqual({ shown: [7], seen: [3, 7], versionCount: 2, environments: ['Development', 'Testing', 'Staging'] });
  });

  it('shows another owner\'s image none of whose versions the caller reads as nothing', () => {
    expect(planOverview(false, versions, ['Production'], 10)).toBeUndefined();
    expect(planOverview(false, versions, [], 10)).toBeUndefined();
    // An owner's image is theirs even before it holds a version.
    expect(planOverview(true, [], [], 10)).toEqual({ shown: [], seen: [], versionCount: 0, environments: [] });
  });
});
