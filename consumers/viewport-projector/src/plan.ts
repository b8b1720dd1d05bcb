import { OrbitError, requestErrorColumnsOf, searchCategory, searchDescription, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { DEAD_LETTERED, pinnedDigestOf, type ChartGenerated, type ImageIndexFacts, type ImageReferrer, type ChartPromoted, type ImageRejected, type ImageStored, type ImageValidated, type OrbitEvent, type PipelineFailed } from '@orbit/schemas';
import { labelsMetaOf } from './image-labels.js';
import { imageTextAfter, imageTextMeta, NO_IMAGE_TEXT, requestedAtOf, textGivenBy, type ImageText, type KnownImages, type TextGiven } from './image-text.js';

/**
 * The projection as a pure fold: a batch of events becomes one plan of rows
 * (posts, meta, image UIDs, requests) that `writePlan` applies with a few
 * multi-row statements. The fold reproduces exactly what applying the events
 * one by one would leave in the tables — same upsert rules, same
 * forward-only request status — so a live projector (small batches) and a
 * rebuild (large batches) arrive at the same checksum.
 */

export type RequestStatus = 'accepted' | 'running' | 'succeeded' | 'failed';

/** What a projected event means for the request, for the ViewportUpdated that follows the commit. */
export interface ProjectionResult {
  readonly requestId: string;
  readonly status: RequestStatus;
  readonly imageVersion: string | null;
  readonly environment: string | null;
}

/**
 * Kafka orders events within a topic partition, not across topics: a
 * ChartGenerated or ChartPromoted can arrive before the ImageStored of the
 * same version (a backlog, a crash, a replay). The version is then retried
 * (the partition pauses with backoff) until its ImageStored is projected, so
 * the projection never depends on which topic was read first.
 */
export class VersionNotProjectedYetError extends OrbitError {
  constructor(imageUID: string, imageVersion: string) {
    super('ORBIT_ERR_PROJECTION_PENDING', `version ${imageVersion} of ${imageUID} is not projected yet; waiting for its ImageStored`, { retriable: true });
  }
}

/**
 * The version's ImageStored was set aside (dead-lettered): waiting for it would
 * hold the partition until someone re-drives that letter, so the chart event
 * is set aside with it. Re-driving the ImageStored letter and then this one
 * projects both.
 */
export class VersionSetAsideError extends OrbitError {
  constructor(imageUID: string, imageVersion: string) {
    super('ORBIT_ERR_VERSION_SET_ASIDE', `version ${imageVersion} of ${imageUID} is not projected: its ImageStored was set aside (see the orbit.image.stored DLQ); re-drive that letter first, then this one`);
  }
}

/** A post as the batch leaves it. `insert` is set when an event upserts the whole post; otherwise only the patched columns change. */
export interface PlannedPost {
  readonly guid: string;
  /** `created` only ever moves back (LEAST), like post_date_gmt in the table: to its earliest copy's time. */
  insert?: { readonly author: string; readonly title: string; readonly name: string; readonly type: string; readonly parentGuid: string | null; created: Date };
  status?: string;
  content?: string;
  /** Only ever moves forward (GREATEST), like post_modified_gmt in the table. */
  modified?: Date;
  /** The description and category as they are searched (search-text.ts), set with the whole post: a version's upload's, an image's text (image-text.ts). */
  search?: SearchCopy;
}

/** wp_posts.search_description and search_category: the searched text, normalised, beside the text as it was sent. */
export interface SearchCopy {
  readonly description: string;
  readonly category: string;
}

/** The search copy of a description and category: a version's upload's, or the text its image shows (image-text.ts). */
export const searchCopyOf = (metadata: { readonly description?: string | null | undefined; readonly imageCategory?: string | null | undefined }): SearchCopy => ({
  description: searchDescription(metadata.description ?? ''), category: searchCategory(metadata.imageCategory ?? ''),
});

export interface PlannedImageUid {
  readonly imageUID: string;
  readonly postGuid: string;
  readonly userLogin: string;
  readonly imageName: string;
  /** Only ever moves back (LEAST), to its earliest ImageStored's time, as the image post's post_date_gmt. */
  created: Date;
  updated: Date;
}

export interface PlannedRequest {
  readonly requestId: string;
  readonly kind: 'upload' | 'transfer';
  readonly imageUID: string;
  readonly userLogin: string;
  readonly created: Date;
  /** From the first event that names one (ImageRejected and PipelineFailed do not); the database keeps one it has. */
  imageVersion: string | null;
  /** A transfer's target, from its promotion. */
  targetEnvironment: string | null;
  /** A transfer's notes, from its promotion; the database keeps the ones the gateway wrote. */
  notes: string | null;
  status: RequestStatus;
  errorCode: string | null;
  errorMessage: string | null;
  errorPid: string | null;
  updated: Date;
}

export interface ProjectionPlan {
  /** In insertion order; a parent is always planned before its children. */
  readonly posts: Map<string, PlannedPost>;
  /** post guid -> meta key -> value (strings as they are, null as SQL NULL, everything else as JSON). */
  readonly meta: Map<string, Map<string, string | null>>;
  readonly imageUids: Map<string, PlannedImageUid>;
  readonly requests: Map<string, PlannedRequest>;
}

/**
 * How a version reached an environment after Development: the transfer that
 * brought it, when and by whom (the first promotion's, kept when a re-drive
 * promotes it again), its notes, and where its copy lies now (the latest
 * promotion's: a re-drive may have copied it again). Location and SHA-256
 * are null for promotions projected from events older than those fields.
 */
export interface Promotion {
  readonly requestId: string;
  readonly promotedAt: string;
  readonly promotedBy: string;
  readonly notes: string | null;
  readonly s3Location: { readonly bucket: string; readonly key: string; readonly versionId: string | null } | null;
  readonly sha256: string | null;
  /** Where that environment pulls the image, when it has a registry of its own; absent when it pulls the version's imageReference. */
  readonly imageReference?: string | null;
  readonly imageTag?: string | null;
  /** The packaged chart that environment serves, when it is not the version's chartLocation (it pulls from a registry of its own). */
  readonly chartLocation?: { readonly bucket: string; readonly key: string; readonly versionId: string | null };
  readonly chartSha256?: string | null;
  /** That chart as an OCI artifact in the environment's own registry, by digest and by tag. */
  readonly chartReference?: string;
  readonly chartTag?: string | null;
}

/** A version's `promotions` meta: one entry per environment it was promoted into. */
export type Promotions = Readonly<Record<string, Promotion>>;

/** Versions the database already holds, with their post status and `environments` and `promotions` meta, for the events that change an existing version. */
export type KnownVersions = ReadonlyMap<string, { readonly status: string; readonly environments: readonly string[]; readonly promotions?: Promotions }>;

/** Requests the database already holds as succeeded or failed, with that status and the failure's reason code. */
export type FinishedRequests = ReadonlyMap<string, { readonly status: RequestStatus; readonly errorCode: string | null }>;

/** The request ids of the messages, for FinishedRequests. */
/**
 * What a version's page says of a referrer pushed beside it: enough to find
 * it (`oras discover`, cosign), tell an SBOM from a signature, and see what
 * it weighs at the registry (its manifest and blobs, as Harbor sizes an accessory).
 */
export function referrerView(referrer: ImageReferrer): { digest: string; mediaType: string; artifactType: string | null; subject: string; sizeBytes: number; tag?: string } {
  const sizeBytes = referrer.blobs.reduce((total, blob) => total + blob.sizeBytes, referrer.sizeBytes);
  return {
    digest: referrer.digest, mediaType: referrer.mediaType, artifactType: referrer.artifactType, subject: referrer.subject, sizeBytes,
    ...(referrer.tag === null ? {} : { tag: referrer.tag }),
  };
}

/** The platforms a multi-platform image runs on, as `docker buildx --platform` names them; attestations are no platform. */
export function platformsOf(index: ImageIndexFacts): string[] {
  return index.manifests.filter((entry) => !entry.attestation).map((entry) => `${entry.os}/${entry.architecture}${entry.variant ? `/${entry.variant}` : ''}`);
}

/**
 * Where a version uploaded by reference was pulled from: the reference as its
 * owner gave it, and the digest Orbit pulled (the index's when it kept the
 * whole index, else the one manifest it kept: see validationNotes). Nothing
 * for an archive or presigned upload, nor for one stored before ImageStored
 * carried the reference: the meta key is then absent, not null.
 */
export function pulledFromOf(event: ImageStored): { pulledFrom?: { reference: string; digest: string } } {
  return event.pulledFrom ? { pulledFrom: { reference: event.pulledFrom, digest: pinnedDigestOf(event.image) } } : {};
}

/**
 * When the version's request was accepted, which the gateway orders another owner's versions' descriptions by as
 * image-text.ts orders uploads; nothing for an ImageStored written before it carried that (the key is then absent,
 * so those versions project as they always did).
 */
export function requestedAtMetaOf(event: ImageStored): { requestedAt?: string } {
  const requestedAt = requestedAtOf(event);
  return requestedAt === undefined ? {} : { requestedAt: new Date(requestedAt).toISOString() };
}

export function requestsToLookUp(messages: readonly Pick<ConsumedMessage<OrbitEvent>, 'event'>[]): string[] {
  const ids = new Set<string>();
  for (const { event } of messages) {
    const { requestId } = event as { requestId?: unknown };
    if (typeof requestId === 'string') ids.add(requestId);
  }
  return [...ids];
}

export interface PlanOutcome<M> {
  readonly plan: ProjectionPlan;
  /** The messages the plan covers, in order, each with what it meant for its request (undefined: ignored topic). */
  readonly applied: readonly { readonly message: M; readonly result: ProjectionResult | undefined }[];
  /** Set when a message must wait for another topic: it and everything after it are not in the plan. */
  readonly pending?: VersionNotProjectedYetError;
}

const IMAGE_GUID_PREFIX = 'orbit:image:';
export const imageGuid = (imageUID: string): string => `${IMAGE_GUID_PREFIX}${imageUID}`;
export const versionGuid = (imageUID: string, imageVersion: string): string => `${IMAGE_GUID_PREFIX}${imageUID}:${imageVersion}`;

/** The image UID an image's or a version's guid names (imageGuid, versionGuid); undefined for any other guid. */
export function imageUidOfGuid(guid: string): string | undefined {
  if (!guid.startsWith(IMAGE_GUID_PREFIX)) return undefined;
  const rest = guid.slice(IMAGE_GUID_PREFIX.length);
  const end = rest.indexOf(':');
  return end === -1 ? rest : rest.slice(0, end);
}

/** The image guids whose description and category the plan needs from the database: an upload may give neither. */
export function imagesToLookUp(messages: readonly Pick<ConsumedMessage<OrbitEvent>, 'topic' | 'event'>[]): string[] {
  return [...new Set(messages.filter(({ topic }) => topic === TOPICS.imageStored).map(({ event }) => imageGuid(event.imageUID)))];
}

/** What each image's uploads among `messages` give of its text (TextGiven), by image guid. */
export function textGivenByImage(messages: readonly Pick<ConsumedMessage<OrbitEvent>, 'topic' | 'event'>[]): Map<string, TextGiven> {
  const given = new Map<string, TextGiven>();
  for (const { topic, event } of messages) {
    if (topic !== TOPICS.imageStored) continue;
    const guid = imageGuid(event.imageUID);
    const before = given.get(guid) ?? { description: false, category: false };
    const now = textGivenBy(event as ImageStored);
    given.set(guid, { description: before.description || now.description, category: before.category || now.category });
  }
  return given;
}

/** The version guids whose current state the plan needs from the database. */
export function versionsToLookUp(messages: readonly Pick<ConsumedMessage<OrbitEvent>, 'topic' | 'event'>[]): string[] {
  const guids = new Set<string>();
  for (const { topic, event } of messages) {
    // A stored version too: an ImageStored handled twice (its producer died before committing) must not undo what came after the first.
    if (topic === TOPICS.imageStored) guids.add(versionGuid(event.imageUID, (event as ImageStored).metadata.imageVersion));
    if (topic === TOPICS.chartGenerated) guids.add(versionGuid(event.imageUID, (event as ChartGenerated).imageVersion));
    if (topic === TOPICS.chartPromoted) guids.add(versionGuid(event.imageUID, (event as ChartPromoted).imageVersion));
  }
  return [...guids];
}

const isFinal = (status: RequestStatus): boolean => status === 'succeeded' || status === 'failed';
const later = (a: Date | undefined, b: Date): Date => (a && a.getTime() >= b.getTime() ? a : b);
const earlier = (a: Date, b: Date): Date => (a.getTime() <= b.getTime() ? a : b);
// null is SQL NULL, which reads back as null: written as JSON it read back as the text "null" (a chartTag the registry had no tag for).
const metaValue = (value: unknown): string | null => (value === null || value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value));

