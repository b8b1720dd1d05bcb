import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { loadSchemas } from './catalogue.js';
import type { ImageAnnotations } from './events.js';
import { byKeyBytes, entryBytes, LABEL_BUDGET_BYTES, LabelBudget, sortedEntries } from './label-budget.js';
import { sampleEvents } from './samples.js';

describe('LabelBudget', () => {
  it('orders keys by their UTF-8 bytes (code points), as Go and Python do, not by UTF-16 code units', () => {
    expect(['😀', '！', 'b', 'A', ''].sort(byKeyBytes)).toEqual(['', 'A', 'b', '！', '😀']);
    expect(sortedEntries({ b: '', a: 'x' })).toEqual([{ key: 'a', value: 'x' }, { key: 'b', value: '' }]);
  });

  it('counts keys and values as UTF-8 bytes', () => {
    expect(entryBytes('é', '🚀')).toBe(2 + 4);
    expect(LABEL_BUDGET_BYTES).toBe(65_536);
  });

  it('keeps entries in key order while they fit, leaves out and counts one that does not, and goes on with the next', () => {
    const budget = new LabelBudget(10);
    expect(budget.keep({ c: 'ccc', a: 'aaaa', b: 'bbbbbbbbbb' })).toEqual([{ key: 'a', value: 'aaaa' }, { key: 'c', value: 'ccc' }]);
    expect(budget.leftOut).toBe(1);
    // What is left (1 byte) takes an empty-valued one-byte key, and spans maps.
    expect(budget.keepMap({ d: '', ee: '' })).toEqual({ d: '' });
    expect(budget.leftOut).toBe(2);
    expect(new LabelBudget(-5).keep({ a: '' })).toEqual([]);
  });

  it('keeps the same entries from entries sorted beforehand (keepSorted) as from the map, and counts alike', () => {
    const maps: Record<string, string>[] = [{ c: 'ccc', a: 'aaaa', b: 'bbbbbbbbbb' }, { d: '', ee: '', '😀': 'x' }];
    const fromMaps = new LabelBudget(12);
    const fromSorted = new LabelBudget(12);
    for (const map of maps) expect(fromSorted.keepSorted(sortedEntries(map))).toEqual(fromMaps.keep(map));
    expect(fromSorted.leftOut).toBe(fromMaps.leftOut);
    expect(fromSorted.leftOut).toBe(2);
  });
});

describe('ImageSummary.annotations in the events (added 2026-12-07)', () => {
  const schemas = loadSchemas();
  const annotations: ImageAnnotations = {
    manifest: { 'org.opencontainers.image.revision': 'abc123', '': '', 'ünï': 'Béla 🚀' },
    index: { 'org.opencontainers.image.source': 'https://github.com/acme/billing' },
    platforms: [{ platform: 'linux/arm64/v8', digest: `sha256:${'a'.repeat(64)}`, labels: { maintainer: '' }, annotations: {} }],
    leftOut: 2,
  };
  /** `schema` without ImageSummary.annotations: what events were written with before it. */
  const withoutAnnotations = (schema: unknown): unknown => {
    if (Array.isArray(schema)) return schema.map(withoutAnnotations);
    if (typeof schema !== 'object' || schema === null) return schema;
    const record = schema as Record<string, unknown>;
    const fields = record['name'] === 'ImageSummary' ? (record['fields'] as { name: string }[]).filter((field) => field.name !== 'annotations') : record['fields'];
    return Object.fromEntries(Object.entries({ ...record, ...(fields === undefined ? {} : { fields }) }).map(([key, value]) => [key, withoutAnnotations(value)]));
  };

  for (const topic of ['orbit.image.validated', 'orbit.image.stored'] as const) {
    it(`travels through ${topic} byte for byte, and an event written before it reads as null (not known)`, () => {
      const type = avro.Type.forSchema(schemas.get(topic) as avro.Schema);
      const event = { ...sampleEvents()[topic], image: { ...sampleEvents()[topic].image, annotations } };
      expect(type.fromBuffer(type.toBuffer(event))).toEqual(event);
      const old = avro.Type.forSchema(withoutAnnotations(schemas.get(topic)) as avro.Schema);
      expect(JSON.stringify(old.schema())).not.toContain('ImageAnnotations');
      const { annotations: _new, ...oldImage } = sampleEvents()[topic].image;
      const written = old.toBuffer({ ...sampleEvents()[topic], image: oldImage });
      const read = type.fromBuffer(written, type.createResolver(old)) as { image: { annotations: unknown } };
      expect(read.image.annotations).toBeNull();
      // And an older reader reads a new event, leaving the field out (forward compatible).
      expect(() => old.fromBuffer(type.toBuffer(event), old.createResolver(type))).not.toThrow();
    });
  }
});
