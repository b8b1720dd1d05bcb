import type { Readable } from 'node:stream';
import { OrbitError } from '@orbit/lib';
import type { ImageMetadata, ImageSummary, ObjectRef, UploadRequested } from '@orbit/schemas';
import type { ValidationLimits } from './archive/limits.js';
import { REJECTION_CODES } from './archive/rejections.js';
import { validateArchive } from './archive/validate-archive.js';
import { checkMetadata } from './metadata-rules.js';
import type { NameRegistry } from './name-registry.js';

/** Reasons an upload is refused: the archive's own, plus the ones about the request around it. */
export const UPLOAD_REJECTION_CODES = {
  ...REJECTION_CODES,
  INVALID_METADATA: 'imageName or imageVersion breaks the naming rules (metadata-rules.ts); the message names the field.',
  NAME_CONFLICT: 'The owner already has this image name and version; versions are immutable.',
  CHECKSUM_MISMATCH: 'The staged archive differs in size or sha256 from what the gateway received.',
} as const;
export type UploadRejectionCode = keyof typeof UPLOAD_REJECTION_CODES;

export interface ValidateUploadDeps {
  /** Opens the staged upload for reading; failures propagate (they are retriable store errors). */
  openStaged(ref: ObjectRef): Promise<Readable>;
  readonly names: NameRegistry;
  readonly limits: ValidationLimits;
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
  };

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
  const rejected = (reasonCode: UploadRejectionCode, message: string): UploadVerdict => ({
    kind: 'rejected', requestId: event.requestId, reasonCode, message, stage: 'validate', staging: event.staging,
  });
  const { metadata } = event;
  const rules = checkMetadata(metadata);
  if (!rules.ok) return rejected(rules.reasonCode, rules.message);
  if (await deps.names.isTaken(event.actor.username, metadata.imageName, metadata.imageVersion)) {
    return rejected('NAME_CONFLICT', `${event.actor.username} already has ${metadata.imageName} ${metadata.imageVersion}; versions cannot be replaced`);
  }
  if (event.staging === null) throw new UploadNotStagedError(event.requestId);
  const outcome = await validateArchive(await deps.openStaged(event.staging), deps.limits);
  if (!outcome.ok) return rejected(outcome.reasonCode, outcome.message);
  if (event.sha256 !== null && event.sha256 !== outcome.sha256) {
    return rejected('CHECKSUM_MISMATCH', `the staged archive hashes to ${outcome.sha256} but the upload hashed to ${event.sha256}`);
  }
  if (event.sizeBytes !== null && event.sizeBytes !== outcome.sizeBytes) {
    return rejected('CHECKSUM_MISMATCH', `the staged archive is ${outcome.sizeBytes} bytes but the upload was ${event.sizeBytes}`);
  }
  return {
    kind: 'validated', requestId: event.requestId, metadata, staging: event.staging, sizeBytes: outcome.sizeBytes, sha256: outcome.sha256,
    image: outcome.summary, chartVersion: rules.chartVersion, notes: outcome.notes,
  };
}
