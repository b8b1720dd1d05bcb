import type { EnvironmentName } from '@orbit/lib';
import { environmentsOfVersion, type ImageView, type TimelineEntry } from './ports.js';
import type { TransferPolicy } from './transfer-rules.js';

/**
 * The environments a caller may look into beyond their own images: for every
 * target whose role they hold, the target and the environment just before it
 * (the versions they may promote, and those they promoted). A release manager
 * sees Staging and Production, as a promotion permission on a repository
 * grants reading it in Artifactory or Harbor. Without such a role: none.
 */
export function readableEnvironments(roles: readonly string[], policy: TransferPolicy): EnvironmentName[] {
  const readable = new Set<EnvironmentName>();
  policy.chain.forEach((target, position) => {
    const role = policy.roles.get(target);
    if (position === 0 || !role || !roles.includes(role)) return;
    readable.add(policy.chain[position - 1] as EnvironmentName);
    readable.add(target);
  });
  return [...readable];
}

/**
 * What of an image a caller may see: all of it when it is theirs; of anyone
 * else's, only the versions present in an environment they may read, or
 * nothing (undefined) when there is none, which answers 404 as an unknown
 * image does.
 */
export function visibleImage(image: ImageView | undefined, username: string, readable: readonly string[]): ImageView | undefined {
  if (!image || image.owner === username) return image;
  const versions = image.versions.filter((version) => environmentsOfVersion(version).some((environment) => readable.includes(environment)));
  if (versions.length === 0) return undefined;
  // The image's description is its newest upload's that gave one, which may be a version hidden here: the newest visible one's instead.
  return { ...image, versions, environments: [...new Set(versions.flatMap(environmentsOfVersion))], description: newestDescriptionOf(versions) };
}

/**
 * The description of the newest upload among `versions` (in upload order, oldest first) that gave one, as the
 * projector keeps its owner's image's (image-text.ts: an upload without one leaves it); '' when none did. Newest by
 * when its request was accepted (the version's `requestedAt`), else, for a version stored before that was carried,
 * when it was stored (`createdAt`), as the projector placed it: not by upload order, where a version whose ImageStored
 * was set aside and re-driven after a newer one comes later, with the older upload.
 */
export function newestDescriptionOf(versions: readonly Record<string, unknown>[]): string {
  let newest: { readonly version: Record<string, unknown>; readonly placed: UploadPlace } | undefined;
  for (const version of versions) {
    if (givenDescriptionOf(version) === undefined) continue;
    const placed = uploadPlaceOf(version);
    if (newest === undefined || isNewerUpload(placed, newest.placed)) newest = { version, placed };
  }
  return descriptionOf(newest?.version);
}

/** Where a version's upload stands among an image's uploads, as image-text.ts places them. */
interface UploadPlace {
  /** ms; NaN when the version says neither when it was accepted nor when it was stored. */
  readonly at: number;
  readonly accepted: boolean;
  readonly requestId: string;
}

function uploadPlaceOf(version: Record<string, unknown>): UploadPlace {
  const { requestedAt, createdAt, requestId } = version;
  const accepted = typeof requestedAt === 'string';
  return { at: Date.parse(accepted ? requestedAt : typeof createdAt === 'string' ? createdAt : ''), accepted, requestId: typeof requestId === 'string' ? requestId : '' };
}

/**
 * As image-text.ts's isNewer: later; two accepted in the same millisecond, the greater request id (case aside); else
 * the one that comes later in upload order (`place`, seen after `than`). A version with no time at all is no newer.
 */
function isNewerUpload(place: UploadPlace, than: UploadPlace): boolean {
  if (Number.isNaN(than.at)) return true;
  if (Number.isNaN(place.at)) return false;
  if (place.at !== than.at) return place.at > than.at;
  return place.accepted && than.accepted ? place.requestId.toLowerCase() >= than.requestId.toLowerCase() : true;
}

function givenDescriptionOf(version: Record<string, unknown> | undefined): string | undefined {
  const metadata = version?.['metadata'];
  const description = typeof metadata === 'object' && metadata !== null ? (metadata as { description?: unknown }).description : undefined;
  return typeof description === 'string' ? description : undefined;
}

/** The description a version was uploaded with ('' for none), from the metadata ViewPort keeps with it. */
export function descriptionOf(version: Record<string, unknown> | undefined): string {
  return givenDescriptionOf(version) ?? '';
}

