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

  it('define each named type shared between them (Actor, ObjectRef, …) alike, so generating classes from all of them at once makes one class of each', () => {
    // Code generators (avro-maven-plugin, avro-tools) given every schema at once take a shared name once and refuse,
    // or silently keep one of, two different definitions of it.
    const definitions = new Map<string, Set<string>>();
    const visit = (node: unknown, namespace: string): void => {
      if (Array.isArray(node)) return node.forEach((item) => visit(item, namespace));
      if (typeof node !== 'object' || node === null) return;
      const schema = node as Record<string, unknown>;
      const named = typeof schema['name'] === 'string' && ['record', 'enum', 'fixed'].includes(String(schema['type']));
      const inner = typeof schema['namespace'] === 'string' ? schema['namespace'] : namespace;
      if (named) {
        const name = String(schema['name']);
        const fullName = name.includes('.') ? name : `${inner}.${name}`;
        (definitions.get(fullName) ?? definitions.set(fullName, new Set()).get(fullName))?.add(JSON.stringify(schema));
      }
      for (const value of Object.values(schema)) visit(value, named ? fullNameSpace(schema, inner) : inner);
    };
    const fullNameSpace = (schema: Record<string, unknown>, namespace: string): string => {
      const name = String(schema['name']);
      return name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : namespace;
    };
    for (const schema of schemas.values()) visit(schema, '');
    const shared = [...definitions].filter(([, seen]) => seen.size > 1).map(([name]) => name);
    expect(shared).toEqual([]);
    expect(definitions.get('dev.orbit.events.Actor')?.size).toBe(1);
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

  it('carry a multi-platform image\'s index, attestation included, through ImageValidated and ImageStored unchanged', () => {
    const events = sampleEvents();
    const digest = (c: string): string => `sha256:${c.repeat(64)}`;
    const index = {
      digest: digest('f'), mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { digest: digest('a'), mediaType: 'application/vnd.oci.image.manifest.v1+json', sizeBytes: 500, os: 'linux', architecture: 'arm64', variant: 'v8', attestation: false, configDigest: digest('b'), blobs: [{ digest: digest('c'), sizeBytes: 1234 }] },
        { digest: digest('9'), mediaType: 'application/vnd.oci.image.manifest.v1+json', sizeBytes: 400, os: '', architecture: '', variant: null, attestation: true, configDigest: digest('8'), blobs: [{ digest: digest('7'), sizeBytes: 12 }] },
      ],
    };
    for (const topic of ['orbit.image.validated', 'orbit.image.stored'] as const) {
      const event = { ...events[topic], image: { ...events[topic].image, index } };
      const type = avro.Type.forSchema(schemas.get(topic) as avro.Schema);
      expect(type.fromBuffer(type.toBuffer(event))).toEqual(event);
    }
  });
});
