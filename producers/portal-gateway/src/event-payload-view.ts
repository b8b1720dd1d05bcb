import type { TimelineEntry } from './ports.js';

/**
 * How one field of an event payload is shown to someone who is not the image's owner: `'value'` a string, number,
 * boolean or null as it is (an object or list there is left out); `fields` a record of which only the named fields
 * are shown; `items` a list whose items each are shown so; `values` a map (string keys) whose values each are.
 */
export type FieldRule = 'value' | { readonly fields: Readonly<Record<string, FieldRule>> } | { readonly items: FieldRule } | { readonly values: FieldRule };

const VALUE = 'value';
const listOf = (items: FieldRule): FieldRule => ({ items });
const recordOf = (fields: Readonly<Record<string, FieldRule>>): FieldRule => ({ fields });
const KEY_VALUE = recordOf({ key: VALUE, value: VALUE });
const BLOB = recordOf({ digest: VALUE, sizeBytes: VALUE });

/**
 * What the user declared at upload (ImageMetadata): the version's own view (GET /v1/images/{uid}) shows a role holder
 * the same, and its chart, which they deploy, carries the env vars and volumes anyway.
 */
const IMAGE_METADATA = recordOf({
  imageName: VALUE, imageVersion: VALUE, imageCategory: VALUE, description: VALUE, part: VALUE, port: VALUE,
  envVars: listOf(KEY_VALUE), volumes: listOf(KEY_VALUE), imageLabels: listOf(KEY_VALUE),
  commandOverride: VALUE, entrypointOverride: VALUE, workingDir: VALUE, extraJson: VALUE,
});

/** Facts read from the image (ImageSummary): anyone who may pull it reads them from the registry. */
const IMAGE_SUMMARY = recordOf({
  format: VALUE, compression: VALUE, manifestDigest: VALUE, configDigest: VALUE, repoTags: listOf(VALUE), architecture: VALUE, os: VALUE,
  layers: listOf(recordOf({ digest: VALUE, diffId: VALUE, sizeBytes: VALUE, mediaType: VALUE })),
  config: recordOf({
    exposedPorts: listOf(VALUE), env: listOf(VALUE), entrypoint: listOf(VALUE), cmd: listOf(VALUE), workingDir: VALUE, user: VALUE,
    labels: { values: VALUE },
    healthcheck: recordOf({ test: listOf(VALUE), intervalSeconds: VALUE, timeoutSeconds: VALUE, startPeriodSeconds: VALUE, retries: VALUE }),
    stopSignal: VALUE, volumes: listOf(VALUE), shell: listOf(VALUE),
  }),
  index: recordOf({
    digest: VALUE, mediaType: VALUE,
    manifests: listOf(recordOf({
      digest: VALUE, mediaType: VALUE, sizeBytes: VALUE, os: VALUE, architecture: VALUE, variant: VALUE, attestation: VALUE, configDigest: VALUE, blobs: listOf(BLOB),
    })),
  }),
  validationNotes: listOf(VALUE),
  referrers: listOf(recordOf({ digest: VALUE, mediaType: VALUE, sizeBytes: VALUE, artifactType: VALUE, subject: VALUE, tag: VALUE, blobs: listOf(BLOB) })),
  // As config.labels: what the manifests and configs say, which the registry answers anyone who may pull the image.
  annotations: recordOf({
    manifest: { values: VALUE }, index: { values: VALUE },
    platforms: listOf(recordOf({ platform: VALUE, digest: VALUE, labels: { values: VALUE }, annotations: { values: VALUE } })), leftOut: VALUE,
  }),
});

/**
 * What a role holder is shown of an event of someone else's image, over every record in schemas/avro: who (by
 * username), what, when, of which version and environment, and what a deployer pulls and checks (registry references
 * by digest, SHA-256s, sizes, the image's own facts). Left out, as anything not named here (a field added later
 * included): the actor's e-mail and names; the upload's mechanics (idempotencyKey, bodyDigest, uploadId, the
 * reference it was pulled from); every S3 object reference (staging, stored, source/target of a copy, chart, and a
 * promotion's `image`), as a deployer pulls by registry reference and checks by digest, never reads Orbit's buckets;
 * and the kustomize tables (kustomizeTable, sourceTable, targetTable), Orbit's own storage the environments stand for.
 */
