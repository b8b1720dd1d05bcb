import { isWellFormedText } from '@orbit/lib';

/**
 * How deep a JSON body or metadata may nest. Nothing Orbit reads is deeper
 * than four levels; the cap is for extra metadata, and keeps every later
 * walk over the value (the schema, JSON.stringify, Avro) far from the stack's
 * end: thousands of levels ran it out before (a 500).
 */
export const MAX_JSON_DEPTH = 64;

export const ILL_FORMED_TEXT = 'must be well-formed Unicode text (it holds half of a surrogate pair, which no store can keep as it was sent)';
export const TOO_DEEP = `nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`;
/** Said only where a string is taken instead (text, extra metadata): a field that must be a number refuses that number itself. */
export const BEYOND_SAFE_INTEGERS = 'is a number of magnitude 2^53 or more, where JSON readers disagree (JavaScript, and so Orbit, reads 12345678901234567890 as 12345678901234567000; RFC 7493 §2.2): send it as a string';

/** What is wrong with a parsed JSON value, at which path ('body' for the value itself). */
export interface JsonShapeProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * The first string (value or key) in a parsed JSON value that is not
 * well-formed Unicode, the first number too large to be held exactly (but at
 * `numbersCheckedElsewhere`, paths of fields that refuse one themselves), or the
 * first place it nests deeper than MAX_JSON_DEPTH; undefined when there is
 * none. Such a string reaches every store in another form (MySQL, DynamoDB, Avro and YAML each replace it
 * differently), so the same notes would read back as one thing in the request
 * and another in ViewPort; it is refused at the door instead. Walked with a
 * stack of its own, not recursion, so no depth can crash the walk itself.
 */
export function jsonShapeProblem(root: unknown, numbersCheckedElsewhere: readonly string[] = []): JsonShapeProblem | undefined {
  const pending: { value: unknown; path: string; depth: number; key: string }[] = [{ value: root, path: '', depth: 0, key: '' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path, depth, key } = next;
    if (!isWellFormedText(key)) return { path, message: ILL_FORMED_TEXT };
    if (typeof value === 'string') {
      if (!isWellFormedText(value)) return { path: path || 'body', message: ILL_FORMED_TEXT };
      continue;
    }
    // Every such number is an integer to IEEE 754 doubles; past 2^53 they no longer hold each integer, so the value
    // kept may not be the one written, and it would be stored and shown changed without a word.
    // A field that takes only a bounded number (sizeBytes, port) answers such a number itself, as one over its bound:
    // "send it as a string" sent a client to a string that field refuses as not a number.
    if (typeof value === 'number' && Math.abs(value) >= 2 ** 53 && !numbersCheckedElsewhere.includes(path)) return { path: path || 'body', message: BEYOND_SAFE_INTEGERS };
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_JSON_DEPTH) return { path: path || 'body', message: TOO_DEEP };
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((item, index) => [String(index), item]) : Object.entries(value);
    // Pushed last to first, so the first field is looked at first: the problem named is the first one a reader meets.
    for (let index = entries.length - 1; index >= 0; index -= 1) {
      const [name, item] = entries[index] as [string, unknown];
      pending.push({ value: item, path: path ? `${path}.${name}` : name, depth: depth + 1, key: name });
    }
  }
  return undefined;
}
