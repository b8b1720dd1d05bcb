/**
 * Schemas the API document publishes once, under components.schemas, and refers to wherever they are used. An inline
 * union gave oapi-codegen a Go type with no exported field nor From/As methods (metadata.port could not be set, a
 * transfer's 200 could not be read); a named one gets them, and every generator gives each model one stable name.
 */

type Schema = Record<string, unknown>;

/** Marks a schema with its component name, until publishNamedSchemas takes the mark off (an OpenAPI extension, so harmless if seen). */
const COMPONENT_MARK = 'x-orbit-component';

/** Each component name with the description it is published with: a use may describe itself otherwise, in its answer. */
const registered = new Map<string, string | undefined>();

/** `schema`, to be published as components.schemas[name] and referred to by `$ref` wherever the document holds it. */
export function named<T extends Schema>(name: string, schema: T): T {
  if (registered.has(name)) throw new TypeError(`two schemas are named ${name} in the API document`);
  registered.set(name, typeof schema['description'] === 'string' ? schema['description'] : undefined);
  return { ...schema, [COMPONENT_MARK]: name };
}

const withoutDescription = ({ description: _description, ...rest }: Schema): Schema => rest;

/**
 * The document with every marked schema replaced by a `$ref` to its component, innermost first, and the components
 * added. A use may change only its description (which its answer or property says instead: nothing may sit beside a
 * `$ref` in OpenAPI 3.0); one that changed more (a `nullable`, a field) would be lost, so it is refused here.
 */
export function publishNamedSchemas<T extends object>(document: T): T {
  const components: Record<string, Schema> = {};
  const referenced = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(referenced);
    if (node === null || typeof node !== 'object') return node;
    const { [COMPONENT_MARK]: name, ...schema } = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, referenced(value)])) as Schema;
    if (typeof name !== 'string') return schema;
    const description = registered.get(name);
    const published = { ...withoutDescription(schema), ...(description === undefined ? {} : { description }) };
    const earlier = components[name];
    if (earlier === undefined) components[name] = published;
    else if (JSON.stringify(withoutDescription(earlier)) !== JSON.stringify(withoutDescription(published))) {
      throw new TypeError(`a use of the schema ${name} changes more than its description, which a $ref cannot carry: name that variant apart`);
    }
    return { $ref: `#/components/schemas/${name}` };
  };
  const published = referenced(document) as T & { components?: { schemas?: Record<string, unknown> } };
  if (Object.keys(components).length > 0) {
    published.components = { ...published.components, schemas: { ...published.components?.schemas, ...components } };
  }
  return published;
}
