import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { ALL_TOPICS, PID_CATALOGUE } from '@orbit/lib';
import { loadSchemas } from './catalogue.js';
import { sampleEvents } from './samples.js';

describe('bundled Avro schemas', () => {
  const schemas = loadSchemas();

  it('cover every topic of the design', () => {
    expect([...schemas.keys()].sort()).toEqual([...ALL_TOPICS].sort());
  });

  it('all carry the common envelope', () => {
    for (const schema of schemas.values()) {
      const names = (schema['fields'] as { name: string }[]).map((field) => field.name);
      expect(names.slice(0, 6)).toEqual(['eventId', 'pid', 'correlationId', 'imageUID', 'occurredAt', 'actor']);
    }
  });

  it('encode and decode a realistic event of each topic unchanged', () => {
    const pids = new Set(PID_CATALOGUE.map((entry) => entry.pid as string));
    for (const [topic, event] of Object.entries(sampleEvents())) {
      const type = avro.Type.forSchema(schemas.get(topic as never) as avro.Schema);
      expect(pids).toContain(event.pid);
      expect(type.fromBuffer(type.toBuffer(event))).toEqual(event);
    }
  });
});
