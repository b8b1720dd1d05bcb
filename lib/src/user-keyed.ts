/**
 * An empty record for keys a user chose (env names, label keys, extra metadata fields): without a prototype,
 * `env['__proto__'] = value` stores a key like any other instead of calling Object.prototype's setter, which dropped
 * the variable from every chart, manifest and overlay. Spreads, Object.keys, JSON.stringify and structuredClone all
 * keep such a key as an own property.
 */
export function userKeyedRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
