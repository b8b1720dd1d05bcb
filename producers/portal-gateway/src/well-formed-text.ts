/** A UTF-16 surrogate without its other half: JSON can spell one (`"\ud83d"`), UTF-8 cannot store it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The path of the first string (value or key) in a parsed JSON value that is
 * not well-formed Unicode, or undefined. Such a string reaches every store in
 * another form (MySQL, DynamoDB, Avro and YAML each replace it differently), so
 * the same notes would read back as one thing in the request and another in
 * ViewPort; it is refused at the door instead.
 */
export function illFormedTextAt(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path || 'body' : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((item, index) => [String(index), item]) : Object.entries(value);
  for (const [key, item] of entries) {
    const at = path ? `${path}.${key}` : key;
    if (LONE_SURROGATE.test(key)) return at;
    const found = illFormedTextAt(item, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

export const ILL_FORMED_TEXT = 'must be well-formed Unicode text (it holds half of a surrogate pair, which no store can keep as it was sent)';