class Planner {
  readonly plan: ProjectionPlan = { posts: new Map(), meta: new Map(), imageUids: new Map(), requests: new Map() };
  /** Each image's text as the batch leaves it, marks included (the plan's meta holds them as JSON). */
  private readonly imageTexts = new Map<string, ImageText>();

  constructor(
    private readonly known: KnownVersions, private readonly finished: FinishedRequests, private readonly setAside: ReadonlySet<string>, private readonly images: KnownImages,
  ) {}

  /** Why a chart event of a version that does not exist cannot be applied now: it is on its way, or it was set aside. */
  missing(imageUID: string, imageVersion: string): OrbitError {
    return this.setAside.has(versionGuid(imageUID, imageVersion)) ? new VersionSetAsideError(imageUID, imageVersion) : new VersionNotProjectedYetError(imageUID, imageVersion);
  }

  /**
   * INSERT ... ON DUPLICATE KEY UPDATE of a whole post: the first one inserts, each one sets status and content,
   * modified only grows, created only moves back. A harbor-writer that runs a request again stamps its ImageStored
   * later, and the live projector may meet that copy first (the first one set aside, re-driven after it) where a
   * rebuild meets the first: both are left with the earliest.
   */
  upsertPost(post: { guid: string; author: string; title: string; name: string; content: string; search: SearchCopy; status: string; parentGuid: string | null; type: string; when: Date }): void {
    const planned = this.postOf(post.guid);
    planned.insert ??= { author: post.author, title: post.title, name: post.name, type: post.type, parentGuid: post.parentGuid, created: post.when };
    planned.insert.created = earlier(planned.insert.created, post.when);
    planned.status = post.status;
    planned.content = post.content;
    planned.search = post.search;
    planned.modified = later(planned.modified, post.when);
  }

