import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { abortableSleep, chartVersionOf, offSurrogatePair, checkMetadata, isStagedBy, jsonBytes, metadataRuntimeProblems, MAX_IMAGE_FACTS_BYTES, metadataSizeProblem, OrbitError, parseImageReference, registryAllowed, retryPolicy, RetryExhaustedError, withRetry, type RegistryAllowlist, type RetryPolicy, PullRefusedError, RegistryUnavailableError } from '@orbit/lib';
import type { ImageMetadata, ImageSummary, ObjectRef, UploadRequested } from '@orbit/schemas';
import type { ValidationLimits } from './archive/limits.js';
import { REJECTION_CODES } from './archive/rejections.js';
import { validateArchive } from './archive/validate-archive.js';
import type { NameRegistry } from './name-registry.js';
import type { RegistryOutages } from './registry-outages.js';

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

/** The staged object is not there; not retried, the upload is refused. */
export class StagedObjectMissingError extends OrbitError {
  constructor(ref: ObjectRef) {
    super('ORBIT_ERR_STAGED_OBJECT_MISSING', `s3://${ref.bucket}/${ref.key} is not in staging`);
  }
}

export interface ValidateUploadDeps {
  /** Opens the staged upload for reading; StagedObjectMissingError when absent, other failures propagate (retriable store errors). */
  openStaged(ref: ObjectRef): Promise<Readable>;
  /** Pulls a registry reference into staging; PullRefusedError refuses the upload. Absent: references are a wiring error. */
  stageReference?(event: UploadRequested): Promise<ObjectRef>;
  readonly names: NameRegistry;
  readonly limits: ValidationLimits;
  /** The upload staging bucket (ORBIT_BUCKET_STAGING): a staged archive is read from the owner's prefix there and nowhere else. */
  readonly stagingBucket: string;
  /** How long an unavailable registry is retried before the upload is refused. @default REGISTRY_PATIENCE */
  readonly registryPatience?: RegistryPatience;
  /** Registries that stayed away lately: uploads naming one are refused at once instead of waiting out the patience again, but for one now and then that tries it once. */
  readonly registryOutages?: RegistryOutages;
  /** The registries references may name (ORBIT_ALLOWED_REGISTRIES); empty or absent: any. */
  readonly allowedRegistries?: RegistryAllowlist;
}

export interface RegistryPatience {
  readonly patienceMs: number;
  readonly policy: RetryPolicy;
}

/**
 * A registry the user named is not Orbit's own store: while it is down, the
 * upload's partition would wait behind it, and every upload after it with it.
 * So it is retried for a while (as docker pull does), then the upload is refused.
 */
export const REGISTRY_PATIENCE: RegistryPatience = { patienceMs: 30_000, policy: retryPolicy({ initialDelayMs: 1_000, maxDelayMs: 8_000 }) };

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

/** "registry x is unavailable: fetch failed: connect ECONNREFUSED …": every message down the cause chain. */
function causeChain(error: unknown): string {
  const messages: string[] = [];
  for (let cause = error; cause instanceof Error && messages.length < 5; cause = cause.cause) messages.push(cause.message);
  return messages.join(': ') || 'unavailable';
}

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

/**
 * `pull` tried until it succeeds or the patience is over, each retry waiting
 * at least as long as a 429's Retry-After asks: the backoff alone sent three
 * requests within a Retry-After of 5 s (found by a review), and a registry
 * counting them may hold its limit longer.
 */
async function pullPatiently(pull: () => Promise<ObjectRef>, patience: RegistryPatience, isRetriable: (error: unknown) => boolean): Promise<ObjectRef> {
  let askedToWaitMs = 0;
  return withRetry(pull, {
    policy: patience.policy, isRetriable, signal: AbortSignal.timeout(patience.patienceMs),
    onRetry: ({ error }) => { askedToWaitMs = error instanceof RegistryUnavailableError ? error.rateLimit?.retryAfterMs ?? 0 : 0; },
    sleep: (delayMs, signal) => abortableSleep(Math.max(delayMs, askedToWaitMs), signal),
  });
}

/**
 * Why the staged archive is not the one the request named. A streamed archive's sha256 is the gateway's own hash of
 * what it received; a presigned one's is what its client pinned at completion (or, without that, the checksum S3
 * kept of a PUT that sent one): the bytes now under its key were PUT again since (its URL takes several within the
 * hour), or are not the ones the client meant.
 */
