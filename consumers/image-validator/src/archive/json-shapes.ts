import { createHash } from 'node:crypto';
import { z } from 'zod';
import { chartTextProblem, NUL_PROBLEM } from '@orbit/lib';

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
  annotations: z.record(z.string(), z.string()).optional(),
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

export const indexShape = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorShape),
});
export type ImageIndex = z.infer<typeof indexShape>;

export const manifestShape = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorShape,
  layers: z.array(descriptorShape).min(1, 'lists no layers'),
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

export const configShape = z.looseObject({
  architecture: z.string().min(1, NO_PLATFORM),
  os: z.string().min(1, NO_PLATFORM),
  config: z.looseObject({
    ExposedPorts: keySet,
    Env: stringList,
    Entrypoint: stringList,
    Cmd: stringList,
    WorkingDir: chartText.nullable().optional(),
    User: runnableText.nullable().optional(),
    Labels: z.record(z.string(), z.string()).nullable().optional(),
    Healthcheck: z.looseObject({
      Test: z.array(chartText).nullable().optional(),
      Interval: nanoseconds,
      Timeout: nanoseconds,
      StartPeriod: nanoseconds,
      Retries: z.number().int().nonnegative().max(INT_MAX).nullable().optional(),
    }).nullable().optional(),
    StopSignal: z.string().nullable().optional(),
    Volumes: volumeSet,
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
