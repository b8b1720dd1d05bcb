import { chartVersionOf, offSurrogatePair, wellFormed, checkMetadata, isStagedBy, jsonBytes, metadataRuntimeProblems, MAX_IMAGE_FACTS_BYTES, metadataSizeProblem, OrbitError } from '@orbit/lib';
import type { ImageMetadata, ImageSummary, ObjectRef, UploadRequested } from '@orbit/schemas';
import { noCommandNote } from './archive/image-config.js';
import { REJECTION_CODES } from './archive/rejections.js';
import { pullIntoStaging, type PullIntoStagingDeps } from './pull-into-staging.js';
import { checkStagedArchive, type StagedArchiveDeps } from './staged-archive.js';

export { REGISTRY_PATIENCE, type RegistryPatience } from './pull-into-staging.js';
export { checksumMismatch, StagedObjectMissingError } from './staged-archive.js';

/** Reasons an upload is refused: the archive's own, plus the ones about the request around it. */
export const UPLOAD_REJECTION_CODES = {
  ...REJECTION_CODES,
  INVALID_METADATA: 'imageName or imageVersion breaks the naming rules (lib/src/metadata-rules.ts); the message names the field.',
  NAME_CONFLICT: 'The owner already has this image name and version; versions are immutable.',
  CHECKSUM_MISMATCH: 'The staged archive differs in size or sha256 from what the gateway received, or (a presigned upload) does not hash to the sha256 its completion gave.',
  STAGED_OBJECT_MISSING: 'The staged archive is not in the staging bucket (a presigned upload that never arrived, or an upload older than the one-day expiry).',
  STAGING_NOT_OWNED: "The staged archive named is not one the owner staged (uploads/<owner>/ in the staging bucket): another owner's upload or a stored image is never read.",
  REFERENCE_NOT_FOUND: 'The registry has no such repository, tag or digest.',
  REGISTRY_UNAUTHORIZED: 'The registry refused the pull (401/403) or wants credentials Orbit was not given.',
  REGISTRY_ERROR: 'The registry answered the pull with an error other than not-found, unauthorized or unavailable.',
  REGISTRY_NOT_ALLOWED: 'The reference names a registry ORBIT_ALLOWED_REGISTRIES does not list; nothing was fetched.',
  REGISTRY_UNAVAILABLE: 'The registry did not answer, or answered 5xx/429, for longer than ORBIT_REGISTRY_PATIENCE_SECONDS; ask again once it is up.',
} as const;
export type UploadRejectionCode = keyof typeof UPLOAD_REJECTION_CODES;

export interface ValidateUploadDeps extends StagedArchiveDeps, PullIntoStagingDeps {
  /** Pulls a registry reference into staging; PullRefusedError refuses the upload. Absent: references are a wiring error. */
  stageReference?(event: UploadRequested): Promise<ObjectRef>;
  /** The upload staging bucket (ORBIT_BUCKET_STAGING): a staged archive is read from the owner's prefix there and nowhere else. */
  readonly stagingBucket: string;
}

export type UploadVerdict =
  | {
    readonly kind: 'validated';
    readonly requestId: string;
    readonly metadata: ImageMetadata;
    readonly staging: ObjectRef;
    readonly sizeBytes: number;
    readonly sha256: string;
    readonly image: ImageSummary;
    readonly chartVersion: string;
    readonly notes: readonly string[];
  }
  | {
    readonly kind: 'rejected';
    readonly requestId: string;
    readonly reasonCode: UploadRejectionCode;
    readonly message: string;
    readonly stage: 'validate';
    readonly staging: ObjectRef | null;
  }
  /**
   * The version is stored for this very request: the UploadRequested came
   * again after its ImageValidated went out and the harbor-writer stored it
   * (a validator that died before committing its offset). Its staged archive
   * is gone by now, so validating again would refuse a finished upload with
   * STAGED_OBJECT_MISSING; there is nothing to announce instead.
   */
  | { readonly kind: 'already-stored'; readonly requestId: string };

/** The longest rejection message: it travels in ImageRejected (Kafka takes 1 MB) and is read by a person. */
export const MAX_MESSAGE_CHARS = 2_000;

/**
 * A message cut to MAX_MESSAGE_CHARS, keeping its start and its end (which
 * says why): a rejection quotes what it refuses, and an archive can name an
 * entry with a megabyte of path or a media type as long.
 */
export function shortened(message: string): string {
  if (message.length <= MAX_MESSAGE_CHARS) return message;
  // 48 characters are kept for the note saying how much was left out.
  const kept = MAX_MESSAGE_CHARS - 48;
  // A cut between the halves of a surrogate pair (an emoji) left half of one at each side: U+FFFD once stored or shown.
  const head = offSurrogatePair(message, Math.floor(kept * 0.7));
  const tailFrom = offSurrogatePair(message, message.length - (kept - Math.floor(kept * 0.7)), 'forward');
  return `${message.slice(0, head)} … [${tailFrom - head} characters left out] … ${message.slice(tailFrom)}`;
}

/**
 * Why a valid image's facts are too big to carry, or null. They travel whole
 * in ImageValidated and ImageStored and in the version's DynamoDB row; past
 * MAX_IMAGE_FACTS_BYTES the image would be dead-lettered by DynamoDB's 400 KB
 * item limit (or Kafka's 1 MB message limit) half way, so it is refused here
 * with what takes the room.
 */
