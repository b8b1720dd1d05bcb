import { posix } from 'node:path';
import { asciiTrimmed } from './ascii-trim.js';
import { shellWordsProblem, ShellWordsError, splitShellWords } from './shell-words.js';
import { YAML_ESCAPED } from './yaml-text.js';
import { codePointLabel } from './code-point.js';

/**
 * Naming rules of an image: the gateway applies them at the door (a bad name
 * is refused before a byte of the image moves), and the validator again for
 * every command it takes. Pure functions: the same metadata always gets the
 * same verdict.
 *
 * imageName: 1 to 128 characters, a Docker repository name component —
 * lowercase letters and digits, separated by one `.`, one `_`, `__`, or any
 * number of `-`; it starts and ends with a letter or digit. The name becomes a
 * repo tag and a chart name, and this is the strictest grammar among those.
 *
 * imageVersion: either `v<major>-<minor>-<patch>` (each 1 to 4 digits, leading
 * zeros allowed: `v0-0-01`, `v1-2-3`, `v1-0-00`) or a SemVer core
 * `<major>.<minor>.<patch>` without leading zeros (`1.2.3`). No pre-release or
 * build suffix: the chart version is derived from it and must be plain.
 */

export const IMAGE_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
export const IMAGE_NAME_MAX = 128;
const DASHED_VERSION = /^v(\d{1,4})-(\d{1,4})-(\d{1,4})$/;
const SEMVER_CORE = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;
/** Both rules as patterns, for the API document. */
export const IMAGE_NAME_PATTERN = IMAGE_NAME.source;
export const IMAGE_VERSION_PATTERN = `^(?:${DASHED_VERSION.source.slice(1, -1)}|${SEMVER_CORE.source.slice(1, -1)})$`;

/**
 * The most metadata, as JSON text, an upload may carry. It travels whole in
 * the upload's events and DynamoDB rows beside the image's facts (at most
 * MAX_IMAGE_FACTS_BYTES), and a DynamoDB item holds 400 KB: past this a
 * valid upload would be dead-lettered half way instead of refused at once.
 */
export const MAX_METADATA_BYTES = 128 * 1024;
/** The most the image's facts (config labels, env, entrypoint, the layer list …) may take as JSON, for the same reason. */
export const MAX_IMAGE_FACTS_BYTES = 192 * 1024;

/** Bytes of `value` as the JSON text it travels as. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/** Why `metadata` is too big to carry, or null when it fits. */
export function metadataSizeProblem(metadata: unknown): string | null {
  const bytes = jsonBytes(metadata);
  return bytes > MAX_METADATA_BYTES ? `is ${bytes} bytes as JSON; at most ${MAX_METADATA_BYTES} (128 KiB) travel with an image version` : null;
}

export type MetadataVerdict =
  | { readonly ok: true; readonly chartVersion: string }
  | {
    readonly ok: false; readonly reasonCode: 'INVALID_METADATA'; readonly field: 'imageName' | 'imageVersion';
    /** What is wrong, naming the field and its value; `problem` says it without them (for an answer that names the field apart). */
    readonly message: string; readonly problem: string;
  };

const VERSION_PROBLEM = 'must look like v1-2-3 (v<major>-<minor>-<patch>, up to 4 digits each, e.g. v0-0-01) or 1.2.3 (SemVer without suffix)';

export function imageNameProblem(imageName: string): string | null {
  if (imageName.length < 1 || imageName.length > IMAGE_NAME_MAX) return `must be 1 to ${IMAGE_NAME_MAX} characters (it has ${imageName.length})`;
  if (!IMAGE_NAME.test(imageName)) {
    return 'must be lowercase letters and digits separated by ".", "_", "__" or dashes, starting and ending with a letter or digit';
  }
  return null;
}

