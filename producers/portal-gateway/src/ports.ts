import type { Readable } from 'node:stream';
import type { EnvironmentName, TraceContext } from '@orbit/lib';
import type { PipelineFailed, UploadBodyDigest, UploadRequested } from '@orbit/schemas';
import type { StagedObject } from './staging.js';

/** What the routes need from the outside world; main.ts wires the real stores. */
export interface UploadStore {
  /** Streams an archive into staging under the owner's prefix; flat memory. */
  stage(owner: string, uploadId: string, body: Readable): Promise<StagedObject>;
  /**
   * Presigned PUTs for clients that upload big images straight to S3: one
   * for the whole archive, or, when the client declares its size, one per
   * part of a multipart upload (a single PUT holds at most 5 GiB on AWS).
   */
  /**
   * Keeps what it was presigned with, for presignedWith (a presign sent again with its Idempotency-Key) and abandon
   * (a single PUT leaves nothing else before it arrives). An id is opened only once, by a single PUT or by an upload
   * in parts: a second call fails UploadPresignedMeanwhile (an id given up too: never opened anew), unless `reopen`: for an
   * upload in parts, its multipart upload ended and a presign sent again opens a new one under the same id (deleting
   * any archive there, aborting the one its plan named; UploadPresignedMeanwhile when another reopened it first); for a
   * single PUT, a presign sent again, whose URL is signed again. Reopened, what it was presigned with is not written
   * again (only the new URLs' expiry, beside it), and it fails UploadGivenUpError when a DELETE gave the id up
   * meanwhile (what it opened given back): a give-up answered is never undone.
   */
  presign(owner: string, uploadId: string, sizeBytes: number | null, options?: { readonly reopen?: boolean }): Promise<PresignedUpload>;
  /**
   * The object a presigned upload left in staging (its parts put together
   * first), or undefined if none arrived. Throws UploadIncompleteError
   * while parts are missing or of the wrong size, and UploadGivenUpError
   * for an upload given up (deleting what a URL still took since, unless
   * `completed`, asked then, says a completion holds the upload: a DELETE
   * racing it takes its mark back on finding that claim, see abandon).
   */
  find(owner: string, uploadId: string, options?: { readonly completed?: () => Promise<boolean> }): Promise<StagedObject | undefined>;
  /**
   * Fresh presigned PUTs of the parts a declared upload still lacks (not
   * arrived, or arrived at another size): after its URLs expired, or a
   * client restarted. None once its parts were put together (the archive of its size is there). Undefined when no
   * upload in parts is open under the id and none was put together; UploadGivenUpError when a DELETE gave it up while its URLs were signed.
   */
  resume(owner: string, uploadId: string): Promise<PresignedParts | undefined>;
  /**
   * What an upload was presigned with (its size, null for one PUT), when the URLs last signed for it expire (where the
   * store kept it), and when it was given up if it was; undefined when it was not presigned.
   */
  presignedWith(owner: string, uploadId: string): Promise<PresignedWith | undefined>;
  /** Deletes a staged archive whose request was refused after it arrived: every version of its key (a single PUT's URL writes one per PUT). */
  discard(staged: StagedObject): Promise<void>;
  /**
   * Gives up a presigned upload: marks it given up, so a completion is
   * refused though a single PUT's URL still takes a body until it expires,
   * then aborts its multipart upload (S3 drops the parts sent) and deletes
   * its plan and whatever archive arrived. 'unknown' when there was nothing
   * under the id (or it was given up already and nothing of it is left: a
   * give-up that died after its mark is finished, 'given-up'). Between the mark and the
   * deletes, `completed` is asked whether a completion holds the upload; if
   * one does, the mark is taken back, nothing is deleted, and 'completed' is
   * answered: a completion checks the mark after its claim (givenUp), so of
   * the two at once exactly one goes through.
   */
  abandon(owner: string, uploadId: string, completed?: () => Promise<boolean>): Promise<'given-up' | 'unknown' | 'completed'>;
  /** Whether the upload is marked given up (abandon's mark, while it stands). */
  givenUp(owner: string, uploadId: string): Promise<boolean>;
}

export interface PresignedWith {
  readonly sizeBytes: number | null;
  /** When the URLs last signed for it (its presign, one sent again with its key, GET …/parts) stop working; absent where the store kept no such time. */
  readonly expiresAt?: Date | undefined;
  /** Given up (DELETE): `at` is when, where the store knows it. */
  readonly givenUp?: { readonly at: Date | undefined };
}

