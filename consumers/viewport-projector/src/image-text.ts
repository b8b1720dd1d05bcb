import { OCCURRED_AT_RANGE } from '@orbit/lib';
import type { ImageStored } from '@orbit/schemas';

/**
 * An image's description and category, as ViewPort shows and searches them
 * (the image post's content and `imageCategory` meta): each is the one of the
 * newest upload that gave one, as a registry keeps a repository's description
 * across pushes that do not mention it. An upload that gives none (null, or an
 * empty category, which the gateway reads as none) leaves the image's as they
 * were; an empty description is one given, and clears it.
 *
 * "Newest" is by when the gateway accepted the upload's request (its
 * ImageStored's requestedAt, the UploadRequested's occurredAt passed on), which
 * every run of the request carries alike: not by the ImageStored's own
 * occurredAt, which a harbor-writer running the request again (after a crash,
 * a redelivery, a re-drive) stamps anew, after newer uploads maybe, nor by the
 * order ImageStored arrives in. A letter re-driven days later, or a rebuild
 * that projects the copy the live projector set aside at its first place, must
 * leave the same text, so the projection stays one fold of its events and its
 * rebuild's checksum agrees; a rebuild from nothing has the events alone, and
 * they carry the order. An ImageStored written before requestedAt (2026-12-07)
 * is placed by its occurredAt, as it always was. A version stored again is no
 * newer upload (plan.ts).
 */
export interface ImageText {
  readonly description: string;
  readonly category: string;
  /** The upload the description is from; null when none gave one. Before uploads were compared (2026-12-07) none was kept: read from its versions then. */
  readonly descriptionFrom: UploadMark | null;
  readonly categoryFrom: UploadMark | null;
}

/**
 * Which upload a text is from, kept in the image's `descriptionFrom` and `categoryFrom` meta: what a later upload is
 * compared with. Placed by `requestedAt` (ISO 8601) when its ImageStored carried one, else by `storedAt`, its
 * occurredAt: one of the two, so the mark of an upload from before requestedAt is written as it always was (and one
 * written then still reads), and the mark of a later one holds nothing a run of its request stamps anew.
 */
export type UploadMark = ({ readonly requestedAt: string } | { readonly storedAt: string }) & {
  readonly requestId: string;
  readonly imageVersion: string;
};

/** Images the database already holds, by image post guid, with the text they show: for an upload that does not give all of it. */
export type KnownImages = ReadonlyMap<string, ImageText>;

/** A new image's, before any upload gave it anything. */
export const NO_IMAGE_TEXT: ImageText = { description: '', category: '', descriptionFrom: null, categoryFrom: null };

/** The instant an upload is placed by: when its request was accepted, else (a mark from before requestedAt) when it was stored. */
const placedAt = (mark: UploadMark): number => Date.parse('requestedAt' in mark ? mark.requestedAt : mark.storedAt);

/**
 * Two requests accepted in the same millisecond: the greater request id (case aside), which every projection of the
 * events agrees on whichever it projects first; neither was sent after the other. Two uploads placed by their storing
 * time (before requestedAt) in the same millisecond: the one projected later, as uploads sent one after the other
 * arrive, as before. The same request is no other upload: its text is the one it gave.
 */
function isNewer(mark: UploadMark, than: UploadMark | null): boolean {
  if (than === null) return true;
  const byTime = placedAt(mark) - placedAt(than);
  if (byTime !== 0) return byTime > 0;
  if (!('requestedAt' in mark) || !('requestedAt' in than)) return true;
  return mark.requestId.toLowerCase() >= than.requestId.toLowerCase();
}

/**
 * When `event`'s request was accepted (ms), as it carries it; undefined for an ImageStored written before requestedAt,
 * or one whose time no DATETIME holds (the envelope's occurredAt is held to that range when decoded; this is not).
 */
export function requestedAtOf(event: Pick<ImageStored, 'requestedAt'>): number | undefined {
  const { requestedAt } = event;
  return typeof requestedAt === 'number' && Number.isInteger(requestedAt) && requestedAt >= OCCURRED_AT_RANGE.from && requestedAt <= OCCURRED_AT_RANGE.to
    ? requestedAt : undefined;
}

/** The mark of `event`'s upload: by when its request was accepted, else (an ImageStored from before requestedAt) when it was stored. */
function markOfUpload(event: ImageStored): UploadMark {
  const requestedAt = requestedAtOf(event);
  const placed = requestedAt === undefined ? { storedAt: new Date(event.occurredAt).toISOString() } : { requestedAt: new Date(requestedAt).toISOString() };
  return { ...placed, requestId: event.requestId, imageVersion: event.metadata.imageVersion };
}

/** The image's text once `event`'s upload is counted: what it gave, where it is newer than what gave the image's. */
export function imageTextAfter(current: ImageText, event: ImageStored): ImageText {
  const mark = markOfUpload(event);
  const { description, imageCategory } = event.metadata;
  // What textGivenBy says is given, with the types narrowed.
  const describes = typeof description === 'string' && isNewer(mark, current.descriptionFrom);
  const categorises = typeof imageCategory === 'string' && imageCategory !== '' && isNewer(mark, current.categoryFrom);
  return {
    description: describes ? description : current.description, descriptionFrom: describes ? mark : current.descriptionFrom,
    category: categorises ? imageCategory : current.category, categoryFrom: categorises ? mark : current.categoryFrom,
  };
}

/**
 * Which text an image's uploads in a batch give. Only a text given is compared with the upload its image's is from, so
 * only its mark, when missing, is read from the image's versions (found by a reread: an image given no category had
 * every version read on every batch, 60 000 rows for 20 uploads of a 3 000-version image).
 */
