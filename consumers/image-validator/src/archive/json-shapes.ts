import { createHash } from 'node:crypto';
import { z } from 'zod';
import { chartTextProblem, NUL_PROBLEM } from '@orbit/lib';
import { shellTypeShape } from './image-shell.js';

/**
 * Shapes of the JSON documents an image archive carries. Only the fields the
 * validator reads are described; everything else passes through untouched.
 */

export const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * A sha256 digest. OCI also registers sha512, but Docker Distribution refuses
 * such manifests and Kubernetes runtimes pull by sha256, so an image
 * addressed by another algorithm is refused saying so, and how to re-address it.
 */
export const sha256Digest = z.string().superRefine((digest, context) => {
  if (DIGEST.test(digest)) return;
  const algorithm = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):/.exec(digest)?.[1];
  context.addIssue({
    code: 'custom',
    message: algorithm !== undefined && algorithm !== 'sha256'
      ? `is a ${algorithm} digest; Orbit takes images addressed by sha256, as registries and Kubernetes runtimes pull them (re-address it: regctl image mod --digest-algo sha256, or skopeo copy)`
      : 'must be sha256:<64 hex digits>',
  });
});

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
export const MANIFEST_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);
/** Config media types of runnable images; anything else (a Helm chart, an ORAS artifact) is not one. */
export const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set(['application/vnd.oci.image.config.v1+json', MEDIA_TYPES.dockerConfig]);

/**
 * Keys a label or annotation map cannot carry: zod's record and avsc's map decoding both skip `__proto__` (as an
 * object's own key it would be read as its prototype), so it was lost without a word between the archive and the
 * projector. The validator leaves it out itself, counts it and says so (image-annotations.ts).
 */
export const UNCARRIED_KEYS: ReadonlySet<string> = new Set(['__proto__']);

const uncarried = new WeakMap<object, readonly string[]>();

/** The keys of UNCARRIED_KEYS the archive gave `map` (a label or annotation map these shapes read), which it does not hold. */
export function uncarriedKeysOf(map: object): readonly string[] {
  return uncarried.get(map) ?? [];
}

// zod parses synchronously and a record of strings holds no other record: what the preprocess saw is what its transform gets.
let uncarriedSeen: readonly string[] = [];

/** A JSON object of strings, as Go's map[string]string reads it, remembering which UNCARRIED_KEYS it had. */
const stringMap = z.preprocess((raw) => {
  uncarriedSeen = raw !== null && typeof raw === 'object' ? Object.keys(raw).filter((key) => UNCARRIED_KEYS.has(key)) : [];
  return raw;
}, z.record(z.string(), z.string())).transform((map) => {
  if (uncarriedSeen.length > 0) uncarried.set(map, uncarriedSeen);
  uncarriedSeen = [];
  return map;
});

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const descriptorShape = z.looseObject({
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  digest: sha256Digest,
  size: z.number().int().nonnegative(),
  /** Where a foreign layer is fetched from at run time; Orbit keeps every layer itself. */
  urls: z.array(z.string()).optional(),
  /** OCI 1.1: the blob itself, base64; containerd uses it instead of fetching the blob, so it must be that blob. */
  data: z.string().optional(),
  annotations: stringMap.optional(),
  platform: z.looseObject({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).optional(),
}).superRefine((descriptor, context) => {
  if (descriptor.data === undefined) return;
  const bytes = BASE64.test(descriptor.data) ? Buffer.from(descriptor.data, 'base64') : undefined;
  if (bytes === undefined) {
    context.addIssue({ code: 'custom', path: ['data'], message: 'is not base64' });
  } else if (bytes.length !== descriptor.size || `sha256:${createHash('sha256').update(bytes).digest('hex')}` !== descriptor.digest) {
    context.addIssue({ code: 'custom', path: ['data'], message: `is ${bytes.length} bytes that are not the blob ${descriptor.digest} of ${descriptor.size} bytes the descriptor names (a runtime would use them instead of the blob)` });
  }
});
export type Descriptor = z.infer<typeof descriptorShape>;

export const ociLayoutShape = z.looseObject({ imageLayoutVersion: z.string() });

// Go reads annotations into map[string]string: a number or null among the values makes the whole document unreadable.
const annotationsShape = stringMap.optional();

export const indexShape = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorShape),
  annotations: annotationsShape,
});
export type ImageIndex = z.infer<typeof indexShape>;

export const manifestShape = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorShape,
  layers: z.array(descriptorShape).min(1, 'lists no layers'),
  annotations: annotationsShape,
});
export type ImageManifest = z.infer<typeof manifestShape>;

/**
 * An OCI 1.1 referrer: a manifest (or index) whose `subject` names the image
 * it is about, an SBOM or a signature. Artifacts may list no layers.
 */
export const referrerShape = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorShape.optional(),
  layers: z.array(descriptorShape).optional(),
  subject: descriptorShape,
  annotations: annotationsShape,
});
export type Referrer = z.infer<typeof referrerShape>;