  setMeta(guid: string, meta: Record<string, unknown>): void {
    let entries = this.plan.meta.get(guid);
    if (!entries) this.plan.meta.set(guid, (entries = new Map()));
    for (const [key, value] of Object.entries(meta)) entries.set(key, metaValue(value));
  }

  /** True when the version is in the database or was stored earlier in this batch. */
  versionExists(guid: string): boolean {
    return this.known.has(guid) || this.plan.posts.get(guid)?.insert !== undefined;
  }

  /** The version's post status as the plan leaves it so far, else as the database holds it. */
  statusOf(guid: string): string | undefined {
    return this.plan.posts.get(guid)?.status ?? this.known.get(guid)?.status;
  }

  /** The image's text as the plan leaves it so far, else as the database holds it; nothing for a new image. */
  imageTextOf(guid: string): ImageText {
    return this.imageTexts.get(guid) ?? this.images.get(guid) ?? NO_IMAGE_TEXT;
  }

  promotionsOf(guid: string): Promotions {
    const planned = this.plan.meta.get(guid)?.get('promotions');
    if (typeof planned === 'string') return JSON.parse(planned) as Promotions;
    return this.known.get(guid)?.promotions ?? {};
  }

  environmentsOf(guid: string): string[] {
    const planned = this.plan.meta.get(guid)?.get('environments');
    if (typeof planned === 'string') return JSON.parse(planned) as string[];
    return [...(this.known.get(guid)?.environments ?? [])];
  }

