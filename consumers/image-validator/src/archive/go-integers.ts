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
