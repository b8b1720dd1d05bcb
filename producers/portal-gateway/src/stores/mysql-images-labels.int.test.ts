import { randomUUID } from 'node:crypto';
import { childSpan, newImageUID, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type ImageStored, type OrbitEvent } from '@orbit/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectorBatchHandler } from '../../../../consumers/viewport-projector/src/handle.js';
import { quietLogger, uniqueSuffix } from '../../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../../test/helpers/viewport-db.js';
import { mysqlImageReader } from './mysql-images.js';

const OWNER = `labels-${uniqueSuffix()}`;
const imageUID = newImageUID();
let viewport: PrivateViewport;

/** Version `imageVersion` of the image, stored with labels and annotations, or (`known` false) by an event from before they were read. */
function stored(imageVersion: string, known: boolean): ImageStored {
  const event = sampleEvents(imageUID, `req-${randomUUID()}`)[TOPICS.imageStored];
  const { annotations: _sample, ...image } = event.image;
  return {
    ...event, eventId: randomUUID(), actor: { ...event.actor, username: OWNER }, metadata: { ...event.metadata, imageVersion },
    image: { ...image, config: { ...image.config, labels: { 'org.opencontainers.image.source': 'https://github.com/acme/billing', maintainer: '' } },
      ...(known ? { annotations: { manifest: { 'org.opencontainers.image.revision': 'abc123' }, index: null, platforms: [], leftOut: 0 } } : {}) },
  };
}

beforeAll(async () => {
  viewport = await privateViewport('labels-read');
  const project = projectorBatchHandler({ pool: viewport.pool, groupId: `labels-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
  const events = [stored('v1-0-00', false), stored('v2-0-00', true)];
  await project(events.map((event, offset): ConsumedMessage<OrbitEvent> => ({
    topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
  })));
});

afterAll(async () => { await viewport.drop(); });

describe('a version\'s labels and annotations as the gateway reads them from ViewPort', () => {
  it('reads them for the view of one version, as the projector wrote them, and nothing for a version stored before they were read', async () => {
    const reader = mysqlImageReader(viewport.pool);
    const labelled = (await reader.getVersion(imageUID, 'v2-0-00'))?.versions[0];
    expect(labelled?.['labels']).toEqual({
      platform: 'linux/amd64',
      labels: [{ key: 'maintainer', value: '' }, { key: 'org.opencontainers.image.source', value: 'https://github.com/acme/billing' }],
      annotations: [{ key: 'org.opencontainers.image.revision', value: 'abc123' }], indexAnnotations: null, platforms: [], leftOut: 0, limitBytes: 65_536,
    });
    expect((await reader.getVersion(imageUID, 'v1-0-00'))?.versions[0]).not.toHaveProperty('labels');
  });

  it('leaves them out of every read of several versions: up to 64 KiB each, a page of a hundred would carry them a hundredfold', async () => {
    const reader = mysqlImageReader(viewport.pool);
    const lists = [
      (await reader.get(imageUID))?.versions,
      (await reader.versionsPage(imageUID, { viewer: OWNER, readable: [], limit: 10 }))?.versions,
      (await reader.overview(imageUID, { viewer: OWNER, readable: [], newest: 10 }))?.versions,
    ];
    for (const versions of lists) {
      expect(versions?.map((version) => version['imageVersion']).sort()).toEqual(['v1-0-00', 'v2-0-00']);
      for (const version of versions ?? []) expect(version).not.toHaveProperty('labels');
    }
  });
});