  postOf(guid: string): PlannedPost {
    let planned = this.plan.posts.get(guid);
    if (!planned) this.plan.posts.set(guid, (planned = { guid }));
    return planned;
  }

  /**
   * Forward-only: once a request succeeded or failed, later events change
   * nothing. Returns the status the request has after this event, which is
   * what its ViewportUpdated announces: a late or repeated event of an earlier
   * step (a redelivery) announces the finished status, not its own. The one
   * exception is a DEAD_LETTERED failure: the message was set aside, not
   * refused, so once it is re-driven the status its flow ends with replaces it.
   */
  setRequestStatus(event: OrbitEvent & { requestId: string }, status: RequestStatus, error?: { code: string; message: string }, kind: 'upload' | 'transfer' = 'upload'): RequestStatus {
    const when = new Date(event.occurredAt);
    const columns = error ? requestErrorColumnsOf(error) : { errorCode: null, errorMessage: null };
    const current = this.plan.requests.get(event.requestId);
    const before = current && isFinal(current.status) ? current : (this.finished.get(event.requestId) ?? current);
    const settled = before !== undefined && isFinal(before.status) && !(before.status === 'failed' && before.errorCode === DEAD_LETTERED && isFinal(status));
    if (!current) {
      this.plan.requests.set(event.requestId, {
        requestId: event.requestId, kind, imageUID: event.imageUID, userLogin: event.actor.username, created: when, imageVersion: null, targetEnvironment: null, notes: null,
        status, ...columns, errorPid: error ? event.pid : null, updated: when,
      });
    } else if (!settled) {
      current.status = status;
      current.errorCode = columns.errorCode;
      current.errorMessage = columns.errorMessage;
      current.errorPid = error ? event.pid : null;
      current.updated = when;
    }
    return settled ? before.status : status;
  }