export interface TextGiven {
  readonly description: boolean;
  readonly category: boolean;
}

/** What `event`'s upload gives of its image's text, as imageTextAfter reads it. */
export function textGivenBy(event: Pick<ImageStored, 'metadata'>): TextGiven {
  const { description, imageCategory } = event.metadata;
  return { description: typeof description === 'string', category: typeof imageCategory === 'string' && imageCategory !== '' };
}

/** The image's meta for its text: the marks only once an upload gave something, so an image never described keeps no extra rows. */
export function imageTextMeta(text: ImageText): Record<string, unknown> {
  return {
    imageCategory: text.category,
    ...(text.descriptionFrom ? { descriptionFrom: text.descriptionFrom } : {}),
    ...(text.categoryFrom ? { categoryFrom: text.categoryFrom } : {}),
  };
}

/** A mark as the meta holds it: placed by requestedAt (2026-12-07 on), else by storedAt (every mark written before). */
function markOf(value: unknown): UploadMark | null {
  if (typeof value !== 'string') return null;
  const parsed = JSON.parse(value) as { requestedAt?: unknown; storedAt?: unknown; requestId?: unknown; imageVersion?: unknown } | null;
  if (!parsed || typeof parsed.requestId !== 'string' || typeof parsed.imageVersion !== 'string') return null;
  const { requestId, imageVersion } = parsed;
  if (typeof parsed.requestedAt === 'string') return { requestedAt: parsed.requestedAt, requestId, imageVersion };
  return typeof parsed.storedAt === 'string' ? { storedAt: parsed.storedAt, requestId, imageVersion } : null;
}

/**
 * One of the image's versions as ViewPort holds it, for an image whose text has no mark: its post's post_date_gmt
 * (its first ImageStored's occurredAt, as the post keeps the earliest copy's), its `requestedAt`, `requestId` meta and
 * post_name, and its `metadata` meta (its upload's metadata as JSON text), which holds the description and category
 * that upload gave.
 */
export interface StoredVersion {
  readonly storedAt: Date;
  readonly requestedAt: unknown;
  readonly requestId: unknown;
  readonly imageVersion: unknown;
  readonly metadata: unknown;
}

/** The description and category a version's `metadata` meta says its upload gave. */
function givenBy(metadata: unknown): { description?: unknown; imageCategory?: unknown } {
  const parsed = typeof metadata === 'string' ? JSON.parse(metadata) as unknown : null;
  return typeof parsed === 'object' && parsed !== null ? parsed : {};
}

/**
 * The marks an image's text would carry had its versions' uploads been projected with marks: those of the newest
 * version that gave a description, and a category, compared as imageTextAfter compares uploads, `versions` in the
 * order they were projected (their post ids). For an image projected before the marks (2026-12-07): a late older
 * ImageStored (an old letter re-driven, a harbor-writer re-run) was taken as newer than its unmarked text and
 * overwrote it, where a rebuild, whose marks come from those same uploads, kept it (found by an upgrade review). An
 * image projected since has a mark wherever one of its versions gave text, so this is null where its mark is missing:
 * nothing changes there, and a live projection and a rebuild stay one fold of the events.
 */
export function marksOfVersions(versions: readonly StoredVersion[]): Pick<ImageText, 'descriptionFrom' | 'categoryFrom'> {
  let descriptionFrom: UploadMark | null = null;
  let categoryFrom: UploadMark | null = null;
  for (const version of versions) {
    if (typeof version.requestId !== 'string' || typeof version.imageVersion !== 'string' || Number.isNaN(version.storedAt.getTime())) continue;
    // As markOfUpload marks the upload, so a mark written from here is the one a rebuild writes.
    const placed = typeof version.requestedAt === 'string' && !Number.isNaN(Date.parse(version.requestedAt))
      ? { requestedAt: version.requestedAt } : { storedAt: version.storedAt.toISOString() };
    const mark: UploadMark = { ...placed, requestId: version.requestId, imageVersion: version.imageVersion };
    const { description, imageCategory: category } = givenBy(version.metadata);
    if (typeof description === 'string' && isNewer(mark, descriptionFrom)) descriptionFrom = mark;
    if (typeof category === 'string' && category !== '' && isNewer(mark, categoryFrom)) categoryFrom = mark;
  }
  return { descriptionFrom, categoryFrom };
}

/**
 * An image's text from its post's content and meta as the database holds them. An image projected before the marks
 * has none: each missing one that an upload now gives (`given`) is taken from its versions (marksOfVersions, over the
 * versions that gave that text), so an upload older than the one its text is from does not overwrite it; one not
 * given stays missing, as nothing is compared with it.
 */
export function imageTextOfRow(
  row: { readonly content: unknown; readonly category: unknown; readonly descriptionFrom: unknown; readonly categoryFrom: unknown },
  versions: readonly StoredVersion[] = [],
  given: TextGiven = { description: true, category: true },
): ImageText {
  const descriptionFrom = markOf(row.descriptionFrom);
  const categoryFrom = markOf(row.categoryFrom);
  const derived = descriptionFrom && categoryFrom ? { descriptionFrom, categoryFrom } : marksOfVersions(versions);
  return {
    description: typeof row.content === 'string' ? row.content : '', category: typeof row.category === 'string' ? row.category : '',
    descriptionFrom: descriptionFrom ?? (given.description ? derived.descriptionFrom : null),
    categoryFrom: categoryFrom ?? (given.category ? derived.categoryFrom : null),
  };
}
