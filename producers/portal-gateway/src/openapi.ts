import { ENVIRONMENT_NAMES, IMAGE_NAME_MAX_LENGTH, IMAGE_REFERENCE_MAX_LENGTH, IMAGE_REFERENCE_PATTERN, IMAGE_UID_PATTERN, IMAGE_VERSION_PATTERN } from '@orbit/lib';
import { VERSIONS_SHOWN } from './image-overview.js';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_PATTERN } from './idempotency-key.js';
import { METADATA_JSON_SCHEMA } from './metadata.js';
import { NOTES_PATTERN } from './text-patterns.js';
import { AMZ_CHECKSUM_SHA256, CHECKSUM_HEADER, SHA256_PATTERN } from './upload-checksum.js';
import { named, publishNamedSchemas } from './openapi-components.js';
import { ABOUT_EVERY_OPERATION, documentConditionalRead, documentRefusalsBeforeRoutes } from './openapi-app-answers.js';

/**
 * What the gateway takes and answers, as OpenAPI 3.0 schemas for the
 * document at /docs. Responses are documented, not filtered: the app
 * serialises with JSON.stringify, so a field missing here is never dropped
 * from an answer (a test checks answers against these schemas instead).
 */

type Schema = Record<string, unknown>;

const text = (description?: string): Schema => ({ type: 'string', ...(description ? { description } : {}) });
const nullableText = (description?: string): Schema => ({ ...text(description), nullable: true });
const object = (properties: Record<string, Schema>, required: readonly string[] = Object.keys(properties), extra = false): Schema => ({
  type: 'object', properties, required: [...required], additionalProperties: extra,
});

const PID = text('Process id of the step: <from>-<to>-e<order>, errors end in -911');
const STATUS_URL = text('Where to follow the request: GET it, with ?wait=<seconds> to long-poll');

/**
 * Each path parameter, held to the grammar of what it names: the UID and the
 * request id the gateway minted, a version by the naming rule. Anything else
 * is a 400 here, not a look-up: ViewPort's MySQL ignores trailing spaces when
 * it compares, so `<uid>%20` would otherwise find the image and go on as
 * another UID (a transfer of it failed half way, SOURCE_OBJECT_MISSING).
 */
/** A UUID as the gateway gives them out, 8-4-4-4-12 hex digits; ids are looked up in lower case, so either case names the same one. */
export const CANONICAL_UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

const PATH_PARAMETERS = {
  uid: { type: 'string', pattern: IMAGE_UID_PATTERN, description: 'The image UID an upload answered with: 60 characters [A-Za-z0-9]' },
  version: { type: 'string', pattern: IMAGE_VERSION_PATTERN, description: 'The image version, e.g. v1-0-00 or 1.0.0' },
  // Spelled out: `format: uuid` also takes `urn:uuid:<uuid>`, which then missed in every store (a 404, or a completion's 409).
  id: { type: 'string', format: 'uuid', pattern: CANONICAL_UUID_PATTERN, description: 'The request or upload id an upload, transfer or presign answered with (either letter case)' },
} as const satisfies Record<string, Schema>;

export const pathParams = (...names: readonly (keyof typeof PATH_PARAMETERS)[]): Schema =>
  object(Object.fromEntries(names.map((name) => [name, { ...PATH_PARAMETERS[name] }])));

export const ERROR_BODY = named('ErrorBody', object({
  code: text('Stable reason code: ORBIT_ERR_* for malformed requests, or a domain code such as VERSION_NOT_FOUND, ROLE_REQUIRED, SKIPS_ENVIRONMENT'),
  message: text('What was wrong, for a human'),
  problems: {
    type: 'array', items: object({ field: text('The field at fault, e.g. imageVersion, body.transferEnvironment, params.uid, querystring.limit or header.idempotency-key'), message: text() }),
    description: 'Each field at fault; empty (never absent) when the refusal names none',
  },
  requestId: nullableText('The failed request recorded for a refused transfer (its error-log row carries it)'),
}, ['code', 'message', 'problems']));

export const UPLOAD_ACCEPTED = named('UploadAccepted', object({
  requestId: { type: 'string', format: 'uuid' },
  imageUID: text('60 characters [A-Za-z0-9], one per (owner, image name)'),
  pid: PID,
  status: { type: 'string', enum: ['accepted'] },
  statusUrl: STATUS_URL,
}));

/** The request an earlier call with the same key (presigned upload, Idempotency-Key) started. */
export const STARTED_BEFORE = named('StartedBefore', object({
  requestId: { type: 'string', format: 'uuid' },
  imageUID: text(),
  pid: PID,
  status: { type: 'string', enum: ['accepted', 'running', 'succeeded', 'failed'], description: 'The earlier request\'s status now' },
  statusUrl: STATUS_URL,
}));

export const TRANSFER_ANSWER = named('TransferAnswer', object({
  requestId: { type: 'string', format: 'uuid', nullable: true, description: 'Null only for a version present in the target before transfers were recorded' },
  pid: PID,
  status: { type: 'string', enum: ['accepted', 'running', 'succeeded', 'failed'] },
  statusUrl: { ...STATUS_URL, nullable: true },
}));

export const TRANSFER_DRY_RUN_ANSWER = named('TransferDryRunAnswer', object({
  dryRun: { type: 'boolean', enum: [true] },
  outcome: { type: 'string', enum: ['allowed', 'under-way', 'done'], description: 'allowed: the request would start a transfer; under-way: it would join the one running; done: the version is there already' },
  imageUID: text(),
  imageVersion: text(),
  sourceEnvironment: nullableText('Where the copy would come from; null when done'),
  targetEnvironment: text(),
  requestId: { type: 'string', format: 'uuid', nullable: true, description: 'The request that is promoting or promoted it (under-way, done)' },
}));

/** A transfer's 200: what an earlier request did (TransferAnswer), or what this one would do (a dry run). */
export const TRANSFER_OUTCOME = named('TransferOutcome', { anyOf: [TRANSFER_ANSWER, TRANSFER_DRY_RUN_ANSWER] });

const STEP = object({ pid: PID, eventType: text('e.g. upload-requested, image-stored, image-transferred'), at: { type: 'string', format: 'date-time' } });

const NEXT_CURSOR = nullableText('Pass as ?cursor= (with the same filters) for the next page; null on the last page');

const REQUEST_FIELDS = {
  requestId: { type: 'string', format: 'uuid' },
  kind: { type: 'string', enum: ['upload', 'transfer'] },
  status: { type: 'string', enum: ['accepted', 'running', 'succeeded', 'failed'] },
  imageUID: text(),
  imageVersion: nullableText(),
  targetEnvironment: nullableText('A transfer\'s target environment; null for uploads'),
  notes: nullableText('A transfer\'s notes; null for uploads'),
  createdAt: { type: 'string', format: 'date-time', description: 'When the request was accepted' },
  updatedAt: { type: 'string', format: 'date-time', description: 'When its status last changed' },
  error: object({ code: text('Reason code, e.g. DIGEST_MISMATCH (docs/errors.md)'), message: text(), pid: PID }),
};