  stored(event: ImageStored): ProjectionResult {
    const when = new Date(event.occurredAt);
    const image = imageGuid(event.imageUID);
    const version = versionGuid(event.imageUID, event.metadata.imageVersion);
    // The version post carries its upload's search copy too: another owner's image is searched by the versions the caller reads.
    const search = searchCopyOf(event.metadata);
    // The same version stored again (a redelivery, a harbor-writer run twice, possibly after a newer version) is no newer upload.
    const current = this.imageTextOf(image);
    const text = this.versionExists(version) ? current : imageTextAfter(current, event);
    this.imageTexts.set(image, text);
    this.upsertPost({
      guid: image, author: event.actor.username, title: event.metadata.imageName, name: event.metadata.imageName, content: text.description,
      search: searchCopyOf({ description: text.description, imageCategory: text.category }), status: 'publish', parentGuid: null, type: 'orbit_image', when,
    });
    const uid = this.plan.imageUids.get(event.imageUID);
    if (uid) {
      uid.updated = later(uid.updated, when);
      uid.created = earlier(uid.created, when);
    } else this.plan.imageUids.set(event.imageUID, { imageUID: event.imageUID, postGuid: image, userLogin: event.actor.username, imageName: event.metadata.imageName, created: when, updated: when });
    this.setMeta(image, { ...imageTextMeta(text), part: event.metadata.part ?? '' });
    // The same version stored again (a redelivery, whose ImageStored can come after the chart or a
    // promotion) adds nothing: it stays ready and keeps every environment it reached.
    const environments = this.environmentsOf(version);
    this.upsertPost({
      guid: version, author: event.actor.username, title: `${event.metadata.imageName} ${event.metadata.imageVersion}`, name: event.metadata.imageVersion,
      content: '', search, status: this.statusOf(version) === 'ready' ? 'ready' : 'stored', parentGuid: image, type: 'orbit_image_version', when,
    });
    this.setMeta(version, {
      imageVersion: event.metadata.imageVersion, environments: environments.includes('Development') ? environments : ['Development', ...environments], digest: pinnedDigestOf(event.image), configDigest: event.image.configDigest,
      sizeBytes: String(event.sizeBytes), sha256: event.sha256, layers: event.image.layers, s3Location: event.stored, requestId: event.requestId,
      metadata: event.metadata, architecture: event.image.architecture, os: event.image.os,
      imageReference: event.imageReference ?? null, imageTag: event.imageTag ?? null,
      // Only for a multi-platform image, so single-platform versions project as they always did.
      ...(event.image.index ? { platforms: platformsOf(event.image.index) } : {}),
      ...(event.image.validationNotes?.length ? { validationNotes: event.image.validationNotes } : {}),
      // The stored archive is the upload's bytes: gzip or zstd as a whole when it came so, which its download is named by.
      ...(event.image.compression !== 'NONE' ? { archiveCompression: event.image.compression } : {}),
      ...(event.image.referrers?.length ? { referrers: event.image.referrers.map(referrerView) } : {}),
      ...pulledFromOf(event),
      ...requestedAtMetaOf(event),
      // Only when the event carries what the image says of itself: a version stored before that projects as it always did.
      ...labelsMetaOf(event),
    });
    const status = this.setRequestStatus(event, 'running');
    return { requestId: event.requestId, status, imageVersion: event.metadata.imageVersion, environment: 'Development' };
  }

  chart(event: ChartGenerated): ProjectionResult {
    const version = versionGuid(event.imageUID, event.imageVersion);
    if (!this.versionExists(version)) throw this.missing(event.imageUID, event.imageVersion);
    this.postOf(version).status = 'ready';
    this.setMeta(version, {
      chartName: event.chartName, chartVersion: event.chartVersion, helmChartName: event.helmChartName, chartLocation: event.chart, chartSha256: event.chartSha256,
      // Only when pushed, so versions charted before charts were pushed project as they did.
      ...(event.chartReference ? { chartReference: event.chartReference, chartTag: event.chartTag ?? null } : {}),
    });
    const status = this.setRequestStatus(event, 'succeeded');
    return { requestId: event.requestId, status, imageVersion: event.imageVersion, environment: event.environment };
  }

