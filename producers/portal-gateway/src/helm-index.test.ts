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
    const index = helmIndex([image], 'Development', new Date('2026-02-01T00:00:00.000Z'));
    expect(index.entries['billing-api']?.map((chart) => chart.version)).toEqual(['2.0.0', '1.10.0', '1.9.0']);
  });
});