export const REQUEST_VIEW = named('RequestView', object({
  ...REQUEST_FIELDS,
  steps: { type: 'array', items: STEP, description: 'From the event log, in order. With ?wait= a finished request\'s answer also waits (up to 5 s) until every step that led to its end is there; without it the last steps can trail the status by a moment' },
  stepsUnavailable: { type: 'boolean', enum: [true], description: 'Present (true) only when the event log could not be read: steps is then empty for that reason, not because the request has none; the status is still current. GET it again for the steps' },
}, ['requestId', 'kind', 'status', 'imageUID', 'imageVersion', 'steps']));

export const REQUEST_LIST = named('RequestList', object({
  requests: { type: 'array', items: object(REQUEST_FIELDS, ['requestId', 'kind', 'status', 'imageUID', 'imageVersion', 'createdAt', 'updatedAt']), description: 'Newest first; the steps of one are at its GET /v1/requests/{id}' },
  nextCursor: NEXT_CURSOR,
}));

const OBJECT_REF = object({ bucket: text(), key: text(), versionId: nullableText('S3 version id; null where the bucket keeps none') });

const KEY_VALUES = { type: 'array', items: object({ key: text(), value: text() }), description: 'Sorted by key (its UTF-8 bytes); keys and values as the image has them, empty values too' };

/** What an image says of itself, as Harbor shows an artifact's labels and annotations (GET of one version only). */
const IMAGE_LABELS = {
  ...object({
    platform: text('The platform labels and annotations are of: the image\'s, or of a multi-platform image the one the version describes (linux/amd64, else the first)'),
    labels: { ...KEY_VALUES, description: `Its config's labels (Dockerfile LABEL: org.opencontainers.image.source, .revision, maintainer, …). ${KEY_VALUES.description}` },
    annotations: { ...KEY_VALUES, description: `Its manifest's annotations (buildx --annotation). ${KEY_VALUES.description}` },
    indexAnnotations: { ...KEY_VALUES, nullable: true, description: `The multi-platform index's annotations (buildx --annotation index:…); null for a single-platform image. ${KEY_VALUES.description}` },
    platforms: {
      type: 'array', description: 'The index\'s other platforms whose labels or annotations differ from those above, in index order; a platform not listed has the same',
      items: object({ platform: text('linux/arm64/v8, …'), digest: text('Its manifest\'s digest'), labels: KEY_VALUES, annotations: KEY_VALUES }),
    },
    leftOut: { type: 'integer', minimum: 0, description: 'Entries left out to keep all of them within limitBytes: 0 when every one is here. The upload is never refused for them' },
    limitBytes: { type: 'integer', description: 'At most this many bytes of keys and values (UTF-8) are kept: the described platform\'s labels first, then its annotations, the index\'s, and each other platform\'s, each in key order; an entry that does not fit is left out and the next tried' },
  }),
  nullable: true,
  description: 'Only in GET /v1/images/{uid}/versions/{version} (absent from lists of versions). null when the version was stored before Orbit read an image\'s labels and annotations (2026-12-07), or its other image facts filled the 192 KiB they travel in: not known, which an image with none (empty lists) is not',
};

const PROMOTION = object({
  requestId: text('The transfer request that promoted it'),
  promotedAt: { type: 'string', format: 'date-time' },
  promotedBy: text('Username of the requester'),
  notes: nullableText('The notes of the transfer request'),
  s3Location: { ...OBJECT_REF, nullable: true, description: 'Where its copy in that environment lies; null for promotions older than this fact' },
  sha256: nullableText('SHA-256 of that copy'),
  imageReference: nullableText('Where that environment pulls the image by digest, when it has a registry of its own (ORBIT_ENVIRONMENT_REGISTRIES); absent when it pulls the version\'s imageReference'),
  imageTag: nullableText('The same image there by its version\'s tag'),
  chartLocation: { ...OBJECT_REF, description: 'The packaged chart that environment serves (its Helm repository, chart?environment=), pulling from its own registry; absent when it serves the version\'s chartLocation' },
  chartSha256: nullableText('SHA-256 of that chart archive'),
  chartReference: text('That chart as an OCI artifact in the environment\'s own registry, by digest: helm pull oci://<chartReference>; absent when it serves the version\'s'),
  chartTag: nullableText('The same chart by its version\'s tag (helm pull oci://<registry/path/charts/name> --version <version>)'),
}, ['requestId', 'promotedAt', 'promotedBy', 'notes', 's3Location', 'sha256']);

/**
 * The metadata a version was uploaded with, as the pipeline keeps it (@orbit/schemas ImageMetadata), not as an upload
 * sends it (ImageMetadata here): every field named once, in lower case, and the extra fields as JSON text. Types only,
 * no patterns: a version stored under older rules is answered as it was kept.
 */
const KEY_VALUE_LIST = { type: 'array', items: object({ key: text(), value: text() }) };
const STORED_METADATA = named('StoredImageMetadata', object({
  imageName: text(),
  imageVersion: text(),
  imageCategory: nullableText(),
  description: nullableText(),
  part: nullableText(),
  port: { type: 'integer', nullable: true, description: 'The container port; null for none' },
  envVars: KEY_VALUE_LIST,
  volumes: KEY_VALUE_LIST,
  imageLabels: KEY_VALUE_LIST,
  commandOverride: nullableText(),
  entrypointOverride: nullableText(),
  workingDir: nullableText(),
  extraJson: nullableText('The extra fields the upload sent, as the text of one JSON object; null for none'),
}, ['imageName', 'imageVersion'], true));

/** A layer of the described platform's manifest, as the validator read it (ImageSummary.layers). */
const LAYER = object({
  digest: text('The layer blob\'s digest (sha256:…)'),
  diffId: text('Its uncompressed content\'s digest, as the config lists it'),
  sizeBytes: { type: 'integer', format: 'int64', description: 'Its blob\'s size in bytes' },
  mediaType: text('application/vnd.oci.image.layer.v1.tar+gzip, …'),
});

