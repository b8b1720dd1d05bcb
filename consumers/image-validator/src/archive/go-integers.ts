import { isLosslessNumber, parse } from 'lossless-json';

/**
 * Fields that Go's encoding/json (every registry, containerd, skopeo, crane) reads into an integer: in manifests
 * and indexes, descriptor sizes and schemaVersion; in image configs, the health check's durations (nanoseconds)
 * and retries. Elsewhere a document may hold any number: Go passes over fields it does not know.
 */
export const MANIFEST_INTEGER_FIELDS: ReadonlySet<string> = new Set(['size', 'schemaVersion']);
export const CONFIG_INTEGER_FIELDS: ReadonlySet<string> = new Set(['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']);
const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]*)$/;

/**
 * The first such field whose number is written with a fraction or an exponent (`3212.0`, `3212e0`, `2.0`), as
 * a problem to name; undefined when there is none. JavaScript reads those as the integer and a Go reader refuses
 * the whole document, so an image holding one passed validation, then its manifest was refused by the registry
 * after its blobs were pushed. The text is read a second time, keeping each number as written.
 */
export function goIntegerProblem(text: string, fields: ReadonlySet<string> = MANIFEST_INTEGER_FIELDS): string | undefined {
  let problem: string | undefined;
  try {
    parse(text, (key, value) => {
      if (problem === undefined && isLosslessNumber(value) && fields.has(key) && !INTEGER_TEXT.test(value.value)) {
        problem = `${key} is written ${value.value}, which Go's JSON reader (registries, containerd, skopeo) refuses for an integer field: write it without a fraction or exponent`;
      }
      return value;
    });
  } catch {
    // JSON.parse took it already: what lossless-json alone refuses (a key given twice with two values) is left as JSON.parse read it.
  }
  return problem;
}