export function checksumMismatch(event: Pick<UploadRequested, 'source' | 'sha256'>, staged: string): string {
  if (event.source !== 'PRESIGNED') return `the staged archive hashes to ${staged} but the upload hashed to ${String(event.sha256)}`;
  return `the staged archive hashes to sha256 ${staged}, but the completion gave sha256 ${String(event.sha256)} (or, given none, the PUT's own x-amz-checksum-sha256 did): `
    + 'what is under the upload\'s key is not the archive meant (its URL may have been used again since): PUT the archive again, or complete with its sha256';
}

/** The SHA-256 of a staged archive read to its end. */
async function stagedSha256(deps: Pick<ValidateUploadDeps, 'openStaged'>, staging: ObjectRef): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await deps.openStaged(staging)) hash.update(chunk as Buffer);
  return hash.digest('hex');
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
    kind: 'rejected', requestId: event.requestId, reasonCode, message: shortened(message), stage: 'validate', staging,
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
    const patience = deps.registryPatience ?? REGISTRY_PATIENCE;
    const parsed = parseImageReference(event.reference);
    const registry = parsed?.registry ?? event.reference;
    // A registry that answers 5xx for one repository (a Harbor proxy-cache project, an Artifactory remote) may serve the others.
    const repository = `${registry}/${parsed?.repository ?? ''}`;
    // Checked here too, not only at the gateway: the validator is what makes the connection.
    if (!registryAllowed(registry, deps.allowedRegistries ?? [])) {
      return rejected('REGISTRY_NOT_ALLOWED', `registry ${registry} is not one Orbit pulls from (ORBIT_ALLOWED_REGISTRIES: ${deps.allowedRegistries?.join(', ')}); nothing was fetched`);
    }
    const limit = deps.registryOutages?.rateLimit(registry);
    if (limit) {
      return rejected('REGISTRY_UNAVAILABLE', `${registry} limits Orbit's pulls (${limit.why}); uploads naming it are refused at once until ${limit.until.toISOString()}, so that the uploads behind them do not wait too: upload again after that`);
    }
    const outages = deps.registryOutages;
    const probeEvery = `one upload every ${Math.round((outages?.probeIntervalMs ?? 0) / 1000)} s tries it`;
    const outage = outages?.recentOutage(registry);
    if (outage && !outages?.takeProbeTurn(registry)) {
      return rejected('REGISTRY_UNAVAILABLE', `registry ${registry} did not answer at ${outage.toISOString()}; uploads naming it are refused at once for a while (${probeEvery}) so that the uploads behind them do not wait too: upload again once it answers`);
    }
    const failing = outage ? undefined : outages?.recentOutage(repository);
    if (failing && !outages?.takeProbeTurn(repository)) {
      return rejected('REGISTRY_UNAVAILABLE', `${repository} kept failing (5xx or 429) until ${failing.toISOString()}; uploads naming it are refused at once for a while (${probeEvery}) so that the uploads behind them do not wait too: upload again once it serves`);
    }
    // A probe tries once: waiting out the patience for a registry already seen away is what the memory spares the partition.
    const probe = outage ? { name: registry, since: outage } : failing ? { name: repository, since: failing } : undefined;
    const started = Date.now();
    // Without a memory of registries (tests, other wiring) every one is waited for, as before there was one.
    // A rate limit is waited for only when what it asks for fits in the patience left: Docker Hub's lasts hours.
    const waitedFor = (error: RegistryUnavailableError): boolean => probe === undefined
      && (error.rateLimit === undefined || (error.rateLimit.retryAfterMs ?? Infinity) <= patience.patienceMs - (Date.now() - started))
      && (error.answered || (outages?.answeredLately(registry) ?? true));
    try {
      staging = await pullPatiently(() => pull(event), patience, (error) => error instanceof RegistryUnavailableError && waitedFor(error));
      outages?.served(registry, repository);
    } catch (error) {
      if (error instanceof PullRefusedError) {
        // It answered, if only to refuse: a registry worth waiting for should it go quiet later.
        if (error.answered) outages?.served(registry, repository);
        return rejected(error.reasonCode, error.message);
      }
      const limited = error instanceof RetryExhaustedError ? error.cause : error;
      if (limited instanceof RegistryUnavailableError && limited.rateLimit !== undefined) {
        const why = causeChain(limited);
        outages?.rateLimited(registry, why, limited.rateLimit.retryAfterMs);
        const until = limited.rateLimit.retryAfterMs === undefined ? '' : ` (it asks to wait ${Math.ceil(limited.rateLimit.retryAfterMs / 1000)} s)`;
        return rejected('REGISTRY_UNAVAILABLE', `${registry} limits Orbit's pulls${until}: ${why}; uploads naming it are refused at once for a while, so that the uploads behind them do not wait too: upload again later`);
      }
      if (probe && error instanceof RegistryUnavailableError) {
        // Answered, only with errors (a 5xx): that repository is remembered, and the registry that answered forgiven.
        if (error.answered) {
          outages?.answered(registry);
          outages?.record(repository);
        } else {
          outages?.record(registry);
        }
        return rejected('REGISTRY_UNAVAILABLE', `${causeChain(error)}; ${probe.name} was already away at ${probe.since.toISOString()}, so this upload tried it once instead of waiting (${probeEvery}): upload again once it answers`);
      }
      if (error instanceof RegistryUnavailableError) {
        outages?.record(registry);
        return rejected('REGISTRY_UNAVAILABLE', `${causeChain(error)}; Orbit has not pulled from ${registry} lately, so it does not wait for it: check the host and port, and upload again once it answers`);
      }
      if (error instanceof RetryExhaustedError) {
        // Answered, only with errors: that repository is remembered, not the whole registry.
        outages?.record(error.cause instanceof RegistryUnavailableError && error.cause.answered ? repository : registry);
        return rejected('REGISTRY_UNAVAILABLE', `${causeChain(error.cause)} (${error.attempts} attempts over ${Math.round((Date.now() - started) / 1000)} s); upload again once it answers`);
      }
      throw error;
    } finally {
      // A probe's turn ends however its pull ends, so the next may be given (one at a time).
      if (probe) outages?.probeEnded(probe.name);
    }
  }
  let source: Readable;
  try {
    source = await deps.openStaged(staging);
  } catch (error) {
    if (!(error instanceof StagedObjectMissingError)) throw error;
    // A copy of the command sent again (the gateway's outbox sweep after a crash) can pass the holder check just before
    // the first copy's image is stored and find the archive gone just after: the harbor-writer records the version
    // before it deletes the staged archive, so asking again tells a stored upload from a lost archive.
    if ((await deps.names.holderOf(claim)) === 'this request') return { kind: 'already-stored', requestId: event.requestId };
    return rejected('STAGED_OBJECT_MISSING', `${error.message}: upload it again`);
  }
  const outcome = await validateArchive(source, deps.limits);
  if (!outcome.ok) {
    // Bytes PUT over the archive a presigned completion pinned are rarely an archive at all: that they are not the ones
    // the client meant is what it can act on, not what is wrong with them. A second read, only of a refused upload; if it
    // fails, the archive's own refusal stands.
    const other = event.source === 'PRESIGNED' && event.sha256 !== null ? await stagedSha256(deps, staging).catch(() => undefined) : undefined;
    if (other !== undefined && other !== event.sha256) return rejected('CHECKSUM_MISMATCH', `${checksumMismatch(event, other)} (read as it is, it is refused ${outcome.reasonCode}: ${outcome.message})`);
    return rejected(outcome.reasonCode, outcome.message);
  }
  // Other bytes than the ones sent (or pinned) first: that is what the client can act on, before what is wrong with them.
  if (event.sha256 !== null && event.sha256 !== outcome.sha256) return rejected('CHECKSUM_MISMATCH', checksumMismatch(event, outcome.sha256));
  if (event.sizeBytes !== null && event.sizeBytes !== outcome.sizeBytes) {
    return rejected('CHECKSUM_MISMATCH', `the staged archive is ${outcome.sizeBytes} bytes but the upload was ${event.sizeBytes}`);
  }
  const factsTooBig = imageFactsProblem(outcome.summary);
  if (factsTooBig !== null) return rejected('TOO_LARGE', factsTooBig);
  return {
    kind: 'validated', requestId: event.requestId, metadata, staging, sizeBytes: outcome.sizeBytes, sha256: outcome.sha256,
    image: outcome.summary, chartVersion: rules.chartVersion, notes: outcome.notes,
  };
}