/** An artifact or a cosign tag-scheme manifest: a referrer's fields, no subject required. */
export const artifactShape = referrerShape.omit({ subject: true });

export const dockerManifestShape = z.array(z.looseObject({
  Config: z.string().min(1),
  RepoTags: z.array(z.string()).nullable().optional(),
  Layers: z.array(z.string().min(1)).min(1, 'lists no layers'),
})).min(1, 'lists no images');
export type DockerManifest = z.infer<typeof dockerManifestShape>;

// What becomes a process's arguments, environment or paths: C strings, so no runtime can start an image whose config holds a NUL in them.
const runnableText = z.string().refine((text) => !text.includes('\0'), NUL_PROBLEM);
const stringList = z.array(runnableText).nullable().optional();
const keySet = z.record(z.string(), z.unknown()).refine((set) => Object.keys(set).every((key) => !key.includes('\0')), `names a key that ${NUL_PROBLEM}`).nullable().optional();
// What the chart carries as it is (a probe's command, mount paths, the working directory): text helm can read. Env is not: an entry helm cannot carry is left to the image.
const chartText = runnableText.superRefine((text, context) => {
  const problem = chartTextProblem(text);
  if (problem !== null) context.addIssue({ code: 'custom', message: problem });
});
const volumeSet = z.record(z.string(), z.unknown()).superRefine((set, context) => {
  for (const key of Object.keys(set)) {
    const problem = key.includes('\0') ? NUL_PROBLEM : chartTextProblem(key);
    if (problem !== null) context.addIssue({ code: 'custom', message: `names a path that ${problem}` });
  }
}).nullable().optional();
// Events carry these as Avro int seconds: anything larger could not be published.
const INT_MAX = 2 ** 31 - 1;
const nanoseconds = z.number().nonnegative().max(INT_MAX * 1e9).nullable().optional();

// crane append onto scratch leaves both empty; containerd then finds no platform to match and will not pull it.
const NO_PLATFORM = 'is empty: the image names no platform, which a Kubernetes node cannot pull (set one, e.g. crane mutate --set-platform linux/amd64)';

// Go's time.Time reads RFC 3339 alone (Go 1.20 on: upper-case T and Z, two-digit fields in range, no leap second), and
// containerd, docker and skopeo then refuse the whole config: `created: "yesterday"` was stored, then no node pulled it.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;
const goTime = z.string().refine((text) => {
  const [, year, month, day, hour, minute, second, offsetHours, offsetMinutes] = (RFC3339.exec(text) ?? []).map(Number);
  if (year === undefined || month === undefined || day === undefined) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && Number(hour) <= 23 && Number(minute) <= 59 && Number(second) <= 59
    && (Number.isNaN(offsetHours) || (Number(offsetHours) <= 23 && Number(offsetMinutes) <= 59));
}, 'is no RFC 3339 time (such as 2026-12-04T10:00:00Z), which Go readers (containerd, docker, skopeo) refuse the config for').nullable().optional();

export const configShape = z.looseObject({
  architecture: z.string().min(1, NO_PLATFORM),
  os: z.string().min(1, NO_PLATFORM),
  // Compared with what the index entry claims (platforms.ts); Go refuses a config where they are of another type.
  variant: z.string().nullable().optional(),
  'os.version': z.string().nullable().optional(),
  'os.features': z.array(z.string()).nullable().optional(),
  created: goTime,
  author: z.string().nullable().optional(),
  history: z.array(z.looseObject({
    created: goTime,
    created_by: z.string().nullable().optional(),
    author: z.string().nullable().optional(),
    comment: z.string().nullable().optional(),
    empty_layer: z.boolean().nullable().optional(),
  })).nullable().optional(),
  config: z.looseObject({
    ExposedPorts: keySet,
    Env: stringList,
    Entrypoint: stringList,
    Cmd: stringList,
    WorkingDir: chartText.nullable().optional(),
    User: runnableText.nullable().optional(),
    Labels: stringMap.nullable().optional(),
    Healthcheck: z.looseObject({
      Test: z.array(chartText).nullable().optional(),
      Interval: nanoseconds,
      Timeout: nanoseconds,
      StartPeriod: nanoseconds,
      Retries: z.number().int().nonnegative().max(INT_MAX).nullable().optional(),
    }).nullable().optional(),
    StopSignal: z.string().nullable().optional(),
    ArgsEscaped: z.boolean().nullable().optional(),
    Volumes: volumeSet,
    Shell: shellTypeShape,
  }).nullable().optional(),
  rootfs: z.looseObject({
    type: z.literal('layers'),
    diff_ids: z.array(sha256Digest),
  }),
});
export type ImageConfigJson = z.infer<typeof configShape>;

/** The first problem zod found, as "path: message", for rejection messages. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'unknown problem';
  const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  return `${where}: ${issue.message}`;
}
