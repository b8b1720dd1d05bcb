import { isLosslessNumber, parse } from 'lossless-json';

/** Where in a document a field sits: names of object members, `*` for any array item or member. */
export type JsonPath = readonly string[];

const HEALTHCHECK_DURATIONS = ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'];

/**
 * Fields that Go's encoding/json (every registry, containerd, skopeo, crane) reads into an integer: in manifests
 * and indexes, descriptor sizes and schemaVersion (and the descriptors of a docker-save manifest's LayerSources);
 * in image configs, the health check's durations (nanoseconds) and retries. Elsewhere a document may hold any
 * number: Go passes over fields it does not know, so a vendor's `{"size": 1.5}` under another name is no problem.
 */
export const MANIFEST_INTEGER_PATHS: readonly JsonPath[] = [
  ['schemaVersion'], ['config', 'size'], ['layers', '*', 'size'], ['manifests', '*', 'size'], ['subject', 'size'], ['blobs', '*', 'size'],
  ['*', 'LayerSources', '*', 'size'],
];
export const CONFIG_INTEGER_PATHS: readonly JsonPath[] = ['config', 'container_config'].flatMap((part) => HEALTHCHECK_DURATIONS.map((name) => [part, 'Healthcheck', name]));
const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]*)$/;

/** `layers[2].size` for a path as found. */
function pathText(found: readonly (string | number)[]): string {
  return found.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
}

/** The first number at one of `paths` that is not written as an integer, with where it was. */
function firstNonInteger(value: unknown, paths: readonly JsonPath[], at: (string | number)[]): { where: string; written: string } | undefined {
  if (isLosslessNumber(value)) {
    const matches = paths.some((path) => path.length === at.length && path.every((part, index) => part === '*' || part === at[index]));
    return matches && !INTEGER_TEXT.test(value.value) ? { where: pathText(at), written: value.value } : undefined;
  }
  // Only down paths some field lies on: a big layer list is walked, an unrelated subtree is not.
  const onPath = (next: string | number): boolean => paths.some((path) => path.length > at.length && at.every((part, index) => path[index] === '*' || path[index] === part)
    && (path[at.length] === '*' || path[at.length] === next));
  const children: [string | number, unknown][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : typeof value === 'object' && value !== null ? Object.entries(value) : [];
  for (const [name, child] of children) {
    if (!onPath(name)) continue;
    const found = firstNonInteger(child, paths, [...at, name]);
    if (found) return found;
  }
  return undefined;
}

/**
 * The first such field whose number is written with a fraction or an exponent (`3212.0`, `3212e0`, `2.0`), as
 * a problem to name; undefined when there is none. JavaScript reads those as the integer and a Go reader refuses
 * the whole document, so an image holding one passed validation, then its manifest was refused by the registry
 * after its blobs were pushed. The text is read a second time, keeping each number as written.
 */
export function goIntegerProblem(text: string, paths: readonly JsonPath[] = MANIFEST_INTEGER_PATHS): string | undefined {
  let document: unknown;
  try {
    document = parse(text);
  } catch {
    // JSON.parse took it already: what lossless-json alone refuses (a key given twice with two values) is left as JSON.parse read it.
    return undefined;
  }
  const found = firstNonInteger(document, paths, []);
  return found && `${found.where} is written ${found.written}, which Go's JSON reader (registries, containerd, skopeo) refuses for an integer field: write it without a fraction or exponent`;
}

/** Fields Go reads into a time.Time: the image config's `created` and each history entry's. */
export const CONFIG_TIME_PATHS: readonly JsonPath[] = [['created'], ['history', '*', 'created']];

/** An object or array the scan is inside: the member or item it is at. */
interface Frame {
  readonly isObject: boolean;
  name: string | number;
  /** In an object, whether the next string is a key. */
  expectsKey: boolean;
}

/** Where the string starting at `start` (its opening quote) ends: the index after its closing quote. */
function endOfString(text: string, start: number): number {
  let at = start + 1;
  while (at < text.length && text[at] !== '"') at += text[at] === '\\' ? 2 : 1;
  return at + 1;
}

/**
 * Each string at one of `paths`, as written between its quotes (escapes undecoded), with where it is: every
 * occurrence, a key given twice too, since Go reads each. `text` is JSON already (JSON.parse took it); walked
 * without recursion, a character at a time.
 */
function rawStringsAt(text: string, paths: readonly JsonPath[]): { where: string; raw: string }[] {
  const found: { where: string; raw: string }[] = [];
  const stack: Frame[] = [];
  const atPath = (): boolean => paths.some((path) => path.length === stack.length && path.every((part, index) => part === '*' || part === stack[index]?.name));
  for (let at = 0; at < text.length;) {
    const char = text[at];
    const top = stack[stack.length - 1];
    if (char === '{' || char === '[') stack.push({ isObject: char === '{', name: char === '{' ? '' : 0, expectsKey: char === '{' });
    else if (char === '}' || char === ']') stack.pop();
    else if (char === ',' && top !== undefined) {
      if (top.isObject) top.expectsKey = true;
      else top.name = Number(top.name) + 1;
    } else if (char === '"') {
      const end = endOfString(text, at);
      if (top?.isObject && top.expectsKey) {
        // Go matches a key after decoding its escapes, as JSON.parse does: `"cr\u0065ated"` is `created` to both.
        top.name = JSON.parse(text.slice(at, end)) as string;
        top.expectsKey = false;
      } else if (atPath()) {
        found.push({ where: pathText(stack.map((frame) => frame.name)), raw: text.slice(at + 1, end - 1) });
      }
      at = end;
      continue;
    }
    at += 1;
  }
  return found;
}

/**
 * The first time (at `paths`) written with a JSON escape (`"2026-12-04T10:00:00\u005a"`, .NET's `\u002B05:30`), as
 * a problem to name; undefined when there is none. Go's time.Time takes the text between the quotes as it is,
 * without decoding escapes (time.go, "TODO: Properly unescape a JSON string"), and refuses it, so containerd,
 * docker and skopeo refuse the whole config, while JavaScript reads the time it spells: such an image passed
 * validation and was never pulled.
 */
export function goTimeProblem(text: string, paths: readonly JsonPath[] = CONFIG_TIME_PATHS): string | undefined {
  for (const { where, raw } of rawStringsAt(text, paths)) {
    const escape = /\\(?:u[0-9a-fA-F]{4}|.)/.exec(raw)?.[0];
    if (escape !== undefined) {
      return `${where} is written with the JSON escape ${escape}, which Go tools (containerd, docker, skopeo) cannot read in a time: they take a time's text as written, `
        + 'without decoding escapes, and refuse the whole config; write the time\'s characters themselves (such as 2026-12-04T10:00:00Z)';
    }
  }
  return undefined;
}
