import { describe, expect, it } from 'vitest';
import { archiveDownloadOf, chartIn, copyIn } from './version-objects.js';

const devCopy = { bucket: 'app-image-1206-bkt-k8d-aws', key: 'U-v1-0-00.tar', versionId: 'dev-v' };
const testCopy = { bucket: 'app-image-1209-bkt-k8t-aws', key: 'U-v1-0-00.tar', versionId: 'test-v' };
const chart = { bucket: 'helm-chart-1224-bkt-k8d-aws', key: 'U-v1-0-00/billing-api-1.0.0.tgz', versionId: 'c-v' };
const testingChart = { bucket: 'helm-chart-1224-bkt-k8d-aws', key: 'U-v1-0-00/testing/billing-api-1.0.0.tgz', versionId: 'ct-v' };

describe('copyIn', () => {
  it('finds the Development copy in the version, the others in its promotions, and nothing for a promotion without a location', () => {
    const version = { s3Location: devCopy, promotions: { Testing: { s3Location: testCopy }, Staging: { s3Location: null } } };
    expect(copyIn(version, 'Development')).toEqual(devCopy);
    expect(copyIn(version, 'Testing')).toEqual(testCopy);
    expect(copyIn(version, 'Staging')).toBeUndefined();
    expect(copyIn({ s3Location: { bucket: 'b', key: 'k' } }, 'Development')).toEqual({ bucket: 'b', key: 'k', versionId: null });
  });
});

describe('chartIn', () => {
  const version = {
    chartLocation: chart, chartSha256: 'ab'.repeat(32),
    promotions: { Testing: { s3Location: testCopy, chartLocation: testingChart, chartSha256: 'cd'.repeat(32) }, Staging: { s3Location: testCopy } },
  };

  it('serves an environment with a registry of its own the chart its promotion packaged, and every other environment the version\'s', () => {
    expect(chartIn(version, 'Testing')).toEqual({ location: testingChart, sha256: 'cd'.repeat(32) });
    expect(chartIn(version, 'Staging')).toEqual({ location: chart, sha256: 'ab'.repeat(32) });
    expect(chartIn(version, 'Development')).toEqual({ location: chart, sha256: 'ab'.repeat(32) });
    expect(chartIn(version, 'Production')).toEqual({ location: chart, sha256: 'ab'.repeat(32) });
  });

  it('has no chart before one is stored, and no digest where ViewPort holds none', () => {
    expect(chartIn({ promotions: {} }, 'Testing')).toBeUndefined();
    expect(chartIn({ chartLocation: chart, chartSha256: null }, 'Development')).toEqual({ location: chart });
    expect(chartIn({ chartLocation: chart, promotions: { Testing: { chartLocation: testingChart, chartSha256: 'not a digest' } } }, 'Testing')).toEqual({ location: testingChart });
  });
});

describe('archiveDownloadOf', () => {
  it('names and types the download by how the archive was uploaded, a plain tar for versions from before that was kept', () => {
    expect(archiveDownloadOf({ archiveCompression: 'GZIP' })).toEqual({ suffix: '.tar.gz', contentType: 'application/gzip' });
    expect(archiveDownloadOf({ archiveCompression: 'ZSTD' })).toEqual({ suffix: '.tar.zst', contentType: 'application/zstd' });
    expect(archiveDownloadOf({})).toEqual({ suffix: '.tar', contentType: 'application/x-tar' });
  });
});
