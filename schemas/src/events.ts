import type { EventEnvelope } from '@orbit/lib';

/** TypeScript twins of the Avro schemas in ../avro (a test encodes a sample of each). */
export interface KeyValue { readonly key: string; readonly value: string }

export interface ImageMetadata {
  readonly imageName: string;
  readonly imageVersion: string;
  readonly imageCategory: string | null;
  readonly description: string | null;
  readonly part: string | null;
  readonly port: number | null;
  readonly envVars: readonly KeyValue[];
  readonly volumes: readonly KeyValue[];
  readonly imageLabels: readonly KeyValue[];
  readonly commandOverride: string | null;
  readonly entrypointOverride: string | null;
  readonly workingDir: string | null;
  /** Extra fields the user sent, as JSON object text. */
  readonly extraJson: string | null;
}

export interface ObjectRef { readonly bucket: string; readonly key: string; readonly versionId: string | null }

export interface Healthcheck {
  readonly test: readonly string[];
  readonly intervalSeconds: number | null;
  readonly timeoutSeconds: number | null;
  readonly startPeriodSeconds: number | null;
  readonly retries: number | null;
}

export interface ImageConfigFacts {
  readonly exposedPorts: readonly string[];
  readonly env: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly workingDir: string | null;
  readonly user: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly healthcheck: Healthcheck | null;
  readonly stopSignal: string | null;
  readonly volumes: readonly string[];
  /**
   * The image's SHELL (Dockerfile `SHELL ["/bin/bash", "-c"]`), which Docker
   * runs a `CMD-SHELL` healthcheck with. Null (absent before 2026-12-07) when
   * the image sets none: `/bin/sh -c`, as Docker then uses.
   */
  readonly shell?: readonly string[] | null;
}

/** What Docker runs a `CMD-SHELL` healthcheck (and RUN) with when the image sets no SHELL. */
export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];

/** The shell a `CMD-SHELL` healthcheck of the image runs with, as Docker picks it: the image's SHELL when it sets one. */
export function shellOf(config: Pick<ImageConfigFacts, 'shell'>): readonly string[] {
  return config.shell !== null && config.shell !== undefined && config.shell.length > 0 ? config.shell : DEFAULT_SHELL;
}

export interface Layer { readonly digest: string; readonly diffId: string; readonly sizeBytes: number; readonly mediaType: string }

export interface ImageSummary {
  readonly format: 'DOCKER_ARCHIVE' | 'OCI_ARCHIVE' | 'REGISTRY';
  /** Of the archive as uploaded: a tar, or one compressed with gzip or zstd. */
  readonly compression: 'NONE' | 'GZIP' | 'ZSTD';
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly repoTags: readonly string[];
  readonly architecture: string;
  readonly os: string;
  readonly layers: readonly Layer[];
  readonly config: ImageConfigFacts;
  /**
   * The multi-platform index the image is, when every manifest it lists was
   * there and validated: what is pushed and pinned. The fields above are its
   * platform for this cluster (linux/amd64, else the first). Null (absent
   * before 2026-12-02) for a single-platform image.
   */
  readonly index?: ImageIndexFacts | null;
  /**
   * Choices the validator made that the uploader may want to know (the
   * platform taken from an index and why, a manifest digest computed for an
   * archive that stores none). Absent or empty before 2026-12-02.
   */
  readonly validationNotes?: readonly string[];
  /**
   * OCI 1.1 referrers the archive held beside the image (SBOMs, signatures,
   * attestations), checked by digest: pushed to the registry after it, each
   * before any referrer about it. Null (absent before 2026-12-03) when none.
   */
  readonly referrers?: readonly ImageReferrer[] | null;
  /**
   * What the image says of itself besides its config's labels (config.labels): its manifest's annotations, its
   * index's, and each other platform's labels and annotations where they differ from this platform's. Null (absent
   * before 2026-12-07) when not known: also for an image whose other facts leave no room under the 192 KiB of facts.
   */
  readonly annotations?: ImageAnnotations | null;
}

/** ImageSummary.annotations: the labels and annotations an image carries beside its described config's labels. */
export interface ImageAnnotations {
  /** The annotations of the manifest the summary describes (a Docker schema 2 manifest has none). */
  readonly manifest: Readonly<Record<string, string>>;
  /** The annotations of the multi-platform index the image is; null for a single-platform image. */
  readonly index: Readonly<Record<string, string>> | null;
  /** The index's other platforms whose labels or annotations differ from the described one's, in index order. */
  readonly platforms: readonly PlatformAnnotations[];
  /** Entries the validator left out to keep them within their room (label-budget.ts): 0 when all are here. */
  readonly leftOut: number;
}

