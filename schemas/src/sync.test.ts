import { describe, expect, it } from 'vitest';
import { sameSchema } from './sync.js';

describe('sameSchema', () => {
  it('takes a schema the registry hands back with its keys in another order for the same one, and tells a real change apart', () => {
    const bundled = { type: 'record', name: 'A', fields: [{ name: 'notes', type: ['null', 'string'], doc: 'why', default: null }] };
    const fromRegistry = { fields: [{ default: null, doc: 'why', name: 'notes', type: ['null', 'string'] }], name: 'A', type: 'record' };
    expect(sameSchema(bundled, fromRegistry)).toBe(true);
    // Order inside arrays is meaning (fields, union branches, enum symbols): not sorted away.
    expect(sameSchema(bundled, { ...fromRegistry, fields: [{ ...fromRegistry.fields[0], type: ['string', 'null'] }] })).toBe(false);
    expect(sameSchema(bundled, { ...bundled, fields: [{ ...bundled.fields[0], doc: 'why not' }] })).toBe(false);
  });
});
