import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { childSpan, newImageUID, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { LABEL_BUDGET_BYTES, sampleEvents, type ImageAnnotations, type ImageStored, type OrbitEvent } from '@orbit/schemas';
import { quietLogger, uniqueSuffix } from '../../../test/helpers/index.js';
import { privatePools } from '../../../test/helpers/viewport-db.js';
import { projectionChecksum } from './checksum.js';
import { projectorBatchHandler, projectorHandler } from './handle.js';
import type { LabelsView } from './image-labels.js';
import { versionGuid } from './plan.js';

/**
 * An image's labels and annotations through the projector into MariaDB: kept as the version's `labels` meta, byte for
 * byte and bounded, nothing for an event written before they were read, and the same whether projected one message at
 * a time (the live projector) or in one batch (a rebuild's replay), so viewport:checksum agrees between the two.
 */
const poolOn = privatePools();

const UNICODE_LABELS = { 'org.opencontainers.image.source': 'https://github.com/acme/billing', maintainer: '', 'ünïcode 🚀': 'Béla\u0301 ✓', '10': 'ten', '9': 'nine' };

/** An ImageStored of a new image whose image carries `labels` in its config and `annotations` (undefined: written before the field). */
function storedWith(labels: Record<string, string>, annotations: ImageAnnotations | undefined): ImageStored {
  const stored = sampleEvents(newImageUID(), `req-${uniqueSuffix()}-${randomUUID()}`)[TOPICS.imageStored];
  const { annotations: _sample, ...image } = stored.image;
  return { ...stored, eventId: randomUUID(), image: { ...image, config: { ...image.config, labels }, ...(annotations === undefined ? {} : { annotations }) } };
}

function asMessages(events: readonly ImageStored[]): ConsumedMessage<OrbitEvent>[] {
  return events.map((event, offset) => ({
    topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
  }));
}

async function labelsMeta(pool: Pool, event: ImageStored): Promise<unknown> {
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT m.meta_value FROM wp_postmeta m JOIN wp_posts p ON p.ID = m.post_id WHERE p.guid = ? AND m.meta_key = 'labels'", [versionGuid(event.imageUID, event.metadata.imageVersion)]);
  return rows[0] === undefined ? undefined : JSON.parse(String(rows[0]['meta_value'])) as unknown;
}

describe('the labels and annotations of a stored version in ViewPort (found by a review: shown nowhere)', () => {
  const labelled = storedWith(UNICODE_LABELS, { manifest: { 'org.opencontainers.image.revision': 'abc123', 'clé': '' }, index: null, platforms: [], leftOut: 0 });
  // A CI that writes its changelog into labels: 100 labels of 2 000 bytes.
  const huge = storedWith(Object.fromEntries(Array.from({ length: 100 }, (_, at) => [`changelog.${String(at).padStart(3, '0')}`, 'x'.repeat(2_000)])), { manifest: { z: 'last' }, index: null, platforms: [], leftOut: 1 });
  const old = storedWith(UNICODE_LABELS, undefined);
  // The same version stored again (a harbor-writer run twice) keeps what it had.
  const history = [labelled, huge, old, { ...labelled, eventId: randomUUID() }];

  it('keeps them byte for byte in key order, at most 64 KiB and saying how many were left out, nothing for an event from before, and the same live and rebuilt', async () => {
    const live = await poolOn('labels-live');
    const one = projectorHandler({ pool: live, groupId: 'labels', publisher: { publish: async () => undefined } });
    for (const message of asMessages(history)) await one(message);
    const rebuilt = await poolOn('labels-rebuilt');
    await projectorBatchHandler({ pool: rebuilt, groupId: 'labels', publisher: { publish: async () => undefined } })(asMessages(history));

    expect(await labelsMeta(live, labelled)).toEqual({
      platform: 'linux/amd64',
      labels: [
        { key: '10', value: 'ten' }, { key: '9', value: 'nine' }, { key: 'maintainer', value: '' },
        { key: 'org.opencontainers.image.source', value: 'https://github.com/acme/billing' }, { key: 'ünïcode 🚀', value: 'Béla\u0301 ✓' },
      ],
      annotations: [{ key: 'clé', value: '' }, { key: 'org.opencontainers.image.revision', value: 'abc123' }],
      indexAnnotations: null, platforms: [], leftOut: 0, limitBytes: LABEL_BUDGET_BYTES,
    } satisfies LabelsView);
    const bounded = await labelsMeta(live, huge) as LabelsView;
    // 32 labels of 2 013 bytes fit in 65 536; the 68 others and the validator's one are left out; the annotation fits after them.
    expect([bounded.labels.length, bounded.labels[0]?.key, bounded.labels.at(-1)?.key, bounded.annotations, bounded.leftOut]).toEqual([32, 'changelog.000', 'changelog.031', [{ key: 'z', value: 'last' }], 68 + 1]);
    expect(await labelsMeta(live, old)).toBeUndefined();

    for (const event of [labelled, huge, old]) expect(await labelsMeta(rebuilt, event)).toEqual(await labelsMeta(live, event));
    const checksum = await projectionChecksum(live);
    expect(await projectionChecksum(rebuilt)).toEqual(checksum);
    // The checksum covers them: a projection whose labels differ does not pass as the same.
    await rebuilt.query("UPDATE wp_postmeta SET meta_value = REPLACE(meta_value, 'abc123', 'abc124') WHERE meta_key = 'labels'");
    expect((await projectionChecksum(rebuilt)).sha256).not.toBe(checksum.sha256);
  });
});