  /**
   * The transfer's last step: the version becomes present in the target
   * environment (Development and the rest stay) and the request succeeds.
   * Nothing of a transfer is visible before this, so a transfer that fails
   * half way leaves ViewPort as it was.
   */
  promotion(event: ChartPromoted): ProjectionResult {
    const version = versionGuid(event.imageUID, event.imageVersion);
    if (!this.versionExists(version)) throw this.missing(event.imageUID, event.imageVersion);
    const current = this.environmentsOf(version);
    const promotions = this.promotionsOf(version);
    const earlier = promotions[event.targetEnvironment];
    const promotion: Promotion = {
      requestId: earlier?.requestId ?? event.requestId, promotedAt: earlier?.promotedAt ?? new Date(event.occurredAt).toISOString(),
      promotedBy: earlier?.promotedBy ?? event.actor.username, notes: earlier ? earlier.notes : event.notes ?? null,
      s3Location: event.image ?? earlier?.s3Location ?? null, sha256: event.sha256 ?? earlier?.sha256 ?? null,
      // Only where the target has a registry of its own, so promotions without one stay as they were projected before this field.
      ...(event.imageReference ? { imageReference: event.imageReference, imageTag: event.imageTag ?? null } : {}),
      ...(event.chart ? { chartLocation: event.chart, chartSha256: event.chartSha256 ?? null } : {}),
      ...(event.chartReference ? { chartReference: event.chartReference, chartTag: event.chartTag ?? null } : {}),
    };
    this.setMeta(version, {
      environments: current.includes(event.targetEnvironment) ? current : [...current, event.targetEnvironment],
      promotions: { ...promotions, [event.targetEnvironment]: promotion },
    });
    const post = this.postOf(version);
    post.modified = later(post.modified, new Date(event.occurredAt));
    const status = this.setRequestStatus(event, 'succeeded', undefined, 'transfer');
    return { requestId: event.requestId, status, imageVersion: event.imageVersion, environment: event.targetEnvironment };
  }

  /**
   * Projects one event. The version and target it names are kept on its
   * request too: a rebuild restores the gateway's request rows and transfer
   * claims from them when the database was lost.
   */
  apply(topic: string, event: OrbitEvent): ProjectionResult | undefined {
    const result = this.project(topic, event);
    const request = result && this.plan.requests.get(result.requestId);
    if (request) {
      request.imageVersion ??= result.imageVersion;
      if (topic === TOPICS.chartPromoted) {
        request.targetEnvironment ??= result.environment;
        request.notes ??= (event as ChartPromoted).notes ?? null;
      }
    }
    return result;
  }

  /**
   * What a failed request asked for (its version; a transfer's target too)
   * goes on its request row only, not into its announcement: a
   * ViewportUpdated naming a version with status failed would read as that
   * version failing (a NAME_CONFLICT names one that is fine). Null in
   * failures written before the events carried them.
   */
  private keepAskedFor(requestId: string, imageVersion: string | null, targetEnvironment: string | null = null): void {
    const request = this.plan.requests.get(requestId);
    if (!request) return;
    request.imageVersion ??= imageVersion;
    request.targetEnvironment ??= targetEnvironment;
  }

  private project(topic: string, event: OrbitEvent): ProjectionResult | undefined {
    switch (topic) {
      case TOPICS.imageValidated: {
        const validated = event as ImageValidated;
        const status = this.setRequestStatus(validated, 'running');
        return { requestId: validated.requestId, status, imageVersion: validated.metadata.imageVersion, environment: null };
      }
      case TOPICS.imageStored:
        return this.stored(event as ImageStored);
      case TOPICS.chartGenerated:
        return this.chart(event as ChartGenerated);
      case TOPICS.imageRejected: {
        const rejected = event as ImageRejected;
        const status = this.setRequestStatus(rejected, 'failed', { code: rejected.reasonCode, message: rejected.message });
        this.keepAskedFor(rejected.requestId, rejected.imageVersion);
        return { requestId: rejected.requestId, status, imageVersion: null, environment: null };
      }
      case TOPICS.chartPromoted:
        return this.promotion(event as ChartPromoted);
      case TOPICS.pipelineFailed: {
        const failure = event as PipelineFailed;
        const status = this.setRequestStatus(failure, 'failed', { code: failure.reasonCode, message: failure.message }, failure.flow === 'transfer' ? 'transfer' : 'upload');
        this.keepAskedFor(failure.requestId, failure.imageVersion, failure.targetEnvironment ?? null);
        return { requestId: failure.requestId, status, imageVersion: null, environment: null };
      }
      default:
        return undefined;
    }
  }
}