interface PresignedPuts {
  readonly method: 'PUT';
  /** Headers the client must send with each PUT (the bucket refuses unencrypted writes). */
  readonly headers: Readonly<Record<string, string>>;
  readonly expiresAt: string;
}

/** The whole archive in one PUT. */
export interface PresignedSinglePut extends PresignedPuts {
  readonly url: string;
}

export interface PresignedPart {
  readonly partNumber: number;
  readonly url: string;
  /** The part must be exactly this many bytes of the archive, from (partNumber - 1) * partSizeBytes on. */
  readonly sizeBytes: number;
}

/** The archive cut into parts, each PUT to its own URL, in any order or at once. */
export interface PresignedParts extends PresignedPuts {
  readonly partSizeBytes: number;
  readonly parts: readonly PresignedPart[];
}

export type PresignedUpload = PresignedSinglePut | PresignedParts;

export type RequestStatus = 'accepted' | 'running' | 'succeeded' | 'failed';

export interface RequestRecord {
  readonly requestId: string;
  readonly kind: 'upload' | 'transfer';
  readonly imageUID: string;
  readonly imageVersion: string | null;
  readonly owner: string;
  readonly status: RequestStatus;
  readonly error: { readonly code: string; readonly message: string; readonly pid: string } | null;
  /** A transfer's target environment; null for uploads. */
  readonly targetEnvironment?: string | null;
  /** A transfer's notes, as the caller gave them. */
  readonly notes?: string | null;
  /** When the request was accepted, and when its status last changed. */
  readonly createdAt?: Date;
  readonly updatedAt?: Date;
}

export interface ImageNames {
  /**
   * The image UID of (owner, imageName), assigned on first use; the same for
   * every later version. Throws ChartNameTaken for a new name whose chart name
   * another of the owner's names holds (a stored image, or an upload that may
   * still store one); a name that holds nothing (no request, or every request
   * failed before anything was stored) is freed instead, and its upload, if one
   * is being sent, is refused when its request is recorded.
   */
  uidFor(owner: string, imageName: string): Promise<string>;
  /** As uidFor, saying whether this call gave the name its UID (`made`) or found one given before. */
  uidMade?(owner: string, imageName: string): Promise<{ readonly imageUID: string; readonly made: boolean }>;
  /**
   * The image UID of (owner, imageName) if it has one, assigning none: undefined for a new name. Throws
   * ChartNameTaken as uidFor would. For an upload whose image is still to come: a name is kept only by an
   * upload that is recorded, so a cancelled or refused one leaves no name behind.
   */
  peek(owner: string, imageName: string): Promise<string | undefined>;
}

/** A new image name would become the chart name of `holder`, another of the owner's images: their Helm repository could serve only one. */
export class ChartNameTaken extends Error {
  /**
   * `holderStored`: whether ViewPort has an image of the holder's name; false when none of its uploads is stored yet
   * (its first upload is under way, or may still be stored: dead-lettered, or failed at its chart step).
   */
  constructor(readonly imageName: string, readonly chartName: string, readonly holder: string, readonly holderStored = true) {
    super(`image name ${imageName} becomes chart ${chartName}, as ${holder} does`);
  }
}

/** What a transfer sent with an Idempotency-Key asked for: the key names this ask and no other. */
export interface TransferAsked {
  readonly imageUID: string;
  readonly imageVersion: string;
  /** As the chain spells it: `testing` and `Testing` ask for one promotion. */
  readonly targetEnvironment: string;
  readonly notes: string | null;
}

/** A caller's Idempotency-Key on a transfer, and what that transfer asks for. */
export interface TransferKey extends TransferAsked {
  readonly owner: string;
  readonly key: string;
}

/** The request a transfer's Idempotency-Key names, its status now (null: not projected yet), and what it was sent with. */
export interface KeyedTransfer extends TransferAsked {
  readonly requestId: string;
  readonly status: string | null;
}

/** The Idempotency-Key is held, live, by a transfer that asked for something else: nothing was started. */
export class TransferKeyTaken extends Error {
  constructor(readonly held: KeyedTransfer) {
    super(`the Idempotency-Key names request ${held.requestId}, sent with another ask`);
  }
}

