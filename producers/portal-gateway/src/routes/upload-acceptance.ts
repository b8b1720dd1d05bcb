import { randomUUID } from 'node:crypto';
import { chartVersionOf, envelopeFor, MAX_CHART_NAME, pidOf, type Actor } from '@orbit/lib';
import type { ImageMetadata, ObjectRef, UploadRequested } from '@orbit/schemas';
import { RequestDeferredError, RequestRefusedError } from '../errors.js';
import type { FieldProblem } from '../metadata.js';
import { ChartNameTaken, ReferenceUploadsPending, RegistryUploadsPending, VersionUploadUnderWay, type AcceptedRequest } from '../ports.js';
import { requestLogFields, traceOf } from '../request-correlation.js';
import type { StagedObject } from '../staging.js';
import type { BrokenPin } from '../upload-checksum.js';
import { refuseOtherBody, type UploadClaiming } from './upload-idempotency.js';
import type { Accepted, ClaimedBy, Sender, SentBody, UploadAnswer, UploadRouteDeps } from './upload-route-types.js';
import type { StagingCleanup } from './upload-staging-cleanup.js';

/**
 * What a 429 ORBIT_ERR_REFERENCE_UPLOADS_PENDING or ORBIT_ERR_REGISTRY_UPLOADS_PENDING asks the caller to wait: about
 * one manifest's deadline at the validator (30 s), within which a pull under way either has its manifests or is refused.
 */
const REFERENCE_RETRY_AFTER_SECONDS = 30;

/** How an upload is taken once it is read: the checks of its name and version, its record and command, and its refusals. */
export interface UploadAcceptance {
  /** The image UID of the metadata's name, once a version the owner has already is refused. */
  readonly uidForNewVersion: (sender: Sender, metadata: ImageMetadata, claimed: ClaimedBy | undefined) => Promise<string>;
  /**
   * The same checks before the image has come, assigning no UID to a new name: an upload cancelled or refused
   * while its image streams would otherwise keep the name, unseen, and refuse every name of its chart name for ever.
   */
  readonly checkedBeforeImage: (sender: Sender, metadata: ImageMetadata, claimed: ClaimedBy | undefined) => Promise<string | undefined>;
  /**
   * A streamed archive that does not hash to the X-Checksum-Sha256 it was sent with (or a body to its Content-Digest): deleted from staging before anything
   * is published, and refused (422 CHECKSUM_MISMATCH, the validator's code for the same finding) as a failed request.
   */
  readonly refuseChecksumMismatch: (sender: Sender, metadata: ImageMetadata, staged: StagedObject, broken: BrokenPin, knownUID: string | undefined) => Promise<never>;
  /**
   * Records the request and publishes its command; with a key, only when the
   * key is not already held (concurrent calls with one key start one request).
   */
  readonly accept: (
    sender: Sender, metadata: ImageMetadata, source: UploadRequested['source'], staged: StagedObject | null, reference: string | null, imageUID: string, claimed?: ClaimedBy, sent?: SentBody,
    beforeCommit?: () => Promise<void>,
  ) => Promise<UploadAnswer>;
}