export const VERSION = named('ImageVersion', {
  ...object({
    imageVersion: text(),
    status: text('stored, then ready once its chart is generated'),
    createdAt: { type: 'string', format: 'date-time', description: 'When ViewPort first held it (its ImageStored event)' },
    requestId: text('The upload request that stored it'),
    requestedAt: { type: 'string', format: 'date-time', description: 'When that upload request was accepted; absent for a version stored before Orbit carried it' },
    metadata: STORED_METADATA,
    configDigest: text('Its config blob\'s digest (sha256:…): of the described platform for a multi-platform image'),
    architecture: text('amd64, arm64, …: of the described platform for a multi-platform image'),
    os: text('linux, …: of the described platform for a multi-platform image'),
    layers: { type: 'array', items: LAYER, description: 'Its layers, base first: of the described platform for a multi-platform image' },
    environments: { type: 'array', items: text() },
    digest: text('The digest it is pulled by (sha256:…): its manifest\'s, or for a multi-platform image its index\'s'),
    validationNotes: { type: 'array', items: text(), description: 'Choices the validator made that you may want to know: which platform of an index it took and why (only that one is kept when the archive lacks the others), a manifest digest computed for an archive that stores none; absent when there were none' },
    platforms: { type: 'array', items: text(), description: 'For a multi-platform image only: every platform it runs on (linux/amd64, linux/arm64/v8, …), each validated and pushed; architecture and os then describe linux/amd64 (else the first)' },
    referrers: {
      type: 'array', description: 'OCI 1.1 referrers the uploaded OCI layout held beside the image (SBOMs, signatures, attestations), pushed beside it to its registry: oras discover <imageReference> finds them, cosign finds those with a tag; absent when there were none',
      items: object({
        digest: text('The referrer\'s manifest digest'),
        mediaType: text('Its manifest\'s media type (application/vnd.oci.image.manifest.v1+json, …)'),
        sizeBytes: { type: 'integer', format: 'int64', description: 'What it takes at the registry: its manifest and its blobs' },
        artifactType: nullableText('What it is (application/spdx+json, application/vnd.cncf.notary.signature, …): its artifact type, else its config\'s media type'),
        subject: text('The manifest it is about: the image\'s, one of its platforms\', or another referrer\'s (a signature of the SBOM)'),
        tag: text('cosign\'s tag for it (sha256-<hex>.sig, .att, .sbom), when that is how it is found'),
      }, ['digest', 'artifactType', 'subject']),
    },
    sha256: text('SHA-256 of the stored archive'),
    sizeBytes: {
      type: 'integer', format: 'int64',
      description: 'The size in bytes of the archive as uploaded (or as Orbit built it from a registry reference, referrers included), not what the image takes at the registry: '
        + 'one digest uploaded as two archives (docker save and an OCI layout, gzip or not) shows two sizes',
    },
    s3Location: { ...OBJECT_REF, description: 'Its Development copy' },
    imageReference: nullableText('Where to pull it (docker pull, crane, skopeo): the registry reference its charts pin, ORBIT_IMAGE_REGISTRY/<owner path>/<chart name>@sha256:… (each owner a repository path of its own, see README); null when Orbit did not push it (pushing off, or stored before Orbit pushed)'),
    imageTag: nullableText('The same image by its version\'s tag; null when the tag names another image (tags are never moved) or it was not pushed'),
    archiveCompression: nullableText('GZIP or ZSTD when the archive was uploaded compressed as a whole, which its download is named and typed by (.tar.gz, .tar.zst); null when it was not, or when the version was projected before ViewPort kept this (2026-12-04) and not rebuilt since (README, Upgrading)'),
    chartSha256: nullableText('SHA-256 of its packaged chart (chartLocation), the digest its Helm index entry gives; null when it was charted before ViewPort kept this (2026-12-02) and not rebuilt since (README, Upgrading); absent until it is charted'),
    chartName: text('Its chart\'s name (the image name as a chart may be named); absent until it is charted'),
    chartVersion: text('Its chart\'s version (SemVer, from the image version); absent until it is charted'),
    helmChartName: text('The name its kustomize trees and manifests are kept under; absent until it is charted'),
    chartLocation: { ...OBJECT_REF, description: 'Its packaged chart (the Development one; a promotion names its own); absent until it is charted' },
    chartReference: nullableText('The packaged chart as an OCI artifact, by digest, beside the image (ORBIT_IMAGE_REGISTRY/<owner path>/charts/<chart name>@sha256:…): helm pull oci://<chartReference>; absent when charts are not pushed (ORBIT_CHART_PUSH=false, or charted before Orbit pushed charts)'),
    chartTag: nullableText('The same chart by its version\'s tag: helm install <release> oci://ORBIT_IMAGE_REGISTRY/<owner path>/charts/<chart name> --version <chart version>; null when both its version\'s tag and <version>-<first 12 of the image UID> name another chart already (two spellings of one chart version racing each other: tags are never moved, so it is pinned by digest only)'),
    promotions: { type: 'object', additionalProperties: PROMOTION, description: 'Per environment it was transferred into (Testing, Staging, …): who promoted it, when, with what notes, and where its copy lies' },
    pulledFrom: {
      ...object({
        reference: text('The registry reference it was uploaded by, as given (registry/repository:tag or @sha256:…)'),
        digest: text('The digest Orbit pulled: the image index\'s when it kept the whole index, else the one manifest it kept (validationNotes say which platform and why)'),
      }),
      description: 'Only for a version uploaded by reference, and only to the image\'s owner (a role holder never sees it: it may name a private registry); absent for an archive or presigned upload, and for one uploaded before 2026-12-06',
    },
    labels: IMAGE_LABELS,
  }, ['imageVersion', 'status'], true),
  description: 'A version with its ViewPort facts. A fact a version was projected without, by a release before ViewPort kept it, is null (imageReference, imageTag, archiveCompression, chartSha256) until npm run viewport:rebuild (README, Upgrading). '
    + 'Of a multi-platform image, configDigest, layers, architecture and os describe one platform (linux/amd64, else the first; see platforms), not every one. '
    + 'A docker save archive\'s uncompressed layers show as .tar here, and are pushed to the registry labelled as gzip layers, as skopeo pushes them (README, honest limits).',
});

export const IMAGE_VIEW = named('ImageView', object({
  imageUID: text(),
  owner: text(),
  imageName: text(),
  description: text(),
  environments: { type: 'array', items: text(), description: 'Every environment any version you see is present in (with ?environment= too)' },
  versionCount: { type: 'integer', minimum: 0, description: 'Every version you see, of which `versions` shows the newest; with ?environment=, every one you see present there' },
  versions: {
    type: 'array', items: VERSION,
    description: `The newest versions you see, oldest first: up to ${VERSIONS_SHOWN.image} for one image, ${VERSIONS_SHOWN.listing} per image in a listing; with ?environment=, the newest present there. `
      + 'Every one, newest first, a page at a time: GET /v1/images/{uid}/versions (which takes ?environment= as well)',
  },
}, ['imageUID', 'owner', 'imageName', 'environments', 'versionCount', 'versions'], true));

export const KUSTOMIZE_ARCHIVE = {
  description: 'application/gzip: a tar of <chart name>/base/ (kustomization.yaml and one file per object) and <chart name>/overlays/<environment>/kustomization.yaml (namespace, environment label, replica bounds, resources; the image renamed to the environment\'s own registry when it has one)',
  type: 'string', format: 'binary',
};

/**
 * GET …/archive and …/chart with Accept: application/json: the presigned link as data, for a browser app. A script
 * cannot read a 302's Location across origins, and following it loads the whole object into the page's memory; with
 * the link in hand it hands `url` to the browser's own download (progress, Range, saved to disk).
 */
