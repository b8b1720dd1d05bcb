import { z } from 'zod';
import { asciiTrimmed, checkMetadata, codePointLabel, HELM_NO_VALUE, IMAGE_NAME_PATTERN, IMAGE_VERSION_PATTERN, MAX_ENV_NAME, metadataRuntimeProblems, metadataSizeProblem, userKeyedRecord } from '@orbit/lib';
import type { ImageMetadata } from '@orbit/schemas';
import { CATEGORY_PATTERN, CHART_TEXT_FOR_PEOPLE_PATTERN, ENV_VALUE_PATTERN } from './text-patterns.js';
import { jsonShapeProblem } from './well-formed-text.js';

const keyValue = (key: z.ZodString, value: z.ZodString) => z.array(z.object({ key, value }).strict()).max(256).nullish();

const PORT_PROBLEM = 'must be a port number, 1 to 65535';
/** 1 to 65535 as digits, as a pattern the API document can say. */
const PORT_DIGITS = /^(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$/;
const PORT = z.number().int(PORT_PROBLEM).min(1, PORT_PROBLEM).max(65535, PORT_PROBLEM);
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_KEY_PREFIX = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\/';
const LABEL_KEY_NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
// A Kubernetes qualified name: an optional DNS subdomain prefix of at most 253 characters (the lookahead), then a name of at most 63.
const LABEL_KEY = new RegExp(`^((?=[-a-z0-9.]{1,253}\\/)${LABEL_KEY_PREFIX})?${LABEL_KEY_NAME}$`);
/**
 * The same key for the API document, without the lookahead: Go's validators (RE2: kin-openapi, oapi-codegen) have
 * none, and refused to load the document at all. The prefix's bound is said in words, and checked here by LABEL_KEY.
 */
const LABEL_KEY_DOCUMENTED = {
  pattern: `^(${LABEL_KEY_PREFIX})?${LABEL_KEY_NAME}$`,
  description: 'A Kubernetes label key: an optional DNS subdomain prefix of at most 253 characters and "/", then a name of at most 63 characters',
  example: 'example.com/team',
};
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const VOLUME_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** What asciiTrimmed (the first half) and noInvisibleEnds (the second) do to a path, said in the API document. */
const PATH_ENDS_RULE = 'ASCII spaces, tabs and line breaks at either end are trimmed; other white space (U+00A0, U+3000, …) or an invisible character (U+FEFF, U+200B, …) at either end is refused (400), naming the field.';
/** What metadataRuntimeProblems checks of volumes, said in the API document. */
const VOLUME_RULE = 'Refused (400) when the path is `/` or names the directory another volume\'s path names once both are cleaned (`/data/` and `/data`, `/srv/..` and `/`).';
/** What metadataRuntimeProblems checks in code, said in the API document where no pattern can say it. */
const SPLIT_RULE = 'The container gets the words as written, `$` included: the chart writes it `$$`, so Kubernetes expands no `$(NAME)` in them. Refused (400) when it cannot be split (an unclosed quote, a lone backslash at the end) or holds a NUL character, DEL, a C1 control character, U+2028, U+2029, U+FFFE or U+FFFF (no Helm chart can carry those), or a word holding `<no value>` (helm deletes that text from what it renders).';

/** Any other white space (U+00A0, U+3000, …) or invisible format character (U+FEFF, U+200B, …) at either end. */
const INVISIBLE_END = /^[\s\p{Cf}]|[\s\p{Cf}]$/u;

/**
 * Refuses an identifier that still begins or ends with white space or an invisible character once its ASCII spaces
 * are trimmed: zod's trim() took U+00A0 and U+FEFF off too, so "uni-edge2\u00A0" was stored as another name than the
 * one sent, without a word (found by a review).
 */
function noInvisibleEnds(value: string, context: z.RefinementCtx): void {
  const found = INVISIBLE_END.exec(value);
  if (found === null) return;
  context.addIssue({
    code: 'custom',
    message: `${found.index === 0 ? 'begins' : 'ends'} with ${codePointLabel(found[0])}, white space or an invisible character: only ASCII spaces, tabs and line breaks are trimmed from it; send it without`,
  });
}

/**
 * Field names as the design documents spell them; lower-case aliases are accepted too.
 * Optional fields take null as "not given": many generated API clients send every field.
 */
const known = {
  // Blank is refused by a pattern, not trim().min(1), so that it says so in words (the naming rules come after), and
  // alone: U+00A0 alone is blank, not also a name ending in it.
  imageName: z.string().regex(/\S/, { message: 'must not be blank', abort: true }).overwrite(asciiTrimmed).superRefine(noInvisibleEnds).max(128),
  imageVersion: z.string().regex(/\S/, { message: 'must not be blank', abort: true }).overwrite(asciiTrimmed).superRefine(noInvisibleEnds).max(64),
  // Blank (or spaces alone) is no category: null, as when none is given.
  imageCategory: z.string().overwrite(asciiTrimmed).superRefine(noInvisibleEnds).max(64).nullish(),
  Description: z.string().max(4096).nullish(),
  Part: z.string().max(128).nullish(),
  // A number, or digits as a form field sends them; not anything JavaScript would turn into one (`true` was port 1).
  port: z.union([PORT, z.string().regex(PORT_DIGITS).transform(Number).pipe(PORT)], PORT_PROBLEM).nullish(),
  envVars: keyValue(z.string().regex(ENV_KEY, 'must be a valid environment variable name').max(MAX_ENV_NAME, `must be at most ${MAX_ENV_NAME} characters (a ConfigMap key)`), z.string().max(32_768)),
  // Paths as identifiers: the chart used to trim U+00A0 and U+3000 off too, and mounted or ran in another directory than the one sent.
  volumes: keyValue(
    z.string().regex(VOLUME_NAME, 'must be a DNS-1123 label (lower case, digits, -)').describe(`Tells the metadata's volumes apart: each key once (400 when repeated). The chart names its emptyDirs writable-<n>, not by this key.`),
    z.string().overwrite(asciiTrimmed).superRefine(noInvisibleEnds).regex(/^\//, 'must be an absolute mount path').max(4096).describe(`An absolute path. ${PATH_ENDS_RULE} ${VOLUME_RULE}`),
  ),
  imageLabels: keyValue(z.string().regex(LABEL_KEY, 'must be a Kubernetes label key').max(317), z.string().regex(LABEL_VALUE, 'must be a Kubernetes label value (<= 63 chars)')),
  commandOverride: z.string().max(4096).nullish().describe(`The container's arguments, written as a shell command line: split into words as a POSIX shell splits them (at spaces, tabs and newlines; quotes, backslashes; a word starting with # begins a comment to the end of its line), never run by a shell. ${SPLIT_RULE}`),
  entrypointOverride: z.string().max(4096).nullish().describe(`The container's command, written as a shell command line. ${SPLIT_RULE}`),
  workingDir: z.string().overwrite(asciiTrimmed).superRefine(noInvisibleEnds).regex(/^\//, 'must be an absolute path').max(4096).nullish().describe(`An absolute path, without a NUL character, DEL, a C1 control character, U+2028, U+2029, U+FFFE, U+FFFF or \`<no value>\`. ${PATH_ENDS_RULE}`),
};

const metadataSchema = z.object(known).catchall(z.unknown());

/** The metadata as JSON Schema (OpenAPI 3.0 dialect) for the API document: derived, so it cannot drift from the check. */
export const METADATA_JSON_SCHEMA: Record<string, unknown> = withNamingPatterns({
  ...z.toJSONSchema(metadataSchema, { io: 'input', target: 'openapi-3.0' }),
  description: 'Image metadata. Lower-case aliases (description, part) are accepted; unknown fields are kept as extra metadata (at most 64 KiB of them as UTF-8 JSON), but one named like a known field in another letter case (Port) is refused. At most 128 KiB as JSON in all: it travels with every event and row of the version.',
});

type ItemsOf = { items: { properties: Record<string, Record<string, unknown>> } };

/** A key/value list's schema with `change` made to its items' `field`. */
function withItemField(list: Record<string, unknown> | undefined, field: string, change: Record<string, unknown>): Record<string, unknown> {
  const { items } = list as ItemsOf;
  return { ...list, items: { ...items, properties: { ...items.properties, [field]: { ...items.properties[field], ...change } } } };
}

/**
 * The naming rules checkMetadata applies after the schema, and the characters metadataRuntimeProblems refuses in text,
 * said in the document as patterns (the text fields said only maxLength: generated clients sent what was refused).
 */
function withNamingPatterns(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = schema['properties'] as Record<string, Record<string, unknown>>;
  const forPeople = (field: string, pattern: string, more = '') => ({
    ...properties[field], pattern,
    description: `Shown to people and carried by the chart: tab and line breaks are the only control characters taken; any other, DEL, C1 controls, U+2028, U+2029, U+FFFE and U+FFFF are refused (400).${more}`,
  });
  return {
    ...schema,
    properties: {
      ...properties, imageName: { ...properties['imageName'], pattern: IMAGE_NAME_PATTERN }, imageVersion: { ...properties['imageVersion'], pattern: IMAGE_VERSION_PATTERN },
      imageLabels: withItemField(properties['imageLabels'], 'key', LABEL_KEY_DOCUMENTED),
      port: { ...properties['port'], description: 'The container port: a number, or its digits as a string, 1 to 65535; null or absent for none' },
      imageCategory: forPeople('imageCategory', CATEGORY_PATTERN, ` ${PATH_ENDS_RULE} Blank is none (null).`), Description: forPeople('Description', CHART_TEXT_FOR_PEOPLE_PATTERN), Part: forPeople('Part', CHART_TEXT_FOR_PEOPLE_PATTERN),
      envVars: withItemField(properties['envVars'], 'value', {
        pattern: ENV_VALUE_PATTERN,
        description: `What the container gets, as written: refused (400) when it holds a NUL character, DEL, a C1 control character, U+2028, U+2029, U+FFFE or U+FFFF (no Helm chart can carry those), or the text \`${HELM_NO_VALUE}\` (helm deletes it from what it renders)`,
      }),
    },
  };
}

/** A metadata problem the gateway answers 400 with, naming the field. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

export type MetadataResult = { ok: true; metadata: ImageMetadata } | { ok: false; problems: FieldProblem[] };

/** The most extra metadata (fields not named here) may take, as UTF-8 JSON. */
const MAX_EXTRA_BYTES = 64 * 1024;

const ALIASES: Readonly<Record<string, string>> = { description: 'Description', part: 'Part' };

/** The field a metadata key names: an alias's field (`description` is Description), else the key itself. */
const canonicalName = (key: string): string => (Object.hasOwn(ALIASES, key) ? ALIASES[key] as string : key);

/** A field's path named with the spelling the client sent its first segment in (`description` or `Description`). */
function fieldAsSent([first = 'metadata', ...rest]: readonly string[], sentAs: Readonly<Record<string, string>>): string {
  const name = canonicalName(first);
  return [Object.hasOwn(sentAs, name) ? sentAs[name] : first, ...rest].join('.');
}

/** The keys other registries' clients name an image's name and version with (Harbor's `name`/`tag`, a chart's `version`). */
const OTHER_SPELLINGS: Readonly<Record<string, readonly string[]>> = {
  imageName: ['name', 'image', 'imagename', 'repository'],
  imageVersion: ['tag', 'version', 'imagetag', 'imageversion'],
};

/**
 * "is required" for a required field not given (zod said "Invalid input: expected string, received undefined"),
 * naming a key sent that looks meant for it: `{"name","tag"}` is kept as extra metadata, so without the hint a
 * newcomer from Harbor saw no link between what they sent and what was refused.
 */
function missingFieldMessage(path: readonly PropertyKey[], sent: Readonly<Record<string, unknown>>): string | undefined {
  const [field] = path;
  if (path.length !== 1 || typeof field !== 'string' || !Object.hasOwn(OTHER_SPELLINGS, field) || (sent[field] !== undefined && sent[field] !== null)) return undefined;
  // Not the field itself sent as null: `{"imageName": null}` was answered "imageName was sent: did you mean imageName?".
  const meant = Object.keys(sent).find((key) => key !== field && OTHER_SPELLINGS[field]?.includes(key.toLowerCase()) === true);
  if (sent[field] === null) return meant === undefined ? 'is required, and was sent as null' : `is required, and was sent as null (${meant} was sent too: did you mean ${field}?)`;
  return meant === undefined ? 'is required' : `is required (${meant} was sent: did you mean ${field}? unknown fields are kept as extra metadata)`;
}

/** The schema with every field optional: what of the metadata passes it once the fields that failed are left out. */
const metadataSchemaPartial = metadataSchema.partial();

/**
 * The fields zod's issues do not name, as the schema gives them: what the checks of values can still look at when
 * other fields failed it. Each field's schema is its own (none looks at another), so these pass as they would in full.
 */
function fieldsPassing(sent: Readonly<Record<string, unknown>>, issues: z.ZodError['issues']): z.output<typeof metadataSchemaPartial> {
  const failed = new Set(issues.map(({ path }) => path[0]));
  const rest = userKeyedRecord<unknown>();
  for (const [key, value] of Object.entries(sent)) if (!failed.has(key)) rest[key] = value;
  const parsed = metadataSchemaPartial.safeParse(rest);
  return parsed.success ? parsed.data : {};
}

/** A name and version each of checkMetadata's rules takes, to hear its verdict on the other field alone. */
const NAMING_TAKES = { imageName: 'a', imageVersion: '1.0.0' };

/**
 * The validator's naming rules on each field given (one that failed the schema is not): checkMetadata names only the
 * first field it finds wrong, so a form wrong in both took one more round for the version. Asked of each field alone,
 * beside one it takes, so the rules stay lib's, shared with the validator.
 */
function namingProblems(fields: { readonly imageName?: string | undefined; readonly imageVersion?: string | undefined }): FieldProblem[] {
  return (['imageName', 'imageVersion'] as const).flatMap((field) => {
    const value = fields[field];
    if (value === undefined) return [];
    const verdict = checkMetadata({ ...NAMING_TAKES, [field]: value });
    return verdict.ok ? [] : [{ field: verdict.field, message: verdict.problem }];
  });
}

/**
 * Validates the user's metadata. Unknown fields are kept as they are
 * (extraJson); the actor never comes from here.
 *
 * Every check's problems are answered at once, in the order of the checks (a portal form wrong in port, name and
 * version took a round each, found by a review); the fields that failed one check are left out of the later checks
 * of values. Only what the later checks cannot read past stops them: not an object, or the JSON's shape (its depth
 * guards their walks).
 */
export function parseMetadata(input: unknown): MetadataResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, problems: [{ field: 'metadata', message: 'must be a JSON object' }] };
  }
  // A port that large is answered as any port out of range, not told to be sent as a string.
  const shape = jsonShapeProblem(input, ['port']);
  if (shape !== undefined) return { ok: false, problems: [{ field: shape.path === 'body' ? 'metadata' : shape.path, message: shape.message }] };
  const problems: FieldProblem[] = [];
  // Own properties only, into an object with no prototype: a field named `toString` or `__proto__` is a field like any other.
  const normalised = userKeyedRecord<unknown>();
  // A problem is named as the client spelt the field: `description` sent, `Description` reported, was read as another field.
  const sentAs = userKeyedRecord<string>();
  for (const [key, value] of Object.entries(input)) {
    const name = canonicalName(key);
    if (Object.hasOwn(normalised, name)) {
      // The spelling given first is the other of the two (an object holds each key once): "as Part and as Part" named neither.
      const first = key === name ? Object.keys(ALIASES).find((alias) => ALIASES[alias] === name) ?? name : name;
      problems.push({ field: key, message: `${name} is given twice (as ${first} and as ${key}); send one` });
      // Neither value is the one to check: checked as not given (only optional fields have aliases), refused above.
      normalised[name] = undefined;
      continue;
    }
    normalised[name] = value;
    sentAs[name] = key;
  }
  const result = metadataSchema.safeParse(normalised);
  if (!result.success) {
    problems.push(...result.error.issues.map((issue) => ({ field: issue.path.length === 0 ? 'metadata' : fieldAsSent(issue.path.map(String), sentAs), message: missingFieldMessage(issue.path, normalised) ?? issue.message })));
  }
  // The fields that passed the schema, for the checks of values below: each field's rules are its own, so a bad port
  // tells nothing of the name (a missing required field is only not looked at).
  const data = result.success ? result.data : fieldsPassing(normalised, result.error.issues);
  // The validator's naming rules, here too: a bad name is refused before a byte of the image moves, not after the whole upload.
  problems.push(...namingProblems(data));
  const unrunnable = metadataRuntimeProblems({ ...data, description: data.Description, part: data.Part });
  problems.push(...unrunnable.map(({ field, problem }) => ({ field: fieldAsSent(field.split('.'), sentAs), message: problem })));
  // From the fields as sent, not zod's output, which leaves out a field named `__proto__`; into an object with no
  // prototype, where `extra['__proto__'] = value` stores a field instead of setting the prototype (both lost it).
  const extra = userKeyedRecord<unknown>();
  for (const key of Object.keys(normalised)) if (!Object.hasOwn(known, key)) extra[key] = normalised[key];
  // `Port` for `port` (the design documents capitalise Description and Part) was kept as extra metadata, and the chart had no port.
  problems.push(...Object.keys(extra).flatMap((key) => {
    const meant = Object.keys(known).find((name) => name.toLowerCase() === key.toLowerCase());
    return meant === undefined ? [] : [{ field: key, message: `is ${meant} written in another letter case; fields are matched as written (only description and part have lower-case aliases): write ${meant}` }];
  }));
  // Bytes, as it travels and is stored: its length in UTF-16 units took 80 062 bytes of é (found by a review).
  const extraBytes = Buffer.byteLength(JSON.stringify(extra), 'utf8');
  if (extraBytes > MAX_EXTRA_BYTES) problems.push({ field: 'metadata', message: `extra fields are ${extraBytes} bytes as JSON (UTF-8); at most ${MAX_EXTRA_BYTES} (64 KiB)` });
  // The size of the whole is measured on metadata that passed every check: with a field refused there is none to measure.
  if (!result.success || problems.length > 0) return { ok: false, problems };
  const valid = result.data;
  const metadata: ImageMetadata = {
    imageName: valid.imageName,
    imageVersion: valid.imageVersion,
    imageCategory: valid.imageCategory === '' ? null : valid.imageCategory ?? null,
    description: valid.Description ?? null,
    part: valid.Part ?? null,
    port: valid.port ?? null,
    envVars: valid.envVars ?? [],
    volumes: valid.volumes ?? [],
    imageLabels: valid.imageLabels ?? [],
    commandOverride: valid.commandOverride ?? null,
    entrypointOverride: valid.entrypointOverride ?? null,
    workingDir: valid.workingDir ?? null,
    extraJson: Object.keys(extra).length > 0 ? JSON.stringify(extra) : null,
  };
  // Measured as it travels: within the per-field limits, 256 variables of 32 KiB would still not fit in one DynamoDB row.
  const tooBig = metadataSizeProblem(metadata);
  return tooBig === null ? { ok: true, metadata } : { ok: false, problems: [{ field: 'metadata', message: tooBig }] };
}