/**
 * The Helm chart version (SemVer) of an image version: `v0-0-01` -> `0.0.1`,
 * `v1-2-3` -> `1.2.3`, `1.2.3` -> `1.2.3`; null when the version breaks the rule.
 * Leading zeros are dropped, so `v0-0-01` and `v0-0-1` give the same chart version.
 */
export function chartVersionOf(imageVersion: string): string | null {
  const match = DASHED_VERSION.exec(imageVersion) ?? SEMVER_CORE.exec(imageVersion);
  if (!match) return null;
  return match.slice(1, 4).map((part) => String(Number.parseInt(part, 10))).join('.');
}

export function checkMetadata(metadata: { readonly imageName: string; readonly imageVersion: string }): MetadataVerdict {
  const nameProblem = imageNameProblem(metadata.imageName);
  if (nameProblem !== null) {
    return { ok: false, reasonCode: 'INVALID_METADATA', field: 'imageName', message: `imageName "${metadata.imageName}" ${nameProblem}`, problem: nameProblem };
  }
  const chartVersion = chartVersionOf(metadata.imageVersion);
  if (chartVersion === null) {
    return { ok: false, reasonCode: 'INVALID_METADATA', field: 'imageVersion', message: `imageVersion "${metadata.imageVersion}" ${VERSION_PROBLEM}`, problem: VERSION_PROBLEM };
  }
  return { ok: true, chartVersion };
}

/**
 * Label keys a generated chart sets on its objects itself: an image label
 * with one of them would be a second value for the same key (and a selector
 * label a Deployment the API server refuses).
 */
export const CHART_OWN_LABELS: ReadonlySet<string> = new Set([
  'app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by', 'helm.sh/chart', 'environment', 'app.kubernetes.io/component', 'orbit/image-tag',
]);

/** A ConfigMap key holds at most 253 characters, and each environment variable travels in the chart as one. */
export const MAX_ENV_NAME = 253;

/** The metadata fields that become a container's command, environment and paths, and the chart's own text. */
export interface RuntimeFields {
  readonly envVars?: readonly { readonly key: string; readonly value: string }[] | null;
  readonly imageLabels?: readonly { readonly key: string; readonly value: string }[] | null;
  readonly volumes?: readonly { readonly key: string; readonly value: string }[] | null;
  readonly commandOverride?: string | null;
  readonly entrypointOverride?: string | null;
  readonly workingDir?: string | null;
  readonly description?: string | null;
  readonly imageCategory?: string | null;
  readonly part?: string | null;
}

/**
 * Characters no Helm chart can carry as they are, in its values or Chart.yaml:
 * the very ones our YAML escapes (YAML_ESCAPED), since helm writes them out
 * raw again. helm (3.16) refuses a chart holding DEL, a C1 control, U+FFFE or
 * U+FFFF, escaped or not ("yaml: control characters are not allowed": it
 * writes its values out and reads them back before checking the schema), and
 * an owner's whole Helm repository index with it; NEL, U+2028 and U+2029 it
 * writes raw into the rendered objects, where its YAML reader takes them for
 * line breaks and the cluster gets a space instead.
 */
export const CHART_UNCARRIABLE = new RegExp(YAML_ESCAPED.source);

/** Why text holding a CHART_UNCARRIABLE character cannot be in a chart, naming the character; null when it holds none. */
export function chartCharacterProblem(text: string): string | null {
  const found = CHART_UNCARRIABLE.exec(text);
  if (found === null) return null;
  return `holds ${codePointLabel(found[0])}, a character no Helm chart can carry as it is (helm refuses a chart holding DEL, a C1 control, U+FFFE or U+FFFF, and turns NEL, U+2028 and U+2029 into spaces)`;
}

/**
 * What Go templates print for a missing value. Helm's engine deletes this
 * text from everything its templates render, wherever it stands and however
 * it is quoted, so no template can keep it: `<no value>8080` reached the
 * cluster as the number 8080.
 */
export const HELM_NO_VALUE = '<no value>';