export const DOWNLOAD_LINK = named('DownloadLink', object({
  url: text('A presigned GET of the object at its stored version, served as an attachment named fileName; send it without the bearer token (S3 refuses a second credential)'),
  expiresAt: { type: 'string', format: 'date-time', description: 'When url stops working at the earliest (the signature is to the second): ask again for a new link after' },
  fileName: text('The name the download is saved as (its Content-Disposition)'),
  sizeBytes: { type: 'integer', format: 'int64', minimum: 0, nullable: true, description: 'The object\'s size in bytes, as the store says it now; null when it does not' },
  sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', nullable: true, description: 'SHA-256 of the object (64 hex digits) when ViewPort holds it: the archive\'s, that environment\'s copy\'s, or the chart\'s; null when it does not (kept before ViewPort held it)' },
}));

export const MANIFEST_LIST = named('ManifestList', {
  ...object({
    apiVersion: { type: 'string', enum: ['v1'] },
    kind: { type: 'string', enum: ['List'] },
    items: { type: 'array', items: { type: 'object', additionalProperties: true }, description: 'Every object of the environment, as its kustomize overlay builds it: namespace, labels, replica bounds' },
  }),
  description: 'A Kubernetes List (kubectl apply -f - takes it); with Accept: application/yaml the same objects as a YAML stream',
});

/** Left open (any JSON): the owner's payloads are the events as logged, whose schemas grow; described, not constrained. */
const EVENT_PAYLOAD = {
  description: 'The event as logged (its Avro record in schemas/avro, as JSON) for the image\'s owner. Anyone else (a role holder) sees '
    + 'an allow-list of its fields: who by username only (the actor\'s own whole record in their own steps), what, when, which version and '
    + 'environments, the metadata and image facts, registry references by digest and SHA-256s; no e-mail or names, no idempotencyKey, uploadId, '
    + 'bodyDigest or upload reference, no S3 object (staging, stored, source, target, chart, a promotion\'s image) and no kustomize table. '
    + 'A field not on the list, one added later included, is left out.',
};

export const IMAGE_EVENTS = named('ImageEvents', object({
  imageUID: text(),
  events: { type: 'array', items: object({ pid: PID, eventType: text(), at: { type: 'string', format: 'date-time' }, correlationId: text(), payload: EVENT_PAYLOAD }, ['pid', 'eventType', 'at', 'correlationId']) },
  nextCursor: NEXT_CURSOR,
}));

export const IMAGE_VERSIONS = named('ImageVersionPage', object({
  imageUID: text(),
  versions: { type: 'array', items: VERSION, description: 'Newest first (in upload order); for another owner\'s image, only the versions in an environment your role reads' },
  nextCursor: NEXT_CURSOR,
}));

export const IMAGE_LIST = named('ImageList', object({
  images: { type: 'array', items: IMAGE_VIEW },
  nextCursor: NEXT_CURSOR,
}));

export const PRESIGNED_UPLOAD = named('PresignedUpload', object({
  uploadId: { type: 'string', format: 'uuid' },
  url: text('Presigned PUT URL of the whole archive into the staging bucket (when no size was declared; AWS S3 takes at most 5 GiB in one PUT)'),
  partSizeBytes: { type: 'integer', format: 'int64', description: 'With a declared size: every part but the last has this many bytes' },
  parts: {
    type: 'array', description: 'With a declared size: PUT each part of the archive to its url (in any order, several at once), then POST completeUrl',
    items: object({
      partNumber: { type: 'integer', minimum: 1 },
      url: text('Presigned PUT URL of this part'),
      sizeBytes: { type: 'integer', format: 'int64', description: 'Exactly this many bytes, from offset (partNumber - 1) * partSizeBytes' },
    }),
  },
  method: { type: 'string', enum: ['PUT'] },
  headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Headers every PUT must carry' },
  expiresAt: { type: 'string', format: 'date-time' },
  completeUrl: text('POST it with {metadata} once the PUT is done; absolute, on PUBLIC_BASE_URL, as statusUrl'),
}, ['uploadId', 'method', 'headers', 'expiresAt', 'completeUrl']));

/** A presigned upload's state (GET /v1/uploads/{id}): from its presign record and its completion's claim. */
export const UPLOAD_STATE = named('UploadState', object({
  uploadId: { type: 'string', format: 'uuid' },
  state: {
    type: 'string', enum: ['open', 'completed', 'given-up'],
    description: 'open: presigned, not completed (or its completion\'s request failed: complete it again); completed: a request has it (requestId); given-up: DELETE gave it up, and it is never opened again',
  },
  sizeBytes: { type: 'integer', format: 'int64', description: 'The size declared at presign (an upload in parts); absent for a single PUT, and once staging\'s one-day expiry took the presign\'s record' },
  expiresAt: {
    type: 'string', format: 'date-time',
    description: 'Open: when the URLs last given out for it (its presign, a presign sent again with its Idempotency-Key, GET partsUrl) stop taking PUTs, an hour after they were signed. '
      + 'After that an upload in parts gets fresh URLs from partsUrl, a single PUT only from a presign sent again with its Idempotency-Key (without one, presign anew); '
      + 'an archive that arrived before can still be completed. Absent for an upload presigned before the gateway kept the time',
  },
  partsUrl: text('Open and in parts: GET it for fresh URLs of the parts still missing; absolute, on PUBLIC_BASE_URL'),
  completeUrl: text('Open: POST it with {metadata} once the archive is PUT; absolute, on PUBLIC_BASE_URL'),
  requestId: { type: 'string', format: 'uuid', description: 'Completed: the request its completion started' },
  statusUrl: { ...STATUS_URL, description: 'Completed: where to follow that request' },
  givenUpAt: { type: 'string', format: 'date-time', description: 'Given up: when (to the second, as staging keeps it)' },
}, ['uploadId', 'state']));

/** `POST /v1/uploads/presign`'s optional body: a declared size asks for a multipart upload. */
export const PRESIGN_BODY = {
  type: 'object',
  properties: {
    sizeBytes: { type: 'integer', format: 'int64', minimum: 1, nullable: true, description: 'The archive\'s size in bytes: the answer then holds one presigned URL per part (a multipart upload; needed above 5 GiB on AWS S3), instead of one URL for the whole archive, which null or leaving it out asks for. At most ORBIT_MAX_UPLOAD_BYTES (10 GiB by default; more answers 413 naming the limit)' },
  },
  additionalProperties: false,
} as const;

/**
 * The metadata schema and its port, published as components ImageMetadata and Port: named, because an inline union
 * gave oapi-codegen a Go type no caller could set (its body went out as "port":{}, a 400).
 */
