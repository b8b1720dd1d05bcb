import { createHash } from 'node:crypto';
import { createDynamo, tableName } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { DynamoBlobLocations } from './dynamo-blob-locations.js';

const locations = new DynamoBlobLocations(createDynamo(testConfig), tableName('registryBlobLocations', testConfig));
const digestOf = (seed: string): string => `sha256:${createHash('sha256').update(seed).digest('hex')}`;

describe('the blob-locations table (DynamoDB Local)', () => {
  it('records and finds an image\'s worth of blobs past DynamoDB\'s batch limits, per registry', async () => {
    const registry = `registry-${uniqueSuffix()}.test`;
    const digests = Array.from({ length: 130 }, (_, index) => digestOf(`${registry}-${index}`));
    await locations.record(registry, digests, 'team/base');
    const found = await locations.find(registry, [...digests, digestOf('never pushed')]);
    expect(found.size).toBe(130);
    expect(new Set(found.values())).toEqual(new Set(['team/base']));
    expect((await locations.find(`other-${registry}`, digests)).size).toBe(0);
  });

  it('drops a record only while it names the repository that failed to lend the blob', async () => {
    const registry = `registry-${uniqueSuffix()}.test`;
    const digest = digestOf(registry);
    await locations.record(registry, [digest], 'team/newer');
    await locations.drop(registry, digest, 'team/older');
    expect((await locations.find(registry, [digest])).get(digest)).toBe('team/newer');
    await locations.drop(registry, digest, 'team/newer');
    expect((await locations.find(registry, [digest])).size).toBe(0);
  });
});