/** A request as the gateway records it when it takes it on: `accepted`, no error yet; a transfer with the target it was accepted for. */
export type AcceptedRequest = Omit<RequestRecord, 'status' | 'error'> & {
  readonly targetEnvironment?: string;
  /**
   * An upload's: whether its own ImageNames.uidMade gave its name the UID (false: another upload of the name had, and may
   * be recording its request now). Only a name it made is freed when it is refused before anything is recorded; absent: made.
   */
  readonly madeItsName?: boolean;
};

/** What a listing is asked for besides its filters: at most `limit` entries, after `after` in its order. */
export interface PageWindow<Position> {
  readonly limit: number;
  readonly after?: Position | undefined;
}

/** Where a listing's next page starts; absent on the last page. */
export interface NextPage<Position> {
  readonly next?: Position;
}

/** A caller's requests, newest first. */
export interface RequestQuery extends PageWindow<RequestPosition> {
  readonly owner: string;
  readonly kind?: 'upload' | 'transfer' | undefined;
  readonly status?: RequestStatus | undefined;
  readonly imageUID?: string | undefined;
  /** The version an upload or transfer names; no route lists by it, the 404s that name a version's upload do. */
  readonly imageVersion?: string | undefined;
}

/** A request's place in a listing: when it was accepted, then its id. */
export interface RequestPosition {
  readonly createdAt: Date;
  readonly requestId: string;
}

export interface RequestPage extends NextPage<RequestPosition> {
  readonly requests: readonly RequestRecord[];
}

export interface RequestStore {
  get(requestId: string): Promise<RequestRecord | undefined>;
  /** The owner's requests, newest first. */
  list(query: RequestQuery): Promise<RequestPage>;
  /** The ids among `requestIds` whose request has succeeded or failed. */
  finishedAmong(requestIds: readonly string[]): Promise<ReadonlySet<string>>;
}

export interface TimelineEntry {
  readonly pid: string;
  readonly eventType: string;
  readonly at: string;
  readonly correlationId: string;
  readonly payload?: unknown;
}

export interface EventLogReader {
  byCorrelationId(correlationId: string): Promise<TimelineEntry[]>;
  /** An image's events in order, a page at a time. */
  byImageUID(imageUID: string, page: { readonly limit: number; readonly after?: EventPosition | undefined }): Promise<EventPage>;
}

/** Where a row stands in an image's event log: its sort key and its table key. */
export interface EventPosition {
  readonly eventKey: string;
  readonly pid: string;
}

export interface EventPage {
  readonly entries: readonly TimelineEntry[];
  /** Where the next page starts; absent on the last page. */
  readonly next?: EventPosition;
}

/**
 * Records the request as accepted and sends its command as one unit: the
 * request row and the command are committed together before anything is
 * published, so there is never a request without its command or the reverse.
 */
export interface CommandPublisher {
  uploadRequested(event: UploadRequested, trace: TraceContext, request: AcceptedRequest): Promise<void>;
  /** An upload refused at the door for a reason the pipeline would give too (NAME_CONFLICT): recorded as a failed request and in the error log. */
  uploadRefused?(event: PipelineFailed, trace: TraceContext, request: AcceptedRequest): Promise<void>;
}

export interface ImageView {
  readonly imageUID: string;
  readonly owner: string;
  readonly imageName: string;
  readonly description: string;
  readonly environments: readonly string[];
  /** Each version with its ViewPort meta: digest, sizeBytes, layers, s3Location, chartName, environments, status. */
  readonly versions: readonly Record<string, unknown>[];
  /** In an overview (which shows the newest versions only): every version the caller sees. */
  readonly versionCount?: number;
}

/** The environments a version of an ImageView is present in (its `environments` meta). */
export function environmentsOfVersion(version: Readonly<Record<string, unknown>>): string[] {
  return Array.isArray(version['environments']) ? (version['environments'] as unknown[]).map(String) : [];
}

/** A search of images, by name, then UID. */
export interface ImageQuery extends PageWindow<ImagePosition> {
  readonly owner: string;
  /** Also other owners' images with a version in one of these environments (a promotion role's reach). */
  readonly alsoIn?: readonly string[];
  readonly q?: string | undefined;
  readonly category?: string | undefined;
  readonly environment?: string | undefined;
  /**
   * Each image found as its overview (ImageReader.overview) with this many of its newest versions, seen as `owner`
   * with `alsoIn`, instead of whole: a listing page of images of a thousand versions each is not read whole.
   */
  readonly newest?: number;
}

