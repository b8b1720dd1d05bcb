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
  // The image's description is its latest upload's, which may be a version hidden here: the newest visible one's instead.
  return { ...image, versions, environments: [...new Set(versions.flatMap(environmentsOfVersion))], description: descriptionOf(versions.at(-1)) };
}

/** The description a version was uploaded with ('' for none), from the metadata ViewPort keeps with it. */
export function descriptionOf(version: Record<string, unknown> | undefined): string {
  const metadata = version?.['metadata'];
  const description = typeof metadata === 'object' && metadata !== null ? (metadata as { description?: unknown }).description : undefined;
  return typeof description === 'string' ? description : '';
}

/** The image version an event is about: transfer events name it, upload events carry it in their metadata. */
function versionOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { imageVersion, metadata } = payload as { imageVersion?: unknown; metadata?: { imageVersion?: unknown } | null };
  if (typeof imageVersion === 'string') return imageVersion;
  return typeof metadata?.imageVersion === 'string' ? metadata.imageVersion : undefined;
}

/**
 * The requests whose events in `events` name no version and have none beside
 * them that does: only the request's other events, read for it, settle whether
 * the caller may see them (a page can hold a refused transfer's ViewPort
 * update without its failure).
 */
export function requestsToSettle(image: ImageView, username: string, events: readonly TimelineEntry[]): string[] {
  if (image.owner === username) return [];
  const named = new Set(events.filter((event) => versionOf(event.payload) !== undefined).map((event) => event.correlationId));
  return [...new Set(events.filter((event) => versionOf(event.payload) === undefined && !named.has(event.correlationId)).map((event) => event.correlationId))];
}

/**
 * The events of the versions the caller sees: all for the owner; for anyone else, the requests about visible
 * versions only, each whole. A request is judged by the events that name a version, so its ViewPort update
 * (which names none when it fails) goes with its failure instead of half a request showing. `requestEvents`, the
 * other events of the requests `requestsToSettle` named, only judge: they are not returned.
 */
export function visibleEvents(image: ImageView, username: string, events: readonly TimelineEntry[], requestEvents: readonly TimelineEntry[] = []): TimelineEntry[] {
  if (image.owner === username) return [...events];
  const versions = new Set(image.versions.map((version) => String(version['imageVersion'])));
  const seenRequests = new Set<string>();
  const hiddenRequests = new Set<string>();
  for (const event of [...events, ...requestEvents]) {
    const version = versionOf(event.payload);
    if (version === undefined) continue;
    (versions.has(version) ? seenRequests : hiddenRequests).add(event.correlationId);
  }
  return events.filter((event) => {
    const version = versionOf(event.payload);
    if (version !== undefined) return versions.has(version);
    return seenRequests.has(event.correlationId) && !hiddenRequests.has(event.correlationId);
  });
}