function imageMetadataSchema(): Schema {
  const properties = METADATA_JSON_SCHEMA['properties'] as Record<string, Schema>;
  return named('ImageMetadata', { ...METADATA_JSON_SCHEMA, properties: { ...properties, port: named('Port', properties['port'] ?? {}) } });
}

const IMAGE_METADATA = imageMetadataSchema();

/** A presigned upload's completion: its metadata, and the SHA-256 its archive must hash to, if the client pins it. */
const COMPLETION_BODY = object({
  metadata: IMAGE_METADATA,
  sha256: {
    type: 'string', nullable: true, pattern: SHA256_PATTERN, example: 'sha256:2f299622e3569519007b5e8fcbc3d4b1fcbb5a4c1e1a0d1e3f30a2fbc24e6d1a',
    description: 'The SHA-256 of the archive PUT (64 hex digits, either case, or sha256:<hex>): the validator then takes only an archive that hashes to it '
      + '(a single PUT\'s URL takes a body as often as it is used within its hour), and refuses any other CHECKSUM_MISMATCH. '
      + 'Completing again with the same sha256, or none, is the repeat (200); with another, 422 ORBIT_ERR_IDEMPOTENCY_KEY_REUSED naming sha256. '
      + 'Only a SHA-256 pins a completion (this, X-Checksum-Sha256 or x-amz-checksum-sha256, the same archive if more than one): X-Checksum-Sha1, X-Checksum-Md5, X-Checksum or another x-amz-checksum-* on it is a 400 naming the header (the archive PUT is not hashed again)',
  },
}, ['metadata']);

/** X-Checksum-Sha256 (Artifactory's header) on a multipart upload; its form is checked by declaredSha256, whose 400 names it. */
export const CHECKSUM_HEADER_SCHEMA = {
  type: 'string', maxLength: 200,
  description: 'The SHA-256 of the image part\'s bytes (64 hex digits, either case, or sha256:<hex>): an archive that hashes otherwise is refused 422 CHECKSUM_MISMATCH, '
    + 'recorded as a failed request (requestId), and nothing of it is kept: send it again. A repeat of an Idempotency-Key refused so is not recorded and has no requestId: '
    + 'nothing of it was staged, and the request the key first started stands. Of the image part alone; Content-Digest is of the whole form',
} as const;

/** Content-Digest and Repr-Digest (RFC 9530) and Digest (RFC 3230) on a multipart upload; read by declaredBodyDigests, whose 400 names them. */
export const BODY_DIGEST_HEADER_SCHEMAS = {
  'content-digest': {
    type: 'string', maxLength: 1000,
    description: 'RFC 9530: sha-256=:<base64>: (or sha-512=:<base64>:) of the whole multipart body as sent (boundaries and metadata part included); a body that hashes otherwise is refused '
      + '422 CHECKSUM_MISMATCH as for X-Checksum-Sha256. A structured-field dictionary (RFC 8941): keys are lower case, so SHA-256=:…: is a 400, as is any value that does not parse. '
      + 'Other algorithms are left unread beside sha-256 or sha-512; a header naming neither is a 400 (it would go unchecked). Read on multipart uploads only',
  },
  'repr-digest': {
    type: 'string', maxLength: 1000,
    description: 'RFC 9530, read as Content-Digest is: the gateway takes no Content-Encoding, so the representation is the body as sent',
  },
  digest: {
    type: 'string', maxLength: 1000,
    description: 'RFC 3230, obsoleted by Content-Digest: SHA-256=<base64> (or SHA-512=<base64>) of the whole multipart body, checked as Content-Digest is',
  },
  'content-md5': {
    type: 'string', maxLength: 200, pattern: '^[A-Za-z0-9+/]{22}==$',
    description: 'RFC 1864: the base64 of the whole multipart body\'s MD5, as S3 takes it; a body that hashes otherwise is refused 422 CHECKSUM_MISMATCH as for Content-Digest, a malformed value 400 naming the header',
  },
} as const;

/** Artifactory's other checksum headers on a multipart upload, of the image part as X-Checksum-Sha256 is; read by declaredArchiveDigests, whose 400 names them. */
export const ARCHIVE_CHECKSUM_HEADER_SCHEMAS = {
  'x-checksum-sha1': {
    type: 'string', maxLength: 200, pattern: '^[0-9a-fA-F]{40}$',
    description: 'The SHA-1 of the image part\'s bytes (40 hex digits, either case), as JFrog\'s CLI sends it: checked as X-Checksum-Sha256 is (422 CHECKSUM_MISMATCH naming it); hashed only when sent',
  },
  'x-checksum-md5': {
    type: 'string', maxLength: 200, pattern: '^[0-9a-fA-F]{32}$',
    description: 'The MD5 of the image part\'s bytes (32 hex digits, either case): checked as X-Checksum-Sha256 is; hashed only when sent',
  },
  'x-checksum': {
    type: 'string', maxLength: 200, pattern: '^([0-9a-fA-F]{32}|[0-9a-fA-F]{40})$',
    description: 'Artifactory\'s older header: the image part\'s MD5 (32 hex digits) or SHA-1 (40), told by its length, checked as X-Checksum-Sha256 is',
  },
  // S3's names, of the object (the image part) as S3 takes them on a PUT: read by declaredSha256 and declaredArchiveDigests.
  [AMZ_CHECKSUM_SHA256]: {
    type: 'string', maxLength: 200,
    description: 'S3\'s: the base64 of the image part\'s 32-byte SHA-256, as a PUT to S3 takes it; checked as X-Checksum-Sha256 is (422 CHECKSUM_MISMATCH naming it; both sent, they must agree, else a 400). '
      + 'x-amz-checksum-crc32, -crc32c, -crc64nvme, or any x-amz-checksum-<algorithm> but sha256 and sha1, is a 400 naming it: the gateway does not compute those, and the archive would go unchecked',
  },
  'x-amz-checksum-sha1': {
    type: 'string', maxLength: 200,
    description: 'S3\'s: the base64 of the image part\'s 20-byte SHA-1, checked as X-Checksum-Sha1 is; hashed only when sent',
  },
} as const;

