/**
 * JSON can spell half of a UTF-16 surrogate pair alone (`"h\ud800i"`), which is no Unicode text: UTF-8 cannot hold it.
 * A config holding one was stored and announced: avsc wrote it into ImageValidated as bytes that are not UTF-8 (a
 * Python subscriber could not decode the event) or as U+FFFD, the chart carried U+FFFD, Go's JSON reader (docker,
 * containerd) reads U+FFFD, and the registry kept the escape: four readers, four texts. The gateway refuses such text
 * in metadata (producers/portal-gateway/src/well-formed-text.ts); every JSON document of an image is held to the same.
 */

import { loneSurrogateIn } from '@orbit/lib';

/** How much of a key a message names: a key may be a megabyte long. */
const KEY_CHARS_NAMED = 64;

/** A node of the walk: its value, and how it was reached (kept as links, so no path is built unless one is named). */
interface Step {
  readonly value: unknown;
  readonly parent: Step | undefined;
  readonly name: string | number;
}

/** A key as a message names it: plain names after a dot, others quoted; cut to KEY_CHARS_NAMED code points, never within a pair. */
function keyText(key: string): string {
  const points = [...key];
  const shown = points.length > KEY_CHARS_NAMED ? `${points.slice(0, KEY_CHARS_NAMED).join('')}…` : key;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(shown) ? `.${shown}` : `[${JSON.stringify(shown)}]`;
}

/** `config.Labels["org.opencontainers.image.title"]`, `history[2].created_by`; empty for the document itself. */
function pathOf(step: Step | undefined): string {
  const parts: string[] = [];
  for (let at = step; at?.parent !== undefined; at = at.parent) parts.push(typeof at.name === 'number' ? `[${at.name}]` : keyText(at.name));
  const path = parts.reverse().join('');
  return path.startsWith('.') ? path.slice(1) : path;
}

/** The lone half in `text` as its JSON escape (`\ud800`), which quotes it without carrying it. */
function loneHalfOf(text: string): string | undefined {
  const found = loneSurrogateIn(text);
  return found === undefined ? undefined : `\\u${found.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function problem(where: string, half: string): string {
  return `holds text that is not well-formed Unicode ${where}: the surrogate ${half} stands without the other half of its pair, `
    + 'which UTF-8 cannot hold, so Orbit\'s events, its chart, the registry and Go\'s JSON reader (docker, containerd: U+FFFD) would each keep another text; '
    + 'write the character itself, or both halves of its pair';
}

/**
 * The problem to name when a string or a key anywhere in a parsed JSON document is not well-formed UTF-16 (the
 * first one met, in document order), saying where without quoting it; undefined when there is none. Walked
 * without recursion: documents may nest 10 000 deep.
 */
export function illFormedTextProblem(document: unknown): string | undefined {
  const pending: Step[] = [{ value: document, parent: undefined, name: '' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, parent, name } = next;
    const keyHalf = typeof name === 'string' ? loneHalfOf(name) : undefined;
    if (keyHalf !== undefined) return problem(parent?.parent === undefined ? 'in a key at the top level' : `in a key of ${pathOf(parent)}`, keyHalf);
    if (typeof value === 'string') {
      const half = loneHalfOf(value);
      if (half !== undefined) return problem(parent === undefined ? 'as the whole document' : `at ${pathOf(next)}`, half);
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const children: [string | number, unknown][] = Array.isArray(value) ? value.map((item: unknown, index) => [index, item]) : Object.entries(value);
    // Last to first, so the first member is looked at first: the one named is the first a reader meets.
    for (let index = children.length - 1; index >= 0; index -= 1) {
      const [childName, child] = children[index] as [string | number, unknown];
      pending.push({ value: child, parent: next, name: childName });
    }
  }
  return undefined;
}