/** The image version an event is about: transfer events name it, upload events carry it in their metadata. */
function versionOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { imageVersion, metadata } = payload as { imageVersion?: unknown; metadata?: { imageVersion?: unknown } | null };
  if (typeof imageVersion === 'string') return imageVersion;
  return typeof metadata?.imageVersion === 'string' ? metadata.imageVersion : undefined;
}

/** Who an event says asked for its request: every step carries the actor of the command that started it. */
function actorOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { actor } = payload as { actor?: { username?: unknown } | null };
  return typeof actor?.username === 'string' ? actor.username : undefined;
}

/** What decides who may read a request, from its record or from its events. */
export interface RequestFacts {
  /** Who asked for it; undefined when that is not known for sure. */
  readonly requester: string | undefined;
  /** The image versions it is about; none when it names none (an upload refused before its metadata was read). */
  readonly versions: readonly string[];
}

/**
 * Whether a caller may read a request about `image`, given the image as visibleImage shows it to them (undefined: they
 * see none of it). One rule for GET /v1/requests/{id} and an image's events (visibleEvents), so that a request whose
 * steps the timeline shows is never a 404 there, and one the timeline hides is: who asked for it reads it; the owner
 * reads every request about their image; anyone else, only a request about versions they see (a role holder's, in the
 * environments their role reads), every one of them, upload or transfer into whichever environment, as a version's
 * history is part of what they are shown of it; nothing about a version hidden from them, nor one that names no version.
 */
export function seesRequest(image: ImageView | undefined, username: string, request: RequestFacts): boolean {
  if (request.requester === username) return true;
  if (!image) return false;
  if (image.owner === username) return true;
  const seen = new Set(image.versions.map((version) => String(version['imageVersion'])));
  return request.versions.length > 0 && request.versions.every((version) => seen.has(version));
}

/**
 * Each request's facts as its events in `events` give them: the versions any of them names, and who asked for it
 * when every step that says so names the same user (steps naming different ones name no requester).
 */
function requestFactsOf(events: readonly TimelineEntry[]): Map<string, RequestFacts> {
  const facts = new Map<string, { requesters: Set<string>; versions: Set<string> }>();
  for (const event of events) {
    const request = facts.get(event.correlationId) ?? { requesters: new Set<string>(), versions: new Set<string>() };
    const version = versionOf(event.payload);
    const actor = actorOf(event.payload);
    if (version !== undefined) request.versions.add(version);
    if (actor !== undefined) request.requesters.add(actor);
    facts.set(event.correlationId, request);
  }
  return new Map([...facts].map(([correlationId, { requesters, versions }]) => [
    correlationId, { requester: requesters.size === 1 ? [...requesters][0] : undefined, versions: [...versions] },
  ]));
}

/**
 * The requests whose events in `events` name no version: only the request's other events, read for it, settle
 * whether the caller may see them (a page can hold a refused transfer's ViewPort update without its failure).
 */
export function requestsToSettle(image: ImageView, username: string, events: readonly TimelineEntry[]): string[] {
  if (image.owner === username) return [];
  // One the caller asked for is theirs to see whatever it names: nothing to read for it.
  return [...requestFactsOf(events)].filter(([, request]) => request.versions.length === 0 && request.requester !== username).map(([correlationId]) => correlationId);
}

/**
 * The events a caller may see of `image` (as visibleImage shows it to them): those of the requests seesRequest lets
 * them read, each request whole. A step naming no version is judged by all its request's events, so a refused
 * transfer's ViewPort update (which names none) goes with its failure instead of half a request showing.
 * `requestEvents`, the other events of the requests `requestsToSettle` named, only judge: they are not returned.
 */
export function visibleEvents(image: ImageView, username: string, events: readonly TimelineEntry[], requestEvents: readonly TimelineEntry[] = []): TimelineEntry[] {
  if (image.owner === username) return [...events];
  const facts = requestFactsOf([...events, ...requestEvents]);
  return events.filter((event) => {
    const request = facts.get(event.correlationId) ?? { requester: undefined, versions: [] };
    const version = versionOf(event.payload);
    // A step that names a version tells of that version alone: it is judged by it, whatever else its request names.
    return seesRequest(image, username, version === undefined ? request : { ...request, versions: [version] });
  });
}