/** One platform of an index, with its config's labels and its manifest's annotations. */
export interface PlatformAnnotations {
  /** As `docker buildx --platform` names it: `linux/arm64/v8`. */
  readonly platform: string;
  readonly digest: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A referrer of the image, as an OCI layout held it: a manifest (or index) about the image or about another referrer. */
export interface ImageReferrer {
  readonly digest: string;
  readonly mediaType: string;
  readonly sizeBytes: number;
  /** Its artifact type (else its config's media type): what a referrers listing says it is. */
  readonly artifactType: string | null;
  /** The manifest it is about: the image's index or manifest, a platform's, or another referrer's. */
  readonly subject: string;
  /** cosign's tag for it (`sha256-<hex>.sig`, `.att`, `.sbom`): its manifest names no subject, the tag is how cosign finds it. */
  readonly tag: string | null;
  /** Its config and layers, each once. */
  readonly blobs: readonly IndexedBlob[];
}

export interface IndexedBlob { readonly digest: string; readonly sizeBytes: number }

/** One entry of an image index: a platform's image, or a BuildKit attestation kept so the index stays whole. */
export interface IndexedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly sizeBytes: number;
  /** Empty for an attestation. */
  readonly os: string;
  readonly architecture: string;
  readonly variant: string | null;
  readonly attestation: boolean;
  readonly configDigest: string;
  /** Its layers (an attestation's documents), in order. */
  readonly blobs: readonly IndexedBlob[];
}

export interface ImageIndexFacts {
  readonly digest: string;
  readonly mediaType: string;
  readonly manifests: readonly IndexedManifest[];
}

/** The digest an image is pulled and pinned by: its index for a multi-platform image, else its manifest. */
export function pinnedDigestOf(image: { readonly manifestDigest: string; readonly index?: { readonly digest: string } | null | undefined }): string {
  return image.index?.digest ?? image.manifestDigest;
}

export interface UploadRequested extends EventEnvelope {
  readonly requestId: string;
  readonly source: 'ARCHIVE' | 'REFERENCE' | 'PRESIGNED';
  readonly metadata: ImageMetadata;
  readonly staging: ObjectRef | null;
  readonly reference: string | null;
  readonly sizeBytes: number | null;
  readonly sha256: string | null;
  /** The presigned upload it completed; null (or absent, before 2026-12-01) otherwise. */
  readonly uploadId?: string | null;
  /** The Idempotency-Key it was sent with; null (or absent, before 2026-12-01) otherwise. */
  readonly idempotencyKey?: string | null;
  /** What a key-claimed upload was sent with (absent before 2026-12-02, null without a key). */
  readonly bodyDigest?: UploadBodyDigest | null;
}

/** What an upload request was sent with, to tell a repeat of its key from another request under the same key. */
export interface UploadBodyDigest {
  /** SHA-256 (hex) of the validated metadata as canonical JSON. */
  readonly metadataSha256: string;
  /** SHA-256 (hex) of the archive, or of the registry reference's text; null for a presigned completion. */
  readonly contentSha256: string | null;
}

export interface ImageValidated extends EventEnvelope {
  readonly requestId: string;
  readonly metadata: ImageMetadata;
  readonly staging: ObjectRef;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly image: ImageSummary;
  /** The registry reference an upload by reference was pulled from, as given; null or absent for an archive or presigned upload (or before 2026-12-06). */
  readonly pulledFrom?: string | null;
  /**
   * When the gateway accepted the request (timestamp-millis): its UploadRequested's occurredAt, fixed once in the
   * gateway's outbox, so every run of the request carries the same. Null or absent in events written before 2026-12-07.
   */
  readonly requestedAt?: number | null;
}

export interface ImageRejected extends EventEnvelope {
  readonly requestId: string;
  readonly reasonCode: string;
  readonly message: string;
  readonly stage: string;
  readonly staging: ObjectRef | null;
  /** The version the upload named; null in events written before the field was added. */
  readonly imageVersion: string | null;
}

export interface ImageStored extends EventEnvelope {
  readonly requestId: string;
  readonly metadata: ImageMetadata;
  readonly image: ImageSummary;
  readonly stored: ObjectRef;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly environment: string;
  /** Where the image was pushed, by digest (registry/repository@sha256:…); null or absent when Orbit does not push (or before 2026-12-02). */
  readonly imageReference?: string | null;
  /** The same image by its version's tag; null when untagged (the tag names another image) or not pushed. */
  readonly imageTag?: string | null;
  /** Its ImageValidated's pulledFrom, passed on: the projector shows it to the owner with the digest pulled. */
  readonly pulledFrom?: string | null;
  /**
   * Its ImageValidated's requestedAt, passed on: when the gateway accepted the request, which a harbor-writer run again
   * keeps where it stamps its own occurredAt anew. ViewPort orders an image's uploads by it (image-text.ts). Null or
   * absent in events written before 2026-12-07.
   */
  readonly requestedAt?: number | null;
}