/** Error answers a route documents besides its success. */
export function errors(...statuses: readonly number[]): Record<number, Schema> {
  const described: Record<number, string> = {
    400: 'Malformed request or metadata', 401: 'No valid bearer token', 403: 'Not allowed for the caller\'s roles', 404: 'No such request or image for this caller',
    409: 'Refused by a transfer rule, or an upload of a version its owner has already (NAME_CONFLICT; recorded as a failed request, requestId)', 413: 'Over the upload size limit',
    422: 'The key (Idempotency-Key, presigned upload) was first sent with another body (ORBIT_ERR_IDEMPOTENCY_KEY_REUSED; problems names metadata, image, reference or sha256), '
      + 'or a streamed archive does not hash to its X-Checksum-Sha256, X-Checksum-Sha1, X-Checksum-Md5, X-Checksum, x-amz-checksum-sha256 or x-amz-checksum-sha1, or its body to its Content-Digest, Repr-Digest, Digest or Content-MD5 (CHECKSUM_MISMATCH; recorded as a failed request, requestId, '
      + 'except on a repeat of an Idempotency-Key, of which nothing was staged: the first request stands)',
    429: 'Nothing was accepted; send it again after Retry-After seconds: the caller has their most uploads by reference under way (ORBIT_ERR_REFERENCE_UPLOADS_PENDING, ORBIT_MAX_PENDING_REFERENCE_UPLOADS), the message naming them; or the registry the reference names has its most under way, every caller\'s together (ORBIT_ERR_REGISTRY_UPLOADS_PENDING, ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY), the message naming the registry; '
      + 'or, for an archive sent as a form, before a byte of it was read: the caller has their most archive uploads streaming through this gateway (ORBIT_ERR_STREAMED_UPLOADS_PENDING, ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER), '
      + 'or the gateway has its most, every caller\'s together (ORBIT_ERR_GATEWAY_UPLOADS_FULL, ORBIT_MAX_STREAMED_UPLOADS); presigned uploads are not counted',
    503: 'Nothing was accepted; try again after Retry-After seconds: a store the gateway needs did not answer (ORBIT_ERR_STORE_UNAVAILABLE), ' +
      'or ViewPort was lost and waits for a rebuild (ORBIT_ERR_PROJECTION_LOST), or the gateway stopped with the request under way (ORBIT_ERR_SHUTTING_DOWN, ORBIT_ERR_SHUTDOWN_CUT). Only when MySQL fell silent at the commit that records a request ' +
      'may it have been accepted, and the message says so: look at GET /v1/requests, or send it again with the same Idempotency-Key',
  };
  // Any route can meet a store that is away for a moment, or a lost ViewPort.
  return Object.fromEntries([...statuses, 503].map((status) => [status, { ...ERROR_BODY, description: described[status] ?? 'Refused' }]));
}

/**
 * POST /v1/uploads takes multipart or JSON and checks both in code (the
 * multipart parser streams the image, so no route schema can check it), as
 * does /complete (one metadata check with one set of messages); the
 * document gets their request bodies here.
 */
export const UPLOAD_REQUEST_BODY: Schema = {
  required: true,
  content: {
    'multipart/form-data': {
      schema: object({
        metadata: IMAGE_METADATA,
        image: { type: 'string', format: 'binary', description: 'docker save / OCI archive, plain or gzip, with plain, gzip or zstd layers' },
      }),
      encoding: { metadata: { contentType: 'application/json' } },
    },
  },
};

/**
 * The registry-reference body, on its own operation: a generator given one
 * operation with both bodies picks JSON for both (openapi-generator's Python
 * client sent its multipart fields as an empty JSON body).
 */
/**
 * The reference grammar without its leading lookahead, which bounds host and repository together to
 * IMAGE_NAME_MAX_LENGTH: RE2 (Go's validators, kin-openapi and oapi-codegen's) has no lookahead and refused to load
 * the whole document, and every request with it. The bound is said in words instead; parseImageReference checks it.
 */
export const REFERENCE_DOCUMENT_PATTERN = IMAGE_REFERENCE_PATTERN.replace(/^\^\(\?=[^$]*\$\)/, '^');

export const REFERENCE_REQUEST_BODY: Schema = {
  required: true,
  content: {
    'application/json': {
      schema: object({ metadata: IMAGE_METADATA, reference: {
        type: 'string', maxLength: IMAGE_REFERENCE_MAX_LENGTH, pattern: REFERENCE_DOCUMENT_PATTERN,
        example: 'registry.example.com:5000/team/billing:1.4.2',
        // What no RE2 pattern says is said in words: parseImageReference also asks that a URL can hold the host.
        description: `host[:port]/repository:tag or @sha256:<digest>; host[:port]/repository at most ${IMAGE_NAME_MAX_LENGTH} characters; a host a URL can hold: one whose last label is a number is an IPv4 address (10.0.0.5), "xn--" labels are valid punycode`,
      } }),
    },
  },
};

/** A base64url cursor as encodeCursor makes it; which of those this API gave out, no pattern can say. */
const CURSOR_PATTERN = '^[A-Za-z0-9_-]+$';

interface DocumentedParameter {
  readonly name?: string;
  readonly in?: string;
  description?: string;
  schema?: Record<string, unknown>;
}

/**
 * An environment's name in any letter case, as the routes take it (found by
 * a probe: a free string let generators and fuzzers send anything). No enum:
 * one would refuse `testing`, which every route takes.
 */
/**
 * What trim() removes (ECMAScript's \s), spelled out: RE2's \s is ASCII white space alone, so a Go validator refused
 * `Testing\u00a0`, which the routes take. RE2 has no \u escape either, so the characters above U+00FF are written as they are.
 */
const TRIMMED = `[\\t\\n\\v\\f\\r \\xA0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]`;

// White space around the name is taken (trimmed), as parseEnvironmentName does.
export const ENVIRONMENT_PATTERN = `^${TRIMMED}*(?:${ENVIRONMENT_NAMES.map((name) => [...name].map((letter) => `[${letter.toLowerCase()}${letter.toUpperCase()}]`).join('')).join('|')})${TRIMMED}*$`;

/** The base64 of a 32-byte SHA-256 and of a 20-byte SHA-1, as S3's checksum headers carry them. */
const AMZ_CHECKSUM_PATTERNS: Readonly<Record<string, string>> = { [AMZ_CHECKSUM_SHA256]: '^[A-Za-z0-9+/]{43}=$', 'x-amz-checksum-sha1': '^[A-Za-z0-9+/]{27}=$' };

/**
 * Patterns of what routes check in code (to answer in words a person reads,
 * not a regex): a client generator or a fuzzer then sends what is taken.
 */
function documentCheckedInCode(parameter: DocumentedParameter): void {
  if (!parameter.schema) return;
  if ((parameter.in === 'query' || parameter.in === 'path') && parameter.name === 'environment') parameter.schema = { ...parameter.schema, pattern: ENVIRONMENT_PATTERN };
  // The app takes a number in a query string only in decimal digits (found by a probe: `wait=1e1` was refused unsaid).
  if (parameter.in === 'query' && (parameter.schema['type'] === 'number' || parameter.schema['type'] === 'integer')) {
    const form = 'Written in decimal digits (5, 0.5), without an exponent or a plus sign';
    parameter.description = parameter.description ? `${parameter.description}. ${form}` : form;
  }
  if (parameter.in === 'header' && parameter.name === IDEMPOTENCY_KEY_HEADER) parameter.schema = { ...parameter.schema, pattern: IDEMPOTENCY_KEY_PATTERN };
  if (parameter.in === 'query' && parameter.name === 'cursor') parameter.schema = { ...parameter.schema, pattern: CURSOR_PATTERN };
  if (parameter.in === 'header' && parameter.name === CHECKSUM_HEADER.toLowerCase()) parameter.schema = { ...parameter.schema, pattern: SHA256_PATTERN };
  // S3's form, padded base64 of the digest's bytes: checked in code, whose 400 names the header.
  const base64 = parameter.in === 'header' && parameter.name !== undefined ? AMZ_CHECKSUM_PATTERNS[parameter.name] : undefined;
  if (base64 !== undefined) parameter.schema = { ...parameter.schema, pattern: base64 };
}

