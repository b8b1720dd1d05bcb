import { describe, expect, it } from 'vitest';
import type { AvroSchemaJson } from '@orbit/lib';
import { backwardTransitiveProblems } from './compatibility.js';

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