/** Who looks at an image's overview, and how many versions it shows. */
export interface OverviewQuery {
  readonly viewer: string;
  /** The environments whose versions of others' images the viewer reads (readableEnvironments). */
  readonly readable: readonly string[];
  /** Versions shown: the newest this many the viewer sees, oldest first. */
  readonly newest: number;
}

/** Where an image stands in a search listing. */
export interface ImagePosition {
  readonly imageName: string;
  readonly imageUID: string;
}

export interface ImagePage extends NextPage<ImagePosition> {
  readonly images: readonly ImageView[];
}

/**
 * The version ViewPort holds of an image that a new one would clash with:
 * the same version, or another that gives the same chart version (`v1-02-3`
 * and `1.2.3` after `v1-2-3`); undefined when there is none.
 */
export type VersionStored = (imageUID: string, imageVersion: string) => Promise<string | undefined>;

export interface ImageReader {
  /**
   * The image with every version whole. No route reads it any more (an image of 10 000 versions is 33 MB of rows): each
   * reads what it answers with (overview, outline, getVersion, getChart, charted), and the store's tests check those
   * against this.
   */
  get(imageUID: string): Promise<ImageView | undefined>;
  /**
   * The image with `imageVersion` alone among its versions (none when it has no such version; `environments` are
   * that version's): what a route about one version needs, without reading the others.
   */
  getVersion(imageUID: string, imageVersion: string): Promise<ImageView | undefined>;
  search(query: ImageQuery): Promise<ImagePage>;
  /**
   * The image as `viewer` may see it (visibleImage's rule), with its newest `newest` versions only, `versionCount`
   * and `environments` over every version seen: undefined when there is no such image or the viewer sees nothing.
   * Only the shown versions' meta is read, and of another owner's image, the description, `requestedAt` and request id
   * of every version seen: its description is the newest upload's among them (newestDescriptionOf).
   */
  overview(imageUID: string, query: OverviewQuery): Promise<ImageView | undefined>;
  /**
   * An image's versions newest first, a page at a time, without reading the others: undefined when there is no
   * such image or `viewer` sees nothing of it (another owner's, with no version in `readable`).
   */
  versionsPage(imageUID: string, page: VersionsQuery): Promise<VersionsPage | undefined>;
  /**
   * The image as `viewer` may see it (visibleImage's rule), each version seen with its name and environments alone:
   * what a route needs that asks whose image it is and which versions the viewer sees, without any other meta of
   * every version. Undefined when there is no such image or the viewer sees nothing of it.
   */
  outline(imageUID: string, query: ViewerQuery): Promise<ImageView | undefined>;
  /**
   * The image with only its versions whose chart file (`<chartName>-<chartVersion>.tgz`) is `fileName`, in upload
   * order (none when no version has it): what a chart download needs, without reading the other versions.
   */
  getChart(imageUID: string, fileName: string): Promise<ImageView | undefined>;
  /**
   * `owner`'s images with a version in `environment`, in listing order (name, then UID), each with those versions
   * alone and only the meta a Helm index lists of them (helm-index.ts): a repository's index without every version read whole.
   */
  charted(owner: string, environment: string): Promise<ImageView[]>;
}

/** Who looks at an image, and the environments whose versions of others' images they read (readableEnvironments). */
export interface ViewerQuery {
  readonly viewer: string;
  readonly readable: readonly string[];
}

export interface VersionsQuery {
  readonly limit: number;
  /** Versions uploaded before this one (its position, from a previous page's `next`). */
  readonly before?: number | undefined;
  /**
   * The version at `before`, by name: where it stands now is used when the image still has it, so a page asked across a
   * rebuild (which numbers rows anew) goes on after it instead of at a row position that names something else now.
   */
  readonly beforeVersion?: string | undefined;
  readonly viewer: string;
  /** The environments whose versions of others' images the viewer reads (readableEnvironments). */
  readonly readable: readonly string[];
}

export interface VersionsPage {
  readonly versions: readonly Record<string, unknown>[];
  /** Where the next page starts; absent on the last page. */
  readonly next?: number;
}

/**
 * One request per (owner, key) of an upload: a presigned upload's id, or the
 * Idempotency-Key an upload was sent with. A repeat finds the request the
 * first one started; a failed one is replaced.
 */