export const SHOWN_TO_OTHERS: FieldRule = recordOf({
  eventId: VALUE, pid: VALUE, correlationId: VALUE, requestId: VALUE, imageUID: VALUE, occurredAt: VALUE,
  // When the upload was accepted: the occurredAt of its UploadRequested, which the timeline shows already.
  requestedAt: VALUE,
  actor: recordOf({ username: VALUE }),
  imageVersion: VALUE, environment: VALUE, sourceEnvironment: VALUE, targetEnvironment: VALUE, notes: VALUE, status: VALUE, causeEventType: VALUE,
  // An upload's source is ARCHIVE, REFERENCE or PRESIGNED; a copy's is an S3 object, which VALUE leaves out.
  source: VALUE, metadata: IMAGE_METADATA, sizeBytes: VALUE, sha256: VALUE,
  // ImageSummary in an upload's events; in a promotion's the copy in S3, of which nothing is named here, so it is left out.
  image: IMAGE_SUMMARY, imageReference: VALUE, imageTag: VALUE,
  chartName: VALUE, chartVersion: VALUE, appVersion: VALUE, helmChartName: VALUE, chartSha256: VALUE, chartReference: VALUE, chartTag: VALUE,
  flow: VALUE, stage: VALUE, reasonCode: VALUE, message: VALUE, failedEventId: VALUE,
});

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isScalar = (value: unknown): boolean => value === null || ['string', 'number', 'boolean'].includes(typeof value);

/** `value` as `rule` shows it, or undefined where nothing of it may be shown. */
function shown(value: unknown, rule: FieldRule): unknown {
  // Null is what Avro writes for an optional field left empty, whatever its type: it says nothing.
  if (value === null) return null;
  if (rule === VALUE) return isScalar(value) ? value : undefined;
  if ('items' in rule) return Array.isArray(value) ? value.map((item) => shown(item, rule.items)).filter((item) => item !== undefined) : undefined;
  if (!isRecord(value)) return undefined;
  const fieldRule = (name: string): FieldRule | undefined => ('values' in rule ? rule.values : Object.hasOwn(rule.fields, name) ? rule.fields[name] : undefined);
  const kept = Object.entries(value).flatMap(([name, field]) => {
    const fieldRuleOf = fieldRule(name);
    const seen = fieldRuleOf === undefined ? undefined : shown(field, fieldRuleOf);
    return seen === undefined ? [] : [[name, seen] as const];
  });
  // A record none of whose fields may be shown (a promotion's S3 `image`) is left out rather than shown empty.
  return kept.length === 0 && Object.keys(value).length > 0 && !('values' in rule) ? undefined : Object.fromEntries(kept);
}

/**
 * An event's payload as `viewer`, who does not own the image, is shown it: SHOWN_TO_OTHERS' fields, and the actor
 * whole when the viewer is that actor (their own e-mail and names, as their own token gave them). A payload that
 * is not a record (none is written so) is shown as null.
 */
export function payloadShownTo(viewer: string, payload: unknown): unknown {
  if (!isRecord(payload)) return null;
  const view = shown(payload, SHOWN_TO_OTHERS);
  const actor = payload['actor'];
  const ownActor = isRecord(actor) && actor['username'] === viewer;
  return isRecord(view) && ownActor ? { ...view, actor } : view ?? {};
}

/** `events` as the caller sees them: whole for the image's owner, each payload through payloadShownTo for anyone else. */
export function eventsShownTo(viewer: string, owner: string, events: readonly TimelineEntry[]): TimelineEntry[] {
  if (viewer === owner) return [...events];
  return events.map((event) => ({ ...event, payload: payloadShownTo(viewer, event.payload) }));
}