const NO_VALUE_PROBLEM = `holds "${HELM_NO_VALUE}", text helm deletes from everything its templates render (Go templates print it for a missing value)`;

/**
 * Why text a chart's templates render (an environment value, a command word,
 * a path, a probe's command) cannot be in a chart: a character helm cannot
 * carry, or text helm deletes; null when it can.
 */
export function chartTextProblem(text: string): string | null {
  return chartCharacterProblem(text) ?? (text.includes(HELM_NO_VALUE) ? NO_VALUE_PROBLEM : null);
}

/**
 * chartTextProblem for a command line, which the chart renders as words: `<no value>` unquoted is two
 * harmless words, `'<no value>'` and `<no\ value>` one that helm would cut. A line that does not split
 * is left to shellWordsProblem.
 */
function commandLineProblem(line: string): string | null {
  const characters = chartCharacterProblem(line);
  if (characters !== null) return characters;
  try {
    return splitShellWords(line).some((word) => word.includes(HELM_NO_VALUE)) ? NO_VALUE_PROBLEM : null;
  } catch (error) {
    if (error instanceof ShellWordsError) return null;
    throw error;
  }
}

/** Each entry whose key an earlier entry of the list has already. */
function repeatedKeys(list: string, entries: readonly { readonly key: string }[] | null | undefined, why: string): FieldRuleProblem[] {
  const first = new Map<string, number>();
  const problems: FieldRuleProblem[] = [];
  (entries ?? []).forEach(({ key }, index) => {
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, index);
    else problems.push({ field: `${list}.${index}.key`, problem: `repeats ${list}.${earlier}.key (${JSON.stringify(key)}): ${why}; give it once` });
  });
  return problems;
}

/**
 * A mount path as the chart writes it, and as Docker cleans an image's VOLUME: `.` segments, repeated and trailing
 * slashes gone, `..` taken back (`/var/log/./app//` is `/var/log/app`).
 */
function cleanMountPath(path: string): string {
  return posix.resolve('/', path);
}

/**
 * Metadata volumes the chart could not mount as given: the root (which the chart left out, silently), and a path
 * another volume already has once both are cleaned (`/data/` and `/data`, which the chart merged into one). Relative
 * paths are the gateway's to refuse; the chart resolves them against the working directory, unknown here.
 */
function volumePathProblems(volumes: RuntimeFields['volumes']): FieldRuleProblem[] {
  const first = new Map<string, number>();
  const problems: FieldRuleProblem[] = [];
  (volumes ?? []).forEach(({ value }, index) => {
    const path = asciiTrimmed(value);
    if (!path.startsWith('/') || path.includes('\0')) return;
    const cleaned = cleanMountPath(path);
    const earlier = first.get(cleaned);
    if (cleaned === '/') problems.push({ field: `volumes.${index}.value`, problem: `is the root directory${path === '/' ? '' : ` once cleaned (${JSON.stringify(path)})`}, which a volume cannot be mounted over: name the directory the image writes to` });
    else if (earlier === undefined) first.set(cleaned, index);
    else problems.push({ field: `volumes.${index}.value`, problem: `is ${JSON.stringify(cleaned)} once cleaned, as volumes.${earlier}.value is: a directory is mounted once; give it once` });
  });
  return problems;
}

export interface FieldRuleProblem {
  /** Where, as the gateway names fields: `envVars.0.key`, `commandOverride`. */
  readonly field: string;
  readonly problem: string;
}

/** C0 controls, DEL and C1 controls (\\p{Cc}) but tab and the line breaks, which text for people may hold. */
const TERMINAL_CONTROL = /[^\P{Cc}\t\n\r]/u;

/**
 * Why text shown to people (a description, a category, a part, notes) holds a control character, naming it; null when
 * it holds none. ESC and BEL are commands to the terminal that prints them: `ESC]8;;http://evil BEL` in a description
 * reached `helm search repo` readers as a link (found by a review), through index.yaml, Chart.yaml and OCI annotations.
 */