export interface UploadClaims {
  /**
   * Records `request` and publishes `command` when the key is ours; answers the request that holds it. `beforeCommit`
   * runs once the claim is written, before it is committed: what it throws undoes the claim and is thrown.
   */
  claim(key: string, request: AcceptedRequest, command: UploadRequested, trace: TraceContext, beforeCommit?: () => Promise<void>): Promise<HeldRequest>;
  /** The request the owner's key started, if any: it stays the answer after the staged image is gone. */
  find(owner: string, key: string): Promise<HeldRequest | undefined>;
  /** As find, once a claim of the key being written meanwhile is committed or undone (it waits for its lock). */
  findSettled?(owner: string, key: string): Promise<HeldRequest | undefined>;
  /** Removes claims past their expiry (those that expire); answers how many went. */
  purgeExpired?(): Promise<number>;
}

/**
 * Another upload of the version is accepted and not finished: this one was not recorded. One upload of a version is
 * under way at a time, so the request a "still being uploaded" answer names is the one that will be stored (unless it
 * fails, which frees the version): the order a second one would have reached the pipeline in is not the order its
 * request row was written in, and answers named the one that then failed ALREADY_STORED (found by a probe).
 */
export class VersionUploadUnderWay extends Error {
  constructor(readonly requestId: string, readonly imageVersion: string) {
    super(`version ${imageVersion} is being uploaded by request ${requestId}`);
  }
}

/**
 * The owner has `pending.length` uploads by reference accepted and not finished, `limit` or more: this one was not
 * recorded. A pull from a slow registry holds its Kafka partition (and one of the validator's few detached handlers),
 * so one owner's slow references stalled every other owner's uploads behind them (found by a race review).
 */
export class ReferenceUploadsPending extends Error {
  /** `pending`: the request ids of the owner's unfinished uploads by reference, oldest first. */
  constructor(readonly pending: readonly string[], readonly limit: number) {
    super(`${pending.length} uploads by reference are under way, at most ${limit} at once`);
  }
}

/**
 * The registry the upload by reference is pulled from has `pending` of them accepted and not finished, every owner's
 * together, `limit` or more: this one was not recorded. Each owner under their own limit, six owners' slow references
 * to one registry still took every detached handler of the validator, and held other users' uploads 24-47 s (found
 * by a review). `registry` as sourceRegistryOf names it; the others' requests are not named (they are theirs).
 */
export class RegistryUploadsPending extends Error {
  constructor(readonly registry: string, readonly pending: number, readonly limit: number) {
    super(`${pending} uploads by reference from ${registry} are under way, at most ${limit} at once`);
  }
}

/** The request a claim names (a presigned upload's completion, a promotion), its status (null: not projected yet) and image. */
export interface HeldRequest {
  readonly requestId: string;
  readonly status: string | null;
  readonly imageUID: string | null;
  /** What an upload claim's request was sent with; absent for transfers, null for claims from before 2026-12-02. */
  readonly bodyDigest?: UploadBodyDigest | null;
}

/** An object of an environment's bucket, its version pinned. */
export interface StoredObjectRef {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | null;
}

/** What an environment deploys of a version: the manifests in its kustomize table, and short-lived links to the objects it holds. */
export interface DeployableStore {
  /** The environment's manifests of a chart, or undefined when its kustomize table has no row for it. */
  manifests(environment: EnvironmentName, helmChartName: string): Promise<readonly unknown[] | undefined>;
  /** A presigned GET of the object at its version, served as an attachment named `fileName`. */
  /** A presigned GET answering with `fileName` to save as, and `contentType` when given (else the object's own). */
  downloadUrl(object: StoredObjectRef, fileName: string, contentType?: string): Promise<{ readonly url: string; readonly expiresAt: string }>;
  /** The object's bytes at its version, as a stream, and its size when the store says it. */
  read(object: StoredObjectRef): Promise<{ readonly body: Readable; readonly sizeBytes: number | null }>;
  /** The object's size at its version, read without its bytes (a HEAD of a chart need not stream it), or null when the store does not say. */
  sizeOf(object: StoredObjectRef): Promise<number | null>;
  /**
   * The Kustomize base and the environment's overlay the chart-generator wrote
   * for a chart (path -> text), and where the environment's manifests pin the
   * image when it has a registry of its own; undefined when either row is missing.
   */
  kustomization(environment: EnvironmentName, helmChartName: string): Promise<KustomizeFiles | undefined>;
}

export interface KustomizeFiles {
  readonly files: ReadonlyMap<string, string>;
  /** The environment row's `imageReference`: set when it pulls from a registry of its own. */
  readonly imageReference: string | null;
}