/** A request that reached its end in a batch: for the metrics of finished requests. */
export interface FinishedRequest {
  readonly requestId: string;
  readonly kind: 'upload' | 'transfer';
  readonly status: 'succeeded' | 'failed';
  readonly errorCode: string | null;
  /** From acceptance (the database's row, else its first event here) to the event that ended it. */
  readonly seconds: number;
}

/** The requests of the gateway's refusals (PipelineFailed, stage "request") among the messages. */
function refusalsAmong(applied: readonly { readonly message: Pick<ConsumedMessage<OrbitEvent>, 'topic' | 'event'> }[]): Set<string> {
  return new Set(applied.flatMap(({ message: { topic, event } }) => (topic === TOPICS.pipelineFailed && (event as PipelineFailed).stage === 'request' ? [(event as PipelineFailed).requestId] : [])));
}

/**
 * The requests a batch ended: each once, and only when the database did not
 * hold that end already (a redelivered last step ends nothing). A request
 * that failed DEAD_LETTERED and now ends otherwise, its letter re-driven,
 * counts again: that failure was not final. A refusal of the gateway counts
 * when its PipelineFailed is projected although its row is failed already:
 * the gateway writes it so with the refusal (a refusal the outbox sweep sends
 * twice counts twice).
 */
export function requestsEnded(
  plan: ProjectionPlan, applied: readonly { readonly message: Pick<ConsumedMessage<OrbitEvent>, 'topic' | 'event'>; readonly result: ProjectionResult | undefined }[],
  before: FinishedRequests, acceptedAt: ReadonlyMap<string, Date>,
): FinishedRequest[] {
  const ended: FinishedRequest[] = [];
  const refusals = refusalsAmong(applied);
  // The plan holds each request as the batch leaves it: its end, if it reached one, is there.
  for (const requestId of new Set(applied.flatMap(({ result }) => (result ? [result.requestId] : [])))) {
    const request = plan.requests.get(requestId);
    if (!request || (request.status !== 'succeeded' && request.status !== 'failed')) continue;
    const earlier = refusals.has(requestId) ? undefined : before.get(requestId);
    if (earlier && (earlier.errorCode !== DEAD_LETTERED || (request.status === 'failed' && request.errorCode === DEAD_LETTERED))) continue;
    const from = acceptedAt.get(requestId) ?? request.created;
    ended.push({
      requestId, kind: request.kind, status: request.status, errorCode: request.status === 'failed' ? request.errorCode : null,
      seconds: Math.max(0, (request.updated.getTime() - from.getTime()) / 1000),
    });
  }
  return ended;
}

/**
 * Folds messages (in order) into one plan. A message that must wait for
 * another topic ends the plan before it: the messages after it are not
 * planned either, so offsets stay contiguous. `known`, `finished`, `setAside`
 * and `images` are what the database holds of the versions, requests and
 * images the messages name (versionsToLookUp, requestsToLookUp, imagesToLookUp).
 */
export function planProjection<M extends Pick<ConsumedMessage<OrbitEvent>, 'topic' | 'event'>>(
  messages: readonly M[], known: KnownVersions, finished: FinishedRequests = new Map(), setAside: ReadonlySet<string> = new Set(), images: KnownImages = new Map(),
): PlanOutcome<M> {
  const planner = new Planner(known, finished, setAside, images);
  const applied: { message: M; result: ProjectionResult | undefined }[] = [];
  for (const message of messages) {
    try {
      applied.push({ message, result: planner.apply(message.topic, message.event) });
    } catch (error) {
      // Each step checks before it records anything, so the waiting message left no trace in the plan.
      if (error instanceof VersionNotProjectedYetError) return { plan: planner.plan, applied, pending: error };
      throw error;
    }
  }
  return { plan: planner.plan, applied };
}