/** Where an answer leads (OpenAPI links): a generated client or a test tool follows them without being told. */
const FOLLOW_REQUEST = { followRequest: { operationId: 'getRequest', parameters: { id: '$response.body#/requestId' }, description: 'The request this answer started or recorded' } };
const FOLLOW_IMAGE = { getImage: { operationId: 'getImage', parameters: { uid: '$response.body#/imageUID' }, description: 'The image, once its first version is validated' } };
/** By operation, the answers (status codes) that carry the links. A transfer's 200 may be a dry run, which started nothing. */
const LINKS: Readonly<Record<string, { readonly statuses: readonly string[]; readonly links: Readonly<Record<string, object>> }>> = {
  uploadImage: { statuses: ['200', '202'], links: { ...FOLLOW_REQUEST, ...FOLLOW_IMAGE } },
  uploadFromRegistry: { statuses: ['200', '202'], links: { ...FOLLOW_REQUEST, ...FOLLOW_IMAGE } },
  completeUpload: { statuses: ['200', '202'], links: { ...FOLLOW_REQUEST, ...FOLLOW_IMAGE } },
  transferImage: { statuses: ['202'], links: FOLLOW_REQUEST },
  presignUpload: {
    statuses: ['201'],
    links: {
      completeUpload: { operationId: 'completeUpload', parameters: { id: '$response.body#/uploadId' }, description: 'Complete it once the PUT is done' },
      resumeUpload: { operationId: 'resumeUpload', parameters: { id: '$response.body#/uploadId' }, description: 'Fresh URLs of the parts still missing' },
      getUpload: { operationId: 'getUpload', parameters: { id: '$response.body#/uploadId' }, description: 'Its state: open, completed (the request that has it) or given up' },
    },
  },
  searchImages: { statuses: ['200'], links: { getImage: { operationId: 'getImage', parameters: { uid: '$response.body#/images/0/imageUID' }, description: 'The first image found' } } },
  listRequests: { statuses: ['200'], links: { ...FOLLOW_REQUEST, followRequest: { ...FOLLOW_REQUEST.followRequest, parameters: { id: '$response.body#/requests/0/requestId' }, description: 'The newest request listed' } } },
  getImage: { statuses: ['200'], links: {
    listImageEvents: { operationId: 'listImageEvents', parameters: { uid: '$response.body#/imageUID' }, description: 'The image\'s timeline' },
    ...Object.fromEntries(['getImageVersion', 'getManifests', 'downloadArchive', 'downloadChart'].map((operationId) => [operationId, {
      operationId, parameters: { uid: '$response.body#/imageUID', version: '$response.body#/versions/0/imageVersion' }, description: 'Its first version, or what an environment holds of it',
    }])),
  } },
};

function addLinks(operation: Record<string, unknown>): void {
  const linked = LINKS[String(operation['operationId'])];
  const responses = operation['responses'] as Record<string, Record<string, unknown>> | undefined;
  if (!linked || !responses) return;
  for (const status of linked.statuses) if (responses[status]) responses[status]['links'] = linked.links;
}

/** Answers that are not JSON, as the routes send them: a generated client reads each by its media type. */
function documentMediaTypes(paths: Record<string, Record<string, Record<string, unknown>> | undefined> | undefined): void {
  const answerOf = (path: string): Record<string, { content?: Record<string, unknown>; description?: string } | undefined> | undefined =>
    paths?.[path]?.['get']?.['responses'] as Record<string, { content?: Record<string, unknown>; description?: string } | undefined> | undefined;
  const kustomize = answerOf('/v1/images/{uid}/versions/{version}/kustomize')?.['200'];
  if (kustomize) kustomize.content = { 'application/gzip': { schema: { type: 'string', format: 'binary' } } };
  const manifests = answerOf('/v1/images/{uid}/versions/{version}/manifests')?.['200'];
  if (manifests?.content?.['application/json']) {
    // No schema: validators (kin-openapi) decode YAML and check what it holds, and a stream of documents is no one value.
    manifests.content['application/yaml'] = {};
    manifests.description = `${manifests.description ?? ''}. application/yaml (Accept: application/yaml or text/yaml): the same objects as a YAML stream, one document per object, each after a --- line`;
  }
}

