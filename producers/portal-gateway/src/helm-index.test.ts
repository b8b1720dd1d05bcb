import { describe, expect, it } from 'vitest';
import { helmIndex } from './helm-index.js';
import type { ImageView } from './ports.js';

const version = (imageVersion: string, chartVersion: string, createdAt: string) => ({
  imageVersion, chartName: 'billing-api', chartVersion, createdAt, environments: ['Development'],
  chartLocation: { bucket: 'charts', key: `billing-api-${chartVersion}.tgz` },
});

describe('helmIndex', () => {
  it('lists a chart\'s versions highest first, as helm repo index does, whatever order they were charted in', () => {
    const image: ImageView = {
      imageUID: 'u'.repeat(60), owner: 'alice', imageName: 'billing-api', description: '', environments: ['Development'],
      versions: [
        version('v1-9-0', '1.9.0', '2026-01-01T00:00:00.000Z'),
        version('v2-0-0', '2.0.0', '2026-01-02T00:00:00.000Z'),
        // A hotfix of the old line, charted last.
        version('v1-10-0', '1.10.0', '2026-01-03T00:00:00.000Z'),
      ],
    };
    const index = helmIndex([image], 'Development');
    expect(index.entries['billing-api']?.map((chart) => chart.version)).toEqual(['2.0.0', '1.10.0', '1.9.0']);
  });

  it('is the same for the same repository: generated is when its newest version arrived there, not the time of asking (found by a probe)', () => {
    const promoted = (imageVersion: string, chartVersion: string, createdAt: string, promotedAt: string) => ({
      ...version(imageVersion, chartVersion, createdAt), environments: ['Development', 'Testing'], promotions: { Testing: { promotedAt } },
    });
    const image: ImageView = {
      imageUID: 'u'.repeat(60), owner: 'alice', imageName: 'billing-api', description: '', environments: ['Development', 'Testing'],
      versions: [
        promoted('v1-0-0', '1.0.0', '2026-01-01T00:00:00.000Z', '2026-01-05T00:00:00.000Z'),
        version('v2-0-0', '2.0.0', '2026-01-02T00:00:00.000Z'),
      ],
    };
    expect(helmIndex([image], 'Development').generated).toBe('2026-01-02T00:00:00.000Z');
    expect(helmIndex([image], 'Testing').generated).toBe('2026-01-05T00:00:00.000Z');
    expect(helmIndex([image], 'Testing')).toEqual(helmIndex([image], 'Testing'));
    expect(helmIndex([], 'Production').generated).toBe('1970-01-01T00:00:00.000Z');
  });
});
