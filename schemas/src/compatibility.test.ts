import { describe, expect, it } from 'vitest';
import type { AvroSchemaJson } from '@orbit/lib';
import { backwardTransitiveProblems, forwardProblems } from './compatibility.js';
import { loadSchemas } from './catalogue.js';

const v1: AvroSchemaJson = { type: 'record', name: 'E', fields: [{ name: 'id', type: 'string' }] };
const v2: AvroSchemaJson = { type: 'record', name: 'E', fields: [{ name: 'id', type: 'string' }, { name: 'note', type: ['null', 'string'], default: null }] };

describe('backwardTransitiveProblems', () => {
  it('accepts a new optional field with a default', () => {
    expect(backwardTransitiveProblems('s', v2, [{ version: 1, schema: v1 }])).toEqual([]);
  });

  it('refuses a new field without a default', () => {
    const broken = { type: 'record', name: 'E', fields: [{ name: 'id', type: 'string' }, { name: 'size', type: 'long' }] };
    expect(backwardTransitiveProblems('s', broken, [{ version: 1, schema: v1 }])).toHaveLength(1);
  });

  it('checks against every earlier version, not only the latest', () => {
    // v3 drops the default of `note`: compatible with v2 (which has note) but not with v1.
    const v3 = { type: 'record', name: 'E', fields: [{ name: 'id', type: 'string' }, { name: 'note', type: ['null', 'string'] }] };
    const problems = backwardTransitiveProblems('s', v3, [{ version: 1, schema: v1 }, { version: 2, schema: v2 }]);
    expect(problems.map((problem) => problem.version)).toEqual([1]);
  });

  it('refuses a type change that Avro cannot promote', () => {
    const retyped = { type: 'record', name: 'E', fields: [{ name: 'id', type: 'int' }] };
    expect(backwardTransitiveProblems('s', retyped, [{ version: 1, schema: v1 }])).toHaveLength(1);
  });
});

/** `schema` with `symbol` taken out of every enum that has it, and the enum's default with it: a schema before it was added. */
function withoutSymbol(schema: unknown, symbol: string): unknown {
  if (Array.isArray(schema)) return schema.map((inner) => withoutSymbol(inner, symbol));
  if (typeof schema !== 'object' || schema === null) return schema;
  const entries = Object.entries(schema).map(([key, value]) => [key, withoutSymbol(value, symbol)] as const);
  const object: Record<string, unknown> = Object.fromEntries(entries);
  if (object['type'] === 'enum' && Array.isArray(object['symbols']) && object['symbols'].includes(symbol)) {
    const { default: _dropped, ...rest } = object;
    return { ...rest, symbols: object['symbols'].filter((known) => known !== symbol) };
  }
  return object;
}

describe('forwardProblems', () => {
  // 1a8a202 added ZSTD to Compression: a harbor-writer built before it could not read a single ImageValidated a new
  // validator wrote, and dead-lettered every upload of a rolling upgrade. The next such change is now told.
  it('names a schema whose latest registered version cannot read what it writes (an enum symbol added)', () => {
    const validated = loadSchemas().get('orbit.image.validated');
    if (!validated) throw new TypeError('ImageValidated is bundled');
    const beforeZstd = withoutSymbol(validated, 'ZSTD') as AvroSchemaJson;
    const problems = forwardProblems('orbit.image.validated-value', validated, { version: 7, schema: beforeZstd });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ subject: 'orbit.image.validated-value', version: 7 });
    expect(backwardTransitiveProblems('orbit.image.validated-value', validated, [{ version: 7, schema: beforeZstd }])).toEqual([]);
  });

  it('says nothing of a new optional field, an unchanged schema, or a first one', () => {
    expect(forwardProblems('s', v2, { version: 1, schema: v1 })).toEqual([]);
    expect(forwardProblems('s', v2, { version: 2, schema: v2 })).toEqual([]);
    expect(forwardProblems('s', v1, undefined)).toEqual([]);
  });
});