const HEADER_OF_STATUS: Readonly<Record<string, Record<string, { description: string; schema: object }>>> = {
  // Only a presign answers 201.
  '201': { Location: { description: 'Names the presigned upload this opened as a resource, /v1/uploads/{uploadId} (absolute on PUBLIC_BASE_URL when it is set): GET it for the upload\'s state (getUpload: open, completed or given up), DELETE it to give the upload up', schema: { type: 'string', format: 'uri-reference' } } },
  '202': { Location: { description: 'The statusUrl of the body: where to follow the request this started or joined', schema: { type: 'string', format: 'uri-reference' } } },
  '302': {
    Location: { description: 'Where the answer is: a presigned S3 GET, valid for 15 minutes', schema: { type: 'string', format: 'uri' } },
    'X-Orbit-Link-Expires': { description: 'When the Location link stops working (ISO 8601, UTC): ask again for a fresh one after that', schema: { type: 'string', format: 'date-time' } },
    // The digest a client checks the download by, from ViewPort: S3's x-amz-meta-orbit-sha256 is user metadata anyone who may write the bucket can forge (a review).
    'X-Checksum-Sha256': { description: 'The SHA-256 of the object Location names, as ViewPort recorded it (64 hex digits, Artifactory\'s header; the JSON answer\'s sha256): check the download against it. Absent when ViewPort holds none (kept before it did)', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
    'Repr-Digest': { description: 'The same SHA-256 as RFC 9530 writes it, sha-256=:<base64 of the 32 bytes>:, of the object Location names; absent with X-Checksum-Sha256', schema: { type: 'string' } },
  },
  '401': { 'WWW-Authenticate': { description: 'The challenge: Bearer (and Basic first on the Helm repository routes), with error="invalid_token" when a token came', schema: { type: 'string' } } },
  '429': { 'Retry-After': { description: 'Seconds to wait before sending the request again', schema: { type: 'integer' } } },
  '503': { 'Retry-After': { description: 'Seconds to wait before sending the request again', schema: { type: 'integer' } } },
};

/** The headers an answer carries besides its body, on every operation that answers that status. */
function documentHeaders(operation: Record<string, unknown>): void {
  const responses = operation['responses'] as Record<string, { headers?: Record<string, unknown> } | undefined> | undefined;
  for (const [status, headers] of Object.entries(HEADER_OF_STATUS)) {
    const response = responses?.[status];
    if (response) response.headers = { ...headers, ...response.headers };
  }
  // A retry that an Idempotency-Key (or a completed upload id) recognised answers 200 with this header.
  const replayed = responses?.['200'];
  if (replayed && ['uploadImage', 'uploadFromRegistry', 'completeUpload', 'presignUpload', 'transferImage'].includes(String(operation['operationId']))) {
    replayed.headers = { 'Idempotent-Replayed': { description: '"true" when this answers a retry with what the first call started or opened', schema: { type: 'string', enum: ['true'] } }, ...replayed.headers };
  }
}

/**
 * Every /v1 operation refuses a query parameter it does not list (a misspelt filter listed everything, unfiltered; a
 * transfer asked with ?dryRun=true ran): OpenAPI 3.0 has no additionalProperties for parameters, so the 400 says it in words.
 */
function documentUnknownQueryRefused(path: string, operation: Record<string, unknown>): void {
  const refused = (operation['responses'] as Record<string, { description?: string } | undefined> | undefined)?.['400'];
  if (!refused || !path.startsWith('/v1/')) return;
  refused.description = `${refused.description ?? 'Refused'}, or a query parameter this operation does not list (names match as written, letter case included), or one given more than once`;
}

/**
 * The reads an upload's 202 leads a client to poll (routes/not-held.ts): their 404 may be "not yet", and a generated
 * client reads that only from the document (it said "No such request or image", found by a quality reread).
 */
const READS_NOT_HELD_YET = [
  '/v1/images/{uid}', '/v1/images/{uid}/events', '/v1/images/{uid}/versions', '/v1/images/{uid}/versions/{version}',
  ...['manifests', 'kustomize', 'archive', 'chart'].map((deployed) => `/v1/images/{uid}/versions/{version}/${deployed}`),
];

const NOT_HELD_YET = 'No such image or version for this caller. To the image\'s owner, while ViewPort does not hold it (or that version) yet, the code says why: '
  + 'IMAGE_NOT_READY, its upload is still under way (the message names it: follow GET /v1/requests/{requestId}?wait=30, then ask again), '
  + 'or IMAGE_UPLOAD_FAILED, its newest upload failed (the message names it and its reason code: its steps are at GET /v1/requests/{requestId}); '
  + 'anyone else, and the owner with no upload of it, gets ORBIT_ERR_NOT_FOUND';

/** Every operation on these paths is a read (a transfer is POST …/transfers), so each 404 there is this one. */
function documentNotHeldYet(path: string, operation: Record<string, unknown>): void {
  const missing = (operation['responses'] as Record<string, { description?: string } | undefined> | undefined)?.['404'];
  if (missing && READS_NOT_HELD_YET.includes(path)) missing.description = NOT_HELD_YET;
}

/**
 * OpenAPI 3.0 honours `nullable` only beside a `type`: on an `anyOf` of
 * typed members (a port as a number or as digits) it says nothing, and
 * validators built from the document refuse the null the API takes. The
 * flag moves into each member, where it is read.
 */
function nullableOnTypedMembers(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) nullableOnTypedMembers(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const schema = node as Record<string, unknown>;
  const members = schema['anyOf'] ?? schema['oneOf'];
  if (schema['nullable'] === true && schema['type'] === undefined && Array.isArray(members)) {
    delete schema['nullable'];
    for (const member of members) if (member !== null && typeof member === 'object' && 'type' in member) (member as Record<string, unknown>)['nullable'] = true;
  }
  for (const value of Object.values(schema)) nullableOnTypedMembers(value);
}

/** Adds what route schemas cannot say to the generated document. */
export function completeDocument<T extends object>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, Record<string, unknown>> | undefined> }).paths;
  for (const operation of Object.values(paths ?? {}).flatMap((methods) => Object.values(methods ?? {}))) {
    const parameters = operation['parameters'];
    if (Array.isArray(parameters)) for (const parameter of parameters as DocumentedParameter[]) documentCheckedInCode(parameter);
    addLinks(operation);
  }
  const upload = paths?.['/v1/uploads']?.['post'];
  if (upload) upload['requestBody'] = UPLOAD_REQUEST_BODY;
  const reference = paths?.['/v1/uploads/references']?.['post'];
  if (reference) reference['requestBody'] = REFERENCE_REQUEST_BODY;
  // The body only declares a size; without one the answer is a single PUT.
  const presign = paths?.['/v1/uploads/presign']?.['post'];
  if (presign) presign['requestBody'] = { required: false, content: { 'application/json': { schema: PRESIGN_BODY } } };
  const transfer = paths?.['/v1/images/{uid}/transfers']?.['post'] as { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, object> } }> } } | undefined;
  if (transfer?.requestBody) {
    // A copy: the route's own schema, which validates in words a person reads, stays as it is.
    const body = structuredClone(transfer.requestBody);
    const target = body.content?.['application/json']?.schema?.properties;
    if (target?.['transferEnvironment']) target['transferEnvironment'] = { ...target['transferEnvironment'], pattern: ENVIRONMENT_PATTERN };
    if (target?.['notes']) target['notes'] = { ...target['notes'], pattern: NOTES_PATTERN, description: 'Shown to people (the request, its events): tab and line breaks are the only control characters taken; any other, DEL and C1 controls are refused (400 naming body.notes)' };
    transfer.requestBody = body;
  }
  const complete = paths?.['/v1/uploads/{id}/complete']?.['post'];
  if (complete) complete['requestBody'] = { required: true, content: { 'application/json': { schema: COMPLETION_BODY } } };
  documentMediaTypes(paths);
  for (const [path, operation] of Object.entries(paths ?? {}).flatMap(([path, methods]) => Object.values(methods ?? {}).map((operation) => [path, operation] as const))) {
    documentHeaders(operation);
    documentUnknownQueryRefused(path, operation);
    documentNotHeldYet(path, operation);
  }
  // Every operation meets what the app answers around its routes: conditional reads, and refusals before any route.
  for (const [path, method, operation] of Object.entries(paths ?? {}).flatMap(([path, methods]) => Object.entries(methods ?? {}).map(([method, operation]) => [path, method, operation] as const))) {
    documentConditionalRead(operation, ERROR_BODY);
    documentRefusalsBeforeRoutes(method, operation, ERROR_BODY, path);
  }
  // A copy: @fastify/swagger hands every build (JSON, then YAML) the same info object, which grew by the text each time.
  const withInfo = document as { info?: { description?: string } };
  if (withInfo.info) withInfo.info = { ...withInfo.info, description: `${withInfo.info.description ?? ''}${ABOUT_EVERY_OPERATION}` };
  const published = publishNamedSchemas(document);
  // After naming: the components hold the unions (a port as a number or as digits) whose nullable moves.
  nullableOnTypedMembers(published);
  return published;
}
