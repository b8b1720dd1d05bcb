import { describe, expect, it } from 'vitest';
import { named, publishNamedSchemas } from './openapi-components.js';

describe('publishNamedSchemas', () => {
  const leaf = named('TestLeaf', { type: 'object', properties: { a: { type: 'string' } }, description: 'A leaf' });
  const tree = named('TestTree', { anyOf: [leaf, { type: 'string' }] });

  it('replaces every marked schema by a $ref, innermost first, and publishes each once with its own description', () => {
    const document = { paths: { '/x': { get: { responses: { 200: { content: { 'application/json': { schema: { ...tree, description: 'Used here' } } } }, 201: { ...leaf, description: 'Another use' } } } } } };
    const published = publishNamedSchemas(document);
    expect(published.paths['/x'].get.responses[200].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/TestTree' });
    expect(published.paths['/x'].get.responses[201]).toEqual({ $ref: '#/components/schemas/TestLeaf' });
    expect((published as { components?: unknown }).components).toEqual({ schemas: {
      TestLeaf: { type: 'object', properties: { a: { type: 'string' } }, description: 'A leaf' },
      TestTree: { anyOf: [{ $ref: '#/components/schemas/TestLeaf' }, { type: 'string' }] },
    } });
    // The marks never reach the document, nor are the schemas the routes hold changed.
    expect(JSON.stringify(published)).not.toContain('x-orbit-component');
    expect(leaf).toHaveProperty('x-orbit-component', 'TestLeaf');
  });

  it('refuses a use that changes more than the description, which a $ref would drop (a nullable, a field)', () => {
    expect(() => publishNamedSchemas({ a: leaf, b: { ...leaf, nullable: true } })).toThrow(/TestLeaf changes more than its description/);
    expect(() => named('TestLeaf', {})).toThrow(/two schemas are named TestLeaf/);
  });
});
