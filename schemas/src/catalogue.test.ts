import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { ALL_TOPICS, PID_CATALOGUE } from '@orbit/lib';
import { backwardTransitiveProblems, forwardProblems } from './compatibility.js';
import { loadSchemas } from './catalogue.js';
import { shellOf } from './events.js';
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

  describe('the image\'s SHELL (ImageConfigFacts.shell, added 2026-12-07)', () => {
    /** `schema` with ImageConfigFacts' shell field taken out: the schema events were written with before it. */
    const withoutShell = (schema: unknown): unknown => {
      if (Array.isArray(schema)) return schema.map(withoutShell);
      if (typeof schema !== 'object' || schema === null) return schema;
      const object: Record<string, unknown> = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, withoutShell(value)]));
      if (object['name'] === 'ImageConfigFacts' && Array.isArray(object['fields'])) {
        object['fields'] = object['fields'].filter((field: { name?: string }) => field.name !== 'shell');
      }
      return object;
    };

    for (const topic of ['orbit.image.validated', 'orbit.image.stored'] as const) {
      it(`travels through ${topic} unchanged`, () => {
        const event = sampleEvents()[topic];
        const withShell = { ...event, image: { ...event.image, config: { ...event.image.config, shell: ['/bin/bash', '-o', 'pipefail', '-c'] } } };
        const type = avro.Type.forSchema(schemas.get(topic) as avro.Schema);
        expect(type.fromBuffer(type.toBuffer(withShell))).toEqual(withShell);
      });

      it(`reads a ${topic} written before it as no SHELL (/bin/sh -c), and stays compatible both ways with that schema`, () => {
        const current = schemas.get(topic);
        if (current === undefined) throw new TypeError(`${topic} is bundled`);
        const before = withoutShell(current) as typeof current;
        expect(JSON.stringify(before)).not.toEqual(JSON.stringify(current));
        const reader = avro.Type.forSchema(current as avro.Schema);
        const writer = avro.Type.forSchema(before as avro.Schema);
        const { shell: _absent, ...oldConfig } = sampleEvents()[topic].image.config;
        const old = { ...sampleEvents()[topic], image: { ...sampleEvents()[topic].image, config: oldConfig } };
        const read = reader.fromBuffer(writer.toBuffer(old), reader.createResolver(writer)) as typeof old & { image: { config: { shell?: unknown } } };
        expect(read.image.config.shell).toBeNull();
        expect(shellOf(read.image.config as { shell?: readonly string[] | null })).toEqual(['/bin/sh', '-c']);
        expect(backwardTransitiveProblems(`${topic}-value`, current, [{ version: 1, schema: before }])).toEqual([]);
        expect(forwardProblems(`${topic}-value`, current, { version: 1, schema: before })).toEqual([]);
      });
    }
  });

  describe('when the request was accepted (ImageValidated.requestedAt and ImageStored.requestedAt, added 2026-12-07)', () => {
    for (const topic of ['orbit.image.validated', 'orbit.image.stored'] as const) {
      it(`travels through ${topic} as the UploadRequested's occurredAt it was, and an event written before it reads as none, compatible both ways`, () => {
        const current = schemas.get(topic) as { fields: { name: string }[] } | undefined;
        if (current === undefined) throw new TypeError(`${topic} is bundled`);
        // Appended last, so a reader that knows the fields before it is not moved.
        expect(current.fields.at(-1)?.name).toBe('requestedAt');
        const type = avro.Type.forSchema(current as avro.Schema);
        const accepted = { ...sampleEvents()[topic], requestedAt: sampleEvents()['orbit.upload.requested'].occurredAt };
        expect(type.fromBuffer(type.toBuffer(accepted))).toEqual(accepted);
        const before = { ...current, fields: current.fields.filter((field) => field.name !== 'requestedAt') };
        const { requestedAt: _absent, ...old } = accepted;
        const writer = avro.Type.forSchema(before as avro.Schema);
        expect((type.fromBuffer(writer.toBuffer(old), type.createResolver(writer)) as { requestedAt?: unknown }).requestedAt).toBeNull();
        expect(backwardTransitiveProblems(`${topic}-value`, current, [{ version: 1, schema: before }])).toEqual([]);
        expect(forwardProblems(`${topic}-value`, current, { version: 1, schema: before })).toEqual([]);
      });
    }
  });
});