export function imageFactsProblem(image: ImageSummary): string | null {
  const bytes = jsonBytes(image);
  if (bytes <= MAX_IMAGE_FACTS_BYTES) return null;
  const parts = [
    `config labels ${jsonBytes(image.config.labels)}`, `config env ${jsonBytes(image.config.env)}`,
    `entrypoint and cmd ${jsonBytes([image.config.entrypoint, image.config.cmd])}`, `${image.layers.length} layers ${jsonBytes(image.layers)}`,
    ...(image.index ? [`an index of ${image.index.manifests.length} manifests ${jsonBytes(image.index)}`] : []),
    ...(image.referrers?.length ? [`${image.referrers.length} referrers ${jsonBytes(image.referrers)}`] : []),
  ];
  return `the image's facts take ${bytes} bytes as JSON (${parts.join(', ')}); at most ${MAX_IMAGE_FACTS_BYTES} (192 KiB) travel with an image version`;
}

/** An UploadRequested without a staged archive reached the archive check: registry pulls must stage first. */
export class UploadNotStagedError extends OrbitError {
  constructor(requestId: string) {
    super('ORBIT_ERR_NOT_STAGED', `upload ${requestId} has no staged archive; pull the reference into staging before validating`);
  }
}

/**
 * Decides an UploadRequested: naming rules, then the name registry, then the
 * archive itself (one streaming pass). The cheap checks come first so a
 * refused name never costs a download. Publishing the verdict is the
 * caller's job.
 */
export async function validateUpload(event: UploadRequested, deps: ValidateUploadDeps): Promise<UploadVerdict> {
  let staging = event.staging;
  const rejected = (reasonCode: UploadRejectionCode, message: string): UploadVerdict => ({
    // A message may quote a registry's answer, whose JSON can spell half of a surrogate pair: the codec refuses to write
    // that, and the upload would end dead-lettered instead of with its reason.
    kind: 'rejected', requestId: event.requestId, reasonCode, message: shortened(wellFormed(message)), stage: 'validate', staging,
  });
  // The staging reference travels on to the harbor-writer, which copies and then deletes what it names: one that is not the owner's is not even read.
  if (staging !== null && !isStagedBy(staging, event.actor.username, deps.stagingBucket)) {
    const named = staging;
    // Not the request's own archive: the rejection names none, so nothing that tidies up after rejected uploads can be pointed at it.
    staging = null;
    return rejected('STAGING_NOT_OWNED', `s3://${named.bucket}/${named.key} is not an archive ${event.actor.username} staged; staged uploads live under uploads/<owner>/ in the staging bucket ${deps.stagingBucket}`);
  }
  const { metadata } = event;
  const rules = checkMetadata(metadata);
  if (!rules.ok) return rejected(rules.reasonCode, rules.message);
  const unrunnable = metadataRuntimeProblems(metadata);
  if (unrunnable.length > 0) return rejected('INVALID_METADATA', unrunnable.map(({ field, problem }) => `metadata.${field} ${problem}`).join('; '));
  const metadataTooBig = metadataSizeProblem(metadata);
  if (metadataTooBig !== null) return rejected('TOO_LARGE', `the metadata ${metadataTooBig}`);
  const claim = { owner: event.actor.username, imageUID: event.imageUID, imageName: metadata.imageName, imageVersion: metadata.imageVersion, requestId: event.requestId };
  const holder = await deps.names.holderOf(claim);
  if (holder === 'this request') return { kind: 'already-stored', requestId: event.requestId };
  if (holder === 'another request') {
    return rejected('NAME_CONFLICT', `${event.actor.username} already has ${metadata.imageName} ${metadata.imageVersion}; versions cannot be replaced`);
  }
  if (typeof holder === 'object') {
    const stored = holder.sameChartVersion;
    return rejected('NAME_CONFLICT', `${event.actor.username} already has ${metadata.imageName} ${stored} as chart version ${String(chartVersionOf(stored))}, and ${metadata.imageVersion} would be that chart version too; versions cannot be replaced, so give one that differs as SemVer`);
  }
  if (staging === null) {
    if (event.reference === null || !deps.stageReference) throw new UploadNotStagedError(event.requestId);
    const pull = deps.stageReference.bind(deps);
    const pulled = await pullIntoStaging(event.reference, () => pull(event), deps);
    if (pulled.kind === 'refused') return rejected(pulled.reasonCode, pulled.message);
    staging = pulled.staging;
  }
  const checked = await checkStagedArchive(event, staging, claim, deps);
  if (checked.kind === 'already-stored') return { kind: 'already-stored', requestId: event.requestId };
  if (checked.kind === 'refused') return rejected(checked.reasonCode, checked.message);
  const outcome = checked.image;
  const factsTooBig = imageFactsProblem(outcome.summary);
  if (factsTooBig !== null) return rejected('TOO_LARGE', factsTooBig);
  // Here, not in the archive reader: whether an override gives the command the image lacks is the metadata's to say.
  const noCommand = noCommandNote(outcome.summary.config, metadata);
  const notes = noCommand === null ? outcome.notes : [...outcome.notes, noCommand];
  const image = noCommand === null ? outcome.summary : { ...outcome.summary, validationNotes: [...(outcome.summary.validationNotes ?? []), noCommand] };
  return {
    kind: 'validated', requestId: event.requestId, metadata, staging, sizeBytes: outcome.sizeBytes, sha256: outcome.sha256,
    image, chartVersion: rules.chartVersion, notes,
  };
}
