import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { OrbitError } from '@orbit/lib';
import type { ObjectRef, UploadRequested } from '@orbit/schemas';
import type { ValidationLimits } from './archive/limits.js';
import type { RejectionCode } from './archive/rejections.js';
import { validateArchive, type ValidationOutcome } from './archive/validate-archive.js';
import type { NameRegistry, VersionClaim } from './name-registry.js';

/** The staged object is not there; not retried, the upload is refused. */
export class StagedObjectMissingError extends OrbitError {
  constructor(ref: ObjectRef) {
    super('ORBIT_ERR_STAGED_OBJECT_MISSING', `s3://${ref.bucket}/${ref.key} is not in staging`);
  }
}

export interface StagedArchiveDeps {
  /** Opens the staged upload for reading; StagedObjectMissingError when absent, other failures propagate (retriable store errors). */
  openStaged(ref: ObjectRef): Promise<Readable>;
  readonly names: NameRegistry;
  readonly limits: ValidationLimits;
}

/** What the staged archive turned out to be: the image it holds, why it is refused, or gone because this very request stored it. */
export type StagedArchiveCheck =
  | { readonly kind: 'valid'; readonly image: Extract<ValidationOutcome, { ok: true }> }
  | { readonly kind: 'refused'; readonly reasonCode: RejectionCode | 'STAGED_OBJECT_MISSING' | 'CHECKSUM_MISMATCH'; readonly message: string }
  | { readonly kind: 'already-stored' };

/**
 * Why the staged archive is not the one the request named. A streamed archive's sha256 is the gateway's own hash of
 * what it received; a presigned one's is what its client pinned at completion (or, without that, the checksum S3
 * kept of a PUT that sent one): the bytes now under its key were PUT again since (its URL takes several within the
 * hour), or are not the ones the client meant.
 */
export function checksumMismatch(event: Pick<UploadRequested, 'source' | 'sha256'>, staged: string): string {
  if (event.source !== 'PRESIGNED') return `the staged archive hashes to ${staged} but the upload hashed to ${String(event.sha256)}`;
  return `the staged archive hashes to sha256 ${staged}, but the completion gave sha256 ${String(event.sha256)} (or, given none, the PUT's own x-amz-checksum-sha256 did): `
    + 'what is under the upload\'s key is not the archive meant (its URL may have been used again since): PUT the archive again (an upload in parts, whose parts were put together: presign it under a new Idempotency-Key), or complete with its sha256';
}

/** The SHA-256 of a staged archive read to its end. */
async function stagedSha256(deps: Pick<StagedArchiveDeps, 'openStaged'>, staging: ObjectRef): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await deps.openStaged(staging)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The staged archive read (one streaming pass) and validated, and held to
 * the size and sha256 the request gave: the image it holds, or why the
 * upload is refused (its message not yet shortened).
 */
export async function checkStagedArchive(
  event: Pick<UploadRequested, 'source' | 'sha256' | 'sizeBytes'>, staging: ObjectRef, claim: VersionClaim, deps: StagedArchiveDeps,
): Promise<StagedArchiveCheck> {
  let source: Readable;
  try {
    source = await deps.openStaged(staging);
  } catch (error) {
    if (!(error instanceof StagedObjectMissingError)) throw error;
    // A copy of the command sent again (the gateway's outbox sweep after a crash) can pass the holder check just before
    // the first copy's image is stored and find the archive gone just after: the harbor-writer records the version
    // before it deletes the staged archive, so asking again tells a stored upload from a lost archive.
    if ((await deps.names.holderOf(claim)) === 'this request') return { kind: 'already-stored' };
    return { kind: 'refused', reasonCode: 'STAGED_OBJECT_MISSING', message: `${error.message}: upload it again` };
  }
  // Told out of band, never read from the archive: an uploaded one could claim to be pulled.
  const outcome = await validateArchive(source, deps.limits, event.source === 'REFERENCE' ? 'registry' : 'upload');
  if (!outcome.ok) {
    // Bytes PUT over the archive a presigned completion pinned are rarely an archive at all: that they are not the ones
    // the client meant is what it can act on, not what is wrong with them. A second read, only of a refused upload; if it
    // fails, the archive's own refusal stands.
    const other = event.source === 'PRESIGNED' && event.sha256 !== null ? await stagedSha256(deps, staging).catch(() => undefined) : undefined;
    if (other !== undefined && other !== event.sha256) return { kind: 'refused', reasonCode: 'CHECKSUM_MISMATCH', message: `${checksumMismatch(event, other)} (read as it is, it is refused ${outcome.reasonCode}: ${outcome.message})` };
    return { kind: 'refused', reasonCode: outcome.reasonCode, message: outcome.message };
  }
  // Other bytes than the ones sent (or pinned) first: that is what the client can act on, before what is wrong with them.
  if (event.sha256 !== null && event.sha256 !== outcome.sha256) return { kind: 'refused', reasonCode: 'CHECKSUM_MISMATCH', message: checksumMismatch(event, outcome.sha256) };
  if (event.sizeBytes !== null && event.sizeBytes !== outcome.sizeBytes) {
    return { kind: 'refused', reasonCode: 'CHECKSUM_MISMATCH', message: `the staged archive is ${outcome.sizeBytes} bytes but the upload was ${event.sizeBytes}` };
  }
  return { kind: 'valid', image: outcome };
}
