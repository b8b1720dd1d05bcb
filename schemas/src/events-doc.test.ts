import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** docs/events.md: what a subscriber is told each topic's events carry. */
const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
const avro = new URL('../avro/', import.meta.url);

/** The fields every event carries, named once above the table rather than in each row. */
const COMMON = ['eventId', 'pid', 'correlationId', 'imageUID', 'occurredAt', 'actor', 'requestId'];

/** Each schema's record name and top-level field names. */
const schemas = readdirSync(avro).filter((file) => file.endsWith('.avsc')).map((file) => {
  const schema = JSON.parse(readFileSync(new URL(file, avro), 'utf8')) as { name: string; fields: { name: string }[] };
  return { name: schema.name, fields: schema.fields.map((field) => field.name) };
});

/** The topic table's last cell (`besides the common fields`), by event name. */
function rowsByEvent(): Map<string, string> {
  const section = doc.slice(doc.indexOf('## Topics'), doc.indexOf('## What a subscriber can count on'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n').filter((text) => text.startsWith('| `orbit.'))) {
    const cells = line.split(' | ');
    const event = cells[1]?.trim();
    if (event) rows.set(event, cells.slice(3).join(' | '));
  }
  return rows;
}

describe('docs/events.md and the Avro schemas (found by a review: the table left out fields the schemas carry)', () => {
  it('names every field of every event: the common ones above the table, the others in its topic\'s row', () => {
    const rows = rowsByEvent();
    const common = doc.slice(doc.indexOf('## Topics'), doc.indexOf('| topic |'));
    const missing: string[] = [];
    for (const { name, fields } of schemas) {
      const row = rows.get(name);
      if (row === undefined) {
        missing.push(`${name}: no row`);
        continue;
      }
      for (const field of fields) {
        const text = COMMON.includes(field) ? common : row;
        if (!text.includes(`\`${field}\``)) missing.push(`${name}.${field}`);
      }
    }
    expect(schemas.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });
});
