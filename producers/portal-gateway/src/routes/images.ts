import type { FastifyInstance, FastifyRequest } from 'fastify';
import { searchCategory, searchQuery, unsearchableReason, type EnvironmentName } from '@orbit/lib';
import type { Caller } from '../auth.js';
import { badCursor, cursorOrThrow, encodeCursor, filteredListing, pageQuery } from '../page-cursor.js';
import { errors, IMAGE_EVENTS, IMAGE_LIST, IMAGE_VERSIONS, IMAGE_VIEW, pathParams } from '../openapi.js';
import { notFound, RequestRefusedError } from '../errors.js';
import { environmentOrThrow } from '../environment-param.js';
import type { EventLogReader, EventPosition, ImageReader, ImageView, OverviewQuery, RequestStore, TimelineEntry, VersionsQuery, ViewerQuery } from '../ports.js';
import { imageNotHeld } from './not-held.js';
import { onceEach } from '../request-steps.js';
import { readableEnvironments, requestsToSettle, visibleEvents } from '../read-access.js';
import { VERSIONS_SHOWN } from '../image-overview.js';
import { holdsOwnerOnlyFacts, imageShownTo, versionShownTo } from '../version-objects.js';
import { eventsShownTo } from '../event-payload-view.js';
import type { TransferPolicy } from '../transfer-rules.js';
import type { InEnvironment } from '../stores/mysql-images.js';

const IMAGE_UID_PARAM = pathParams('uid');
/** Rows per page of a listing, unless the caller asks for fewer or more (up to max). */
const IMAGES_PAGE = { default: 100, max: 200, what: 'Images' };
const EVENTS_PAGE = {
  default: 500, max: 1000, what: 'Events',
  // Found by a probe: a page of 2 at limit=1.
  limitNote: 'a page holds whole messages, never part of one: below the steps one message logged (an upload\'s first logs two), the page holds them all',
};
const VERSIONS_PAGE = { default: 50, max: 200, what: 'Versions' };
/** Reads of the event log one page may take to fill itself with the events a caller may see. */
const MAX_EVENT_READS = 20;
/**
 * Rows of the event log one page reads at most: one holding none the caller may see yet is answered empty, with a cursor
 * past them, rather than reading on through a log of others' events for as long as it is.
 */
const MAX_EVENT_ROWS = 20_000;

/** `?environment=`, narrowing the versions shown, counted and paged to those present there. */
const ENVIRONMENT_FILTER = {
  type: 'string', maxLength: 32,
  description: 'Only versions present in this environment (any letter case; an unknown name is 400 UNKNOWN_ENVIRONMENT): `versions` and `versionCount` are of those, `environments` stays every environment of the versions you see',
};

/** The environment a query names, as every environment parameter reads it, or none. */
const environmentAsked = (asked: string | undefined): EnvironmentName | undefined => (asked === undefined ? undefined : environmentOrThrow(asked, 'querystring.environment'));

/** q as it is searched (NFKC), or 400 for one holding what the collation gives no weight (unsearchableReason). */
function searchableOrThrow(q: string): string {
  const reason = unsearchableReason(q);
  if (reason !== undefined) throw new RequestRefusedError(400, 'ORBIT_ERR_BAD_REQUEST', reason, [{ field: 'querystring.q', message: reason }]);
  return searchQuery(q);
}

/**
 * GET /v1/images/{uid}, GET /v1/images?q=&category=&environment= and the
 * image's event timeline. Callers see their own images, and a holder of a
 * role that an environment's promotion needs sees the versions of anyone's
 * images in that environment and the one before it (read-access.ts). Any
 * other image answers 404 so UIDs cannot be probed.
 */