export interface ChartGenerated extends EventEnvelope {
  readonly requestId: string;
  readonly imageVersion: string;
  readonly chartName: string;
  readonly chartVersion: string;
  readonly appVersion: string;
  readonly helmChartName: string;
  readonly chart: ObjectRef;
  readonly chartSha256: string;
  readonly environment: string;
  readonly kustomizeTable: string;
  /** The chart pushed as an OCI artifact, by digest and by its version's tag; null when charts are not pushed. */
  readonly chartReference?: string | null;
  readonly chartTag?: string | null;
}

export interface TransferRequested extends EventEnvelope {
  readonly requestId: string;
  readonly imageVersion: string;
  readonly sourceEnvironment: string;
  readonly targetEnvironment: string;
  readonly notes: string | null;
}

export interface ImageCopied extends EventEnvelope {
  readonly requestId: string;
  readonly imageVersion: string;
  readonly sourceEnvironment: string;
  readonly targetEnvironment: string;
  readonly source: ObjectRef;
  readonly target: ObjectRef;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** The transfer request's notes (null in events written before this field). */
  readonly notes: string | null;
  /** Where the target's charts pull the image, by digest, when the target has a registry of its own; null when it shares the source's. */
  readonly imageReference?: string | null;
  /** The same image there by its version's tag; null when not pushed there or untagged. */
  readonly imageTag?: string | null;
}

export interface ChartPromoted extends EventEnvelope {
  /** Where the target pulls the image, by digest, when it has a registry of its own; null when it pulls from the upload registry. */
  readonly imageReference?: string | null;
  /** The same image there by its version's tag. */
  readonly imageTag?: string | null;
  /** The packaged chart the target serves when it is not the version's (it pulls from the target's own registry), and its SHA-256. */
  readonly chart?: ObjectRef | null;
  readonly chartSha256?: string | null;
  /** That chart pushed as an OCI artifact into the target's own registry, by digest and by tag. */
  readonly chartReference?: string | null;
  readonly chartTag?: string | null;
  readonly requestId: string;
  readonly imageVersion: string;
  readonly helmChartName: string;
  readonly sourceEnvironment: string;
  readonly targetEnvironment: string;
  readonly sourceTable: string;
  readonly targetTable: string;
  /** The image copy the promoted chart points at, and its SHA-256 (null in events written before these fields). */
  readonly image: ObjectRef | null;
  readonly sha256: string | null;
  /** The transfer request's notes (null in events written before this field, and when it gave none). */
  readonly notes: string | null;
}

export interface ViewportUpdated extends EventEnvelope {
  readonly requestId: string;
  readonly imageVersion: string | null;
  readonly environment: string | null;
  readonly status: string;
  readonly causeEventType: string;
}

export interface PipelineFailed extends EventEnvelope {
  readonly requestId: string;
  readonly flow: string;
  readonly stage: string;
  readonly reasonCode: string;
  readonly message: string;
  readonly failedEventId: string | null;
  /** The version the request named; null in events written before the field was added, or where none was named. */
  readonly imageVersion: string | null;
  /** The environment a transfer asked for; null for uploads, and in events written before the field was added. */
  readonly targetEnvironment: string | null;
}

/** Which event each topic carries. */
export interface EventsByTopic {
  'orbit.upload.requested': UploadRequested;
  'orbit.image.validated': ImageValidated;
  'orbit.image.rejected': ImageRejected;
  'orbit.image.stored': ImageStored;
  'orbit.chart.generated': ChartGenerated;
  'orbit.transfer.requested': TransferRequested;
  'orbit.image.copied': ImageCopied;
  'orbit.chart.promoted': ChartPromoted;
  'orbit.viewport.updated': ViewportUpdated;
  'orbit.pipeline.failed': PipelineFailed;
}

export type OrbitEvent = EventsByTopic[keyof EventsByTopic];

/** The environment a transfer's event names as its target; null in an upload's events. */
export function targetEnvironmentOf(event: OrbitEvent): string | null {
  return 'targetEnvironment' in event && typeof event.targetEnvironment === 'string' ? event.targetEnvironment : null;
}

/** The image version an event names, in its own field or in its metadata; null where it names none. */
export function imageVersionOf(event: OrbitEvent): string | null {
  if ('imageVersion' in event && typeof event.imageVersion === 'string') return event.imageVersion;
  if ('metadata' in event) return event.metadata.imageVersion;
  return null;
}