export function uploadAcceptance(
  deps: Pick<UploadRouteDeps, 'names' | 'publish' | 'versionStored' | 'statusUrl' | 'logger' | 'countUploadBytes'>, claiming: UploadClaiming, cleanup: StagingCleanup,
): UploadAcceptance {
  const { earlierOf, startedBefore } = claiming;
  const { discard } = cleanup;

  /** A new upload request: its command, its record, and the answer once it is accepted. */
  function requestFor(
    actor: Actor, metadata: ImageMetadata, source: UploadRequested['source'], staged: StagedObject | null, reference: string | null, imageUID: string, claimed?: ClaimedBy, sent?: SentBody,
  ) {
    const requestId = randomUUID();
    const staging: ObjectRef | null = staged ? { bucket: staged.bucket, key: staged.key, versionId: staged.versionId } : null;
    const event: UploadRequested = {
      ...envelopeFor('uploadRequested', { correlationId: requestId, imageUID, actor }),
      requestId, source, metadata, staging, reference, sizeBytes: staged?.sizeBytes ?? null, sha256: staged?.sha256 ?? null,
      uploadId: claimed?.field === 'uploadId' ? claimed.key : null, idempotencyKey: claimed?.field === 'idempotencyKey' ? claimed.key : null,
      bodyDigest: claimed && sent ? sent.digest : null,
    };
    const record: AcceptedRequest = { requestId, kind: 'upload', imageUID, imageVersion: metadata.imageVersion, owner: actor.username };
    const answer: Accepted = { requestId, imageUID, pid: pidOf('uploadRequested'), status: 'accepted', statusUrl: deps.statusUrl(requestId) };
    return { event, record, answer };
  }

  /**
   * A version the owner has already is refused before the image is read
   * (versions are immutable), and recorded as a failed request like the
   * validator's NAME_CONFLICT. Two uploads racing past this look are still
   * settled by the validator and the harbor-writer. A call whose key
   * (`claimed`) a request that has not failed holds is not refused here: the
   * claim answers it (accept), as the repeat it is.
   */
  async function refuseStoredVersion(sender: Sender, metadata: ImageMetadata, imageUID: string, claimed?: ClaimedBy): Promise<void> {
    const { actor } = sender;
    const stored = await deps.versionStored?.(imageUID, metadata.imageVersion);
    if (stored === undefined) return;
    // The key was looked up before the body was read; a retry sent meanwhile (the original still sending its image) may
    // have taken it and stored the version since. That retry's request is this call's answer (200, or 422 for another
    // body), not a NAME_CONFLICT recorded as a failed request of its own (found by a probe).
    if (await earlierOf(claimed, actor.username)) return;
    // Another spelling of a stored version's chart version would share its chart tag and its Helm repository entry.
    const message = stored === metadata.imageVersion
      ? `${actor.username} already has ${metadata.imageName} ${metadata.imageVersion}; versions cannot be replaced`
      : `${actor.username} already has ${metadata.imageName} ${stored} as chart version ${String(chartVersionOf(stored))}, and ${metadata.imageVersion} would be that chart version too; versions cannot be replaced, so give one that differs as SemVer`;
    return refuseNameConflict(sender, metadata, imageUID, message, stored === metadata.imageVersion ? 'is stored already; versions cannot be replaced' : `gives chart version ${String(chartVersionOf(stored))}, as the stored ${stored} does`);
  }

  /** A version refused at the door (409 NAME_CONFLICT), recorded as a failed request and in the error log as the validator's would be. */
  function refuseNameConflict(sender: Sender, metadata: ImageMetadata, imageUID: string, message: string, problem: string): Promise<never> {
    return refuseRecorded(sender, metadata, imageUID, { statusCode: 409, reasonCode: 'NAME_CONFLICT', message, problem: { field: 'imageVersion', message: problem } });
  }

  /** An upload refused at the door with one of the validator's reason codes, recorded as a failed request and in the error log as its refusals are. */
  async function refuseRecorded(
    { actor, request }: Sender, metadata: ImageMetadata, imageUID: string,
    refusal: { readonly statusCode: number; readonly reasonCode: string; readonly message: string; readonly problem: FieldProblem },
  ): Promise<never> {
    const { statusCode, reasonCode, message, problem } = refusal;
    const requestId = randomUUID();
    const envelope = envelopeFor('uploadFailed', { correlationId: requestId, imageUID, actor });
    await deps.publish.uploadRefused?.({
      ...envelope, requestId, flow: 'upload', stage: 'request', reasonCode, message, failedEventId: null,
      imageVersion: metadata.imageVersion, targetEnvironment: null,
    }, traceOf(request), { requestId, kind: 'upload', imageUID, imageVersion: metadata.imageVersion, owner: actor.username });
    throw new RequestRefusedError(statusCode, reasonCode, message, [problem], deps.publish.uploadRefused ? requestId : undefined, { pid: envelope.pid, imageUID });
  }

  async function refuseChecksumMismatch(sender: Sender, metadata: ImageMetadata, staged: StagedObject, broken: BrokenPin, knownUID: string | undefined): Promise<never> {
    await discard(staged, sender.request);
    const imageUID = knownUID ?? await deps.names.uidFor(sender.actor.username, metadata.imageName).catch(chartNameRefusal);
    return refuseRecorded(sender, metadata, imageUID, { statusCode: 422, reasonCode: 'CHECKSUM_MISMATCH', message: `${broken.message}; nothing was kept: send it again`, problem: broken.problem });
  }

  /**
   * Another upload of the version is under way (the store refused to record this one: one upload of a version at a
   * time): refused as a stored version is, naming that upload, which is the one a promotion's "not yet" names too.
   */
  function refuseUnderWay(sender: Sender, metadata: ImageMetadata, imageUID: string, error: unknown): Promise<never> {
    // The name was freed meanwhile and another of the owner's names took its chart name (stores/mysql-requests.ts freeUnheld).
    if (error instanceof ChartNameTaken) chartNameRefusal(error);
    if (error instanceof ReferenceUploadsPending) referencesPendingRefusal(sender, error);
    if (error instanceof RegistryUploadsPending) registryPendingRefusal(error);
    if (!(error instanceof VersionUploadUnderWay)) throw error;
    const { actor } = sender;
    // Another spelling of its chart version (5.0.0 while v5-0-0 is under way) is named as that upload spells it.
    const spelling = error.imageVersion === metadata.imageVersion ? metadata.imageVersion : `${error.imageVersion} (chart version ${String(chartVersionOf(metadata.imageVersion))}, the same as your ${metadata.imageVersion})`;
    return refuseNameConflict(sender, metadata, imageUID,
      `${actor.username} is uploading ${metadata.imageName} ${spelling} already (request ${error.requestId}; follow GET /v1/requests/${error.requestId}); versions cannot be replaced: if that request fails, send this one again`,
      `is being uploaded by request ${error.requestId}${error.imageVersion === metadata.imageVersion ? '' : ` as ${error.imageVersion}`}`);
  }

  /**
   * The owner has their most uploads by reference under way (ORBIT_MAX_PENDING_REFERENCE_UPLOADS): 429, nothing
   * recorded, as a registry's rate limit answers. Not a failed request: nothing is wrong with the upload, and the
   * same one is accepted once one of those has ended.
   */
  function referencesPendingRefusal({ actor }: Sender, error: ReferenceUploadsPending): never {
    const shown = error.pending.slice(0, 3).join(', ') + (error.pending.length > 3 ? ` and ${error.pending.length - 3} more` : '');
    throw new RequestDeferredError(429, 'ORBIT_ERR_REFERENCE_UPLOADS_PENDING',
      `${actor.username} has ${error.pending.length} uploads by reference under way (${shown}; follow GET /v1/requests/{requestId}), and Orbit pulls at most ${error.limit} of one owner's at once, so that a registry answering slowly holds up no one else's uploads: nothing was accepted; send this again once one of them has finished`,
      [{ field: 'reference', message: `${error.pending.length} of your uploads by reference are under way, the most taken at once` }], REFERENCE_RETRY_AFTER_SECONDS);
  }

  /**
   * The upload's source registry has its most uploads by reference under way, every owner's together
   * (ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY): 429, nothing recorded, as referencesPendingRefusal. The
   * requests under way are other owners': counted, not named.
   */
  function registryPendingRefusal(error: RegistryUploadsPending): never {
    throw new RequestDeferredError(429, 'ORBIT_ERR_REGISTRY_UPLOADS_PENDING',
      `registry ${error.registry} has ${error.pending} uploads by reference under way, and Orbit pulls at most ${error.limit} from one registry at once, so that a registry answering slowly holds up no one else's uploads: nothing was accepted; send this again later`,
      [{ field: 'reference', message: `${error.pending} uploads by reference from ${error.registry} are under way, the most taken from one registry at once` }], REFERENCE_RETRY_AFTER_SECONDS);
  }

  /** A chart name another of the owner's names has, as the 409 the caller gets. */
  function chartNameRefusal(error: unknown): never {
    if (!(error instanceof ChartNameTaken)) throw error;
    // A name whose first upload is still under way holds its chart name: say so, and where to go, rather than name an image the owner cannot find.
    const holder = error.holderStored ? `your image "${error.holder}" is already`
      : `your image name "${error.holder}" has (none of its uploads has been stored yet, but one is under way or may still be: see GET /v1/requests; upload under "${error.holder}", or choose a name that becomes another chart)`;
    throw new RequestRefusedError(409, 'NAME_CONFLICT',
      `imageName "${error.imageName}" becomes chart ${error.chartName}, which ${holder}: each of your images needs a chart name of its own, and chart names keep only letters and digits (lower case, dashes between) and at most ${MAX_CHART_NAME} characters`,
      [{ field: 'imageName', message: `becomes chart ${error.chartName}, as your ${error.holderStored ? 'image' : 'image name'} "${error.holder}" does` }]);
  }

  /**
   * The UID uidForNewVersion gave each HTTP request's name when it made the name (madeItsName): a refusal before its
   * request is recorded frees only such a name, never one another upload of it made and is recording.
   */
  const namesMade = new WeakMap<object, string>();

  async function uidForNewVersion(sender: Sender, metadata: ImageMetadata, claimed: ClaimedBy | undefined): Promise<string> {
    const owner = sender.actor.username;
    const { imageUID, made } = deps.names.uidMade
      ? await deps.names.uidMade(owner, metadata.imageName).catch(chartNameRefusal)
      : { imageUID: await deps.names.uidFor(owner, metadata.imageName).catch(chartNameRefusal), made: true };
    if (made) namesMade.set(sender.request, imageUID);
    await refuseStoredVersion(sender, metadata, imageUID, claimed);
    return imageUID;
  }

  async function checkedBeforeImage(sender: Sender, metadata: ImageMetadata, claimed: ClaimedBy | undefined): Promise<string | undefined> {
    const imageUID = await deps.names.peek(sender.actor.username, metadata.imageName).catch(chartNameRefusal);
    if (imageUID !== undefined) await refuseStoredVersion(sender, metadata, imageUID, claimed);
    return imageUID;
  }

  async function accept(
    sender: Sender, metadata: ImageMetadata, source: UploadRequested['source'], staged: StagedObject | null, reference: string | null, imageUID: string, claimed?: ClaimedBy, sent?: SentBody,
    beforeCommit?: () => Promise<void>,
  ): Promise<UploadAnswer> {
    const built = requestFor(sender.actor, metadata, source, staged, reference, imageUID, claimed, sent);
    const { event, answer } = built;
    const record: AcceptedRequest = { ...built.record, madeItsName: namesMade.get(sender.request) === imageUID };
    // The gateway's span of this HTTP request: a child of the caller's traceparent, when it sent a valid one.
    const trace = traceOf(sender.request);
    // What ties the X-Request-Id a caller quotes to the request (correlationId) the pipeline's lines name.
    const accepted = (): UploadAnswer => {
      // A completion's line names its upload too: the presign's line ('upload presigned') has only that id to be found by.
      deps.logger?.info({ ...requestLogFields(sender.request), correlationId: answer.requestId, imageUID, pid: event.pid, ...(event.uploadId ? { uploadId: event.uploadId } : {}) }, 'request accepted');
      // Counted once per request: a replay of its key, or a repeat a concurrent call won, is not accepted again.
      deps.countUploadBytes?.(event.source, event.sizeBytes);
      return { replayed: false, body: answer };
    };
    if (!claimed) {
      await deps.publish.uploadRequested(event, trace, record).catch((error: unknown) => refuseUnderWay(sender, metadata, imageUID, error));
      return accepted();
    }
    const held = await claimed.claims.claim(claimed.key, record, event, trace, beforeCommit).catch((error: unknown) => refuseUnderWay(sender, metadata, imageUID, error));
    if (held.requestId === answer.requestId) return accepted();
    // A concurrent call with the same key won: the same body is its repeat, another is refused as a later one would be.
    if (sent) refuseOtherBody(held, sent, claimed);
    return startedBefore(held, imageUID);
  }

  return { uidForNewVersion, checkedBeforeImage, refuseChecksumMismatch, accept };
}