export function imageRoutes(deps: { images: ImageReader; events: EventLogReader; requests?: Pick<RequestStore, 'list'>; policy?: TransferPolicy }) {
  return async function register(app: FastifyInstance, options: { caller: (request: FastifyRequest) => Promise<Caller> }): Promise<void> {
    const readableBy = (caller: Caller): EnvironmentName[] => (deps.policy ? readableEnvironments(caller.roles, deps.policy) : []);
    /** Whether the caller owns the image: an overview of no version and no environment is only ever its owner's. */
    const ownedBy = async (uid: string, caller: Caller): Promise<boolean> =>
      (await deps.images.overview(uid, { viewer: caller.actor.username, readable: [], newest: 0 }))?.owner === caller.actor.username;
    /** The 404 of an image the caller does not see: why it is not in ViewPort yet, when it is the caller's. */
    const notHeldAnswer = async (caller: Caller, uid: string): Promise<RequestRefusedError> =>
      // ViewPort holds an image from its first validated version on: until then the UID an upload answered with would be a bare 404.
      (deps.requests && (await imageNotHeld(deps.requests, caller.actor.username, uid))) ?? notFound(`image ${uid}`);
    /**
     * The image as the caller sees it, as `read` reads it (its overview, or its outline: who owns it and which versions
     * the caller sees); to its owner, 404 IMAGE_NOT_READY while its first upload is under way, IMAGE_UPLOAD_FAILED naming
     * the failed upload once none is (it was a bare 404, though the event log holds that upload's steps under the UID).
     */
    const visible = async (request: FastifyRequest<{ Params: { uid: string } }>, read: (uid: string, query: ViewerQuery) => Promise<ImageView | undefined>) => {
      const caller = await options.caller(request);
      const image = await read(request.params.uid, { viewer: caller.actor.username, readable: readableBy(caller) });
      if (!image) throw await notHeldAnswer(caller, request.params.uid);
      return { caller, image };
    };
    app.get<{ Params: { uid: string }; Querystring: { environment?: string } }>('/v1/images/:uid', {
      schema: {
        operationId: 'getImage', summary: `An image in ViewPort with its environments and newest ${VERSIONS_SHOWN.image} versions (every one: GET /v1/images/{uid}/versions)`,
        tags: ['images'], params: IMAGE_UID_PARAM, querystring: { type: 'object', additionalProperties: false, properties: { environment: ENVIRONMENT_FILTER } },
        response: { 200: IMAGE_VIEW, ...errors(400, 401, 404) },
      },
    }, async (request) => {
      const environment = environmentAsked(request.query.environment);
      const { caller, image } = await visible(request, (uid, query) => {
        const scoped: InEnvironment<OverviewQuery> = { ...query, newest: VERSIONS_SHOWN.image, environment };
        return deps.images.overview(uid, scoped);
      });
      return imageShownTo(image, caller.actor.username);
    });
    app.get<{ Params: { uid: string }; Querystring: { limit?: number; cursor?: string } }>('/v1/images/:uid/events', {
      schema: {
        operationId: 'listImageEvents', summary: 'Every logged event of an image, in order, a page at a time', tags: ['images'], params: IMAGE_UID_PARAM,
        querystring: pageQuery(EVENTS_PAGE), response: { 200: IMAGE_EVENTS, ...errors(400, 401, 404) },
      },
    }, async (request) => {
      // Whose image and which versions the caller sees, no version's other meta: an image of 10 000 versions was read
      // whole for each page, 33 MB (found by a review: 8 pages at once took the gateway from 132 MB to 1 GB).
      const { caller, image } = await visible(request, (uid, query) => deps.images.outline(uid, query));
      const { limit = EVENTS_PAGE.default, cursor } = request.query;
      const listing = `events:${image.imageUID}`;
      const after = cursorOrThrow(cursor, listing);
      /** What the caller may see of a chunk of the log, each step once beside those the page holds already. */
      const seenWith = async (held: readonly TimelineEntry[], entries: readonly TimelineEntry[]): Promise<TimelineEntry[]> => {
        // A request cut by the chunk's edge is judged by all its events, so a release manager sees it whole or not at all.
        const unsettled = requestsToSettle(image, caller.actor.username, entries);
        const requestEvents: TimelineEntry[] = [];
        // Ten reads at a time: a page of a thousand failed requests must not fire a thousand queries at once.
        for (let at = 0; at < unsettled.length; at += 10) {
          requestEvents.push(...(await Promise.all(unsettled.slice(at, at + 10).map((correlationId) => deps.events.byCorrelationId(correlationId)))).flat());
        }
        // A step published again under its eventId (its stage ran again) has a row per message: shown once, as in a request's steps.
        return onceEach([...held, ...visibleEvents(image, caller.actor.username, entries, requestEvents)]);
      };
      // A caller who sees some versions only (a promotion role) gets full pages of those, not pages thinned after the read:
      // an empty page with a cursor reads as the end to many clients. Bounded once the page holds an event, so a log of
      // others' events is not read whole for a page the caller could have had shorter.
      const events: TimelineEntry[] = [];
      let next: EventPosition | undefined = after && { eventKey: after[0], pid: after[1] };
      let reads = 0;
      let rowsRead = 0;
      let chunk = limit;
      do {
        const wanted = limit - events.length;
        const page = await deps.events.byImageUID(image.imageUID, { limit: chunk, after: next });
        const once = await seenWith(events, page.entries);
        if (chunk > wanted && once.length > limit) {
          // A chunk read past the bound holds more events than the page takes: it is read again from its start, only as far
          // as the last event the page takes, and at most half as far (so the reads shrink even where the log put steps of
          // one time in another order), never to fewer rows than the page still wants.
          const last = page.entries.indexOf(once[limit - 1] as TimelineEntry);
          chunk = Math.max(wanted, Math.min(Math.floor(chunk / 2), last + 1));
          // Counted too, so MAX_EVENT_ROWS bounds every row read; `next` is unchanged, so the loop's test holds and reads again.
          rowsRead += page.entries.length;
          continue;
        }
        events.splice(0, events.length, ...once);
        next = page.next;
        reads += 1;
        rowsRead += page.entries.length;
        // Past the bound a page holds nothing yet: larger chunks, up to a listing's largest page, so a long run of others'
        // events costs a read per thousand rows, not one per `limit` (found by a review: 38.9 s at limit=5 over 10 000).
        chunk = reads < MAX_EVENT_READS ? limit - events.length : Math.min(EVENTS_PAGE.max, Math.max(chunk, limit) * 2);
        // Never an empty page with a cursor while the work stays bounded: past the bound, reading goes on until one event
        // it may see, or the end, or MAX_EVENT_ROWS, where the page is answered with what it has and a cursor past every
        // row read (a later page goes on from there: nothing the caller may see is passed over, and paging ends).
      } while (next && events.length < limit && (reads < MAX_EVENT_READS || events.length === 0) && rowsRead < MAX_EVENT_ROWS);
      // Shaped last: which events are seen, and each step once, are judged on the whole payloads (actor, version, eventId).
      // A role holder sees who, what and when of someone else's image, not their e-mail, upload keys or S3 objects.
      const shown = eventsShownTo(caller.actor.username, image.owner, events);
      return { imageUID: image.imageUID, events: shown, nextCursor: next ? encodeCursor(listing, [next.eventKey, next.pid]) : null };
    });
    app.get<{ Params: { uid: string }; Querystring: { limit?: number; cursor?: string; environment?: string } }>('/v1/images/:uid/versions', {
      schema: {
        operationId: 'listImageVersions', tags: ['images'], params: IMAGE_UID_PARAM, querystring: pageQuery(VERSIONS_PAGE, { environment: ENVIRONMENT_FILTER }),
        summary: `An image's versions newest first, a page at a time (GET /v1/images/{uid} shows the newest ${VERSIONS_SHOWN.image})`,
        response: { 200: IMAGE_VERSIONS, ...errors(400, 401, 404) },
      },
    }, async (request) => {
      const caller = await options.caller(request);
      const { uid } = request.params;
      const { limit = VERSIONS_PAGE.default, cursor } = request.query;
      const environment = environmentAsked(request.query.environment);
      // The filter is in the listing's name, so a cursor of the Testing pages is refused on the unfiltered ones and back.
      const listing = filteredListing(`versions:${uid}`, { environment });
      const after = cursorOrThrow(cursor, listing);
      const before = after === undefined ? undefined : Number(after[0]);
      if (before !== undefined && !Number.isSafeInteger(before)) throw badCursor();
      // Read a page at a time in the store: an image of a thousand versions was megabytes per read (found by a probe).
      const asked: InEnvironment<VersionsQuery> = { limit, before, beforeVersion: after?.[1], viewer: caller.actor.username, readable: readableBy(caller), environment };
      const page = await deps.images.versionsPage(uid, asked);
      // Polled after an upload's 202 as the image is: "not yet" or "failed", naming the upload, to its owner.
      if (!page) throw await notHeldAnswer(caller, uid);
      const last = page.versions.at(-1);
      const owned = holdsOwnerOnlyFacts(page.versions) && (await ownedBy(uid, caller));
      return {
        imageUID: uid, versions: page.versions.map((version) => versionShownTo(version, owned)),
        nextCursor: page.next !== undefined && last ? encodeCursor(listing, [String(page.next), String(last['imageVersion'])]) : null,
      };
    });
    app.get<{ Querystring: { q?: string; category?: string; environment?: string; limit?: number; cursor?: string } }>('/v1/images', {
      schema: {
        operationId: 'searchImages', summary: 'Search your images (and, with a promotion role, the images in the environments it covers)', tags: ['images'],
        querystring: pageQuery(IMAGES_PAGE, { q: { type: 'string', maxLength: 128 }, category: { type: 'string', maxLength: 64 }, environment: ENVIRONMENT_FILTER }),
        response: { 200: IMAGE_LIST, ...errors(400, 401) },
      },
    }, async (request) => {
      const caller = await options.caller(request);
      const { limit = IMAGES_PAGE.default, cursor } = request.query;
      // Folded here, before the cursor binds them: a next page asked for in the other normal form is the same listing.
      const q = request.query.q === undefined ? undefined : searchableOrThrow(request.query.q);
      const category = request.query.category === undefined ? undefined : searchCategory(request.query.category);
      // As every other environment parameter: any letter case, and an unknown name refused rather than answered with nothing.
      const environment = environmentAsked(request.query.environment);
      const listing = filteredListing('images', { q, category, environment });
      const after = cursorOrThrow(cursor, listing);
      const readable = readableBy(caller);
      // Overviews, seen as the caller may (visibleImage's rule, applied where the versions are read).
      const found = await deps.images.search({
        owner: caller.actor.username, alsoIn: readable, q, category, environment, limit, after: after && { imageName: after[0], imageUID: after[1] }, newest: VERSIONS_SHOWN.listing,
      });
      return {
        // Versions reach environments in chain order, so an environment a match was found by is one its visible versions passed through or reached.
        images: found.images.map((image) => imageShownTo(image, caller.actor.username)),
        nextCursor: found.next ? encodeCursor(listing, [found.next.imageName, found.next.imageUID]) : null,
      };
    });
  };
}