export function controlCharacterProblem(text: string): string | null {
  const found = TERMINAL_CONTROL.exec(text);
  if (found === null) return null;
  return `holds ${codePointLabel(found[0])}, a control character, which would reach the terminals that print it (helm search, helm show chart) as a command to them: text for people may hold tab and line breaks, no other control character`;
}

/** Why text holding a NUL cannot reach a container: the metadata rules and the validator's image-config check say it alike. */
export const NUL_PROBLEM = 'holds a NUL character, which no container runtime can pass (arguments, environment and paths are C strings)';

/**
 * What in the metadata would make a chart no cluster can run: a command
 * override that is not a command line, a NUL character, a character helm
 * cannot carry or text it deletes (HELM_NO_VALUE), an environment variable
 * name longer than the ConfigMap key it travels as. The gateway refuses
 * these at the door and the validator again: found by the chart-generator,
 * they failed the upload after the image was stored.
 */
export function metadataRuntimeProblems(metadata: RuntimeFields): FieldRuleProblem[] {
  const problems: FieldRuleProblem[] = [];
  const text = (field: string, value: string | null | undefined, problemOf = chartTextProblem): boolean => {
    if (value === null || value === undefined) return false;
    const problem = value.includes('\0') ? NUL_PROBLEM : problemOf(value);
    if (problem !== null) problems.push({ field, problem });
    return problem !== null;
  };
  (metadata.envVars ?? []).forEach(({ key, value }, index) => {
    if (key.length > MAX_ENV_NAME) problems.push({ field: `envVars.${index}.key`, problem: `is ${key.length} characters; at most ${MAX_ENV_NAME} (a ConfigMap key)` });
    text(`envVars.${index}.value`, value);
  });
  // Silently, the chart kept the last value of a name given twice, and a label the chart sets itself was left out.
  problems.push(...repeatedKeys('envVars', metadata.envVars, 'a container gets one value per name'));
  problems.push(...repeatedKeys('imageLabels', metadata.imageLabels, 'an object has one value per label'));
  (metadata.imageLabels ?? []).forEach(({ key }, index) => {
    if (CHART_OWN_LABELS.has(key)) problems.push({ field: `imageLabels.${index}.key`, problem: `is ${JSON.stringify(key)}, a label the chart sets itself (${[...CHART_OWN_LABELS].join(', ')}); name yours otherwise` });
  });
  (metadata.volumes ?? []).forEach(({ value }, index) => text(`volumes.${index}.value`, value));
  // The key is how the metadata names a volume (the chart's emptyDirs are named writable-N): a second one was accepted and meant nothing.
  problems.push(...repeatedKeys('volumes', metadata.volumes, 'the key names one volume'));
  problems.push(...volumePathProblems(metadata.volumes));
  for (const field of ['commandOverride', 'entrypointOverride'] as const) {
    const line = metadata[field];
    if (line === null || line === undefined || text(field, line, commandLineProblem)) continue;
    const problem = shellWordsProblem(line);
    if (problem !== null) problems.push({ field, problem: `${problem}: write it as a shell command line, quoting words that hold spaces` });
  }
  text('workingDir', metadata.workingDir);
  // Chart.yaml's description and an annotation: no container sees them, but helm reads them (no template renders them), and
  // the chart's OCI manifest carries the description, which Harbor keeps in a Postgres jsonb column that refuses a NUL.
  // Part is the chart's too (an annotation). All three are shown to people, in terminals too: no control character but tab and line breaks.
  for (const field of ['description', 'imageCategory', 'part'] as const) {
    const value = metadata[field] ?? '';
    const problem = value.includes('\0') ? 'holds a NUL character, which the chart\'s OCI annotations carry and registries storing them in Postgres (Harbor) refuse' : chartCharacterProblem(value) ?? controlCharacterProblem(value);
    if (problem !== null) problems.push({ field, problem });
  }
  return problems;
}
