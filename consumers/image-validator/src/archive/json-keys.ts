import type { JsonPath } from './go-integers.js';

/**
 * Go's encoding/json (docker, containerd, skopeo, crane, every registry written in Go) matches a JSON key to a
 * struct field ignoring letter case, and when two keys match one field the last one wins; JSON.parse and the
 * shapes here read exact names. A config holding `"User":"1000"` then `"user":"0"` was recorded as running as
 * 1000 and ran as root; a manifest holding `"layers"` then `"Layers"` was validated as one image and loaded as
 * another; a config holding `"entrypoint"` alone ran what Orbit recorded as no entrypoint. Such documents are
 * refused.
 */

/**
 * Members whose value Go reads into a map, where keys are kept as written: two labels differing only in case
 * (`maintainer`, `MAINTAINER`, as old Dockerfiles and their base images write) are two labels to every reader.
 */
const MAP_MEMBERS: ReadonlySet<string> = new Set(['annotations', 'labels', 'exposedports', 'volumes', 'layersources'].map(goFoldedKey));

/** The one code point `text` maps to, or `fallback` when the mapping is not one code point (Go uses the simple, one-to-one case mappings). */
function single(text: string, fallback: string): string {
  return [...text].length === 1 ? text : fallback;
}

/**
 * A key as Go compares it with a field's name: every code point lowered, then raised (unicode.ToUpper of
 * unicode.ToLower), so `ſ` matches `s` and the Kelvin sign `K` matches `k`. Done a code point at a time, so
 * JavaScript's context-dependent final sigma and its one-to-many mappings (`ß` to `SS`) do not come in.
 */
export function goFoldedKey(key: string): string {
  let folded = '';
  for (const point of key) {
    // İ lowers to i plus a combining dot in JavaScript's full mapping; Go's simple one gives i.
    const lower = point === '\u0130' ? 'i' : single(point.toLowerCase(), point);
    folded += single(lower.toUpperCase(), lower);
  }
  return folded;
}

/** The fields Orbit reads, by where their object sits (`*` for any array item or member), as written in json-shapes.ts. */
export type ReadFields = readonly (readonly [JsonPath, readonly string[]])[];

/** A platform's fields, in an index entry and in a config alike: each is compared between the two. */
const PLATFORM_FIELDS = ['os', 'architecture', 'variant', 'os.version', 'os.features'];

const DESCRIPTOR_FIELDS = ['mediaType', 'artifactType', 'digest', 'size', 'urls', 'data', 'annotations', 'platform'];

/** What a descriptor at each of `paths` is read for, its platform's fields too. */
function descriptorsAt(paths: readonly JsonPath[]): ReadFields {
  return paths.flatMap((path): ReadFields => [[path, DESCRIPTOR_FIELDS], [[...path, 'platform'], PLATFORM_FIELDS]]);
}

/** Manifests, indexes (index.json too), referrers and oci-layout. */
export const MANIFEST_FIELDS: ReadFields = [
  [[], ['schemaVersion', 'mediaType', 'artifactType', 'config', 'layers', 'manifests', 'subject', 'annotations', 'imageLayoutVersion']],
  ...descriptorsAt([['config'], ['layers', '*'], ['manifests', '*'], ['subject']]),
];

/** docker save's manifest.json: a list of images. */
export const DOCKER_SAVE_FIELDS: ReadFields = [
  [['*'], ['Config', 'RepoTags', 'Layers', 'LayerSources']],
  ...descriptorsAt([['*', 'LayerSources', '*']]),
];

export const CONFIG_FIELDS: ReadFields = [
  [[], [...PLATFORM_FIELDS, 'created', 'author', 'history', 'config', 'rootfs']],
  [['history', '*'], ['created', 'created_by', 'author', 'comment', 'empty_layer']],
  [['config'], ['ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'WorkingDir', 'User', 'Labels', 'Healthcheck', 'StopSignal', 'ArgsEscaped', 'Volumes', 'Shell']],
  [['config', 'Healthcheck'], ['Test', 'Interval', 'Timeout', 'StartPeriod', 'Retries']],
  [['rootfs'], ['type', 'diff_ids']],
];

/** The names Orbit reads in the object at `at` (array items as `*`). */
function fieldsAt(fields: ReadFields, at: readonly string[]): readonly string[] {
  return fields.flatMap(([path, names]) => (path.length === at.length && path.every((part, index) => part === '*' || part === at[index]) ? names : []));
}

/** How `where` reads in a message. */
function place(where: string): string {
  return where === '' ? 'at the top level' : `in ${where}`;
}

/** Two keys of one object that Go reads as the same field, or one Go reads as a field Orbit reads under its exact name only; undefined when neither. */
function clashIn(record: Readonly<Record<string, unknown>>, where: string, read: readonly string[]): string | undefined {
  const seen = new Map<string, string>();
  for (const key of Object.keys(record)) {
    const folded = goFoldedKey(key);
    const earlier = seen.get(folded);
    if (earlier !== undefined) {
      return `has the keys ${JSON.stringify(earlier)} and ${JSON.stringify(key)} ${place(where)}, which differ only in letter case: Go's JSON reader (docker, containerd, skopeo, registries) takes them for one field and keeps the last, while Orbit reads them as written, so the two would see different images; write each key once`;
    }
    seen.set(folded, key);
    const meant = read.includes(key) ? undefined : read.find((name) => goFoldedKey(name) === folded);
    if (meant !== undefined) {
      return `has the key ${JSON.stringify(key)} ${place(where)}, which Go's JSON reader (docker, containerd, skopeo, registries) reads as ${JSON.stringify(meant)}, ignoring letter case, while Orbit reads only ${JSON.stringify(meant)}, so the two would see different images; write it ${JSON.stringify(meant)}`;
    }
  }
  return undefined;
}

/**
 * The problem to name when an object anywhere in a parsed document has two keys differing only in letter
 * case (as Go folds it), or a key that is a field of `fields` in another case; undefined when none has.
 * Walked without recursion: documents may nest 10 000 deep.
 */
export function caseFoldedKeyProblem(document: unknown, fields: ReadFields = MANIFEST_FIELDS): string | undefined {
  const pending: { value: unknown; at: string[]; where: string; isMap: boolean }[] = [{ value: document, at: [], where: '', isMap: false }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, at, where, isMap } = next;
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      value.forEach((item: unknown, index) => pending.push({ value: item, at: [...at, '*'], where: `${where}[${index}]`, isMap: false }));
      continue;
    }
    const record = value as Readonly<Record<string, unknown>>;
    const clash = isMap ? undefined : clashIn(record, where, fieldsAt(fields, at));
    if (clash !== undefined) return clash;
    for (const [key, child] of Object.entries(record)) {
      pending.push({ value: child, at: [...at, isMap ? '*' : key], where: where === '' ? key : `${where}.${key}`, isMap: !isMap && MAP_MEMBERS.has(goFoldedKey(key)) });
    }
  }
  return undefined;
}
