import type { ImageStored } from '@orbit/schemas';

/**
 * An image's description and category, as ViewPort shows and searches them
 * (the image post's content and `imageCategory` meta): each is the one of the
 * newest upload that gave one, as a registry keeps a repository's description
 * across pushes that do not mention it. An upload that gives none (null, or an
 * empty category, which the gateway reads as none) leaves the image's as they
 * were; an empty description is one given, and clears it.
 *
 * "Newest" is by when the upload's version was stored (its ImageStored's
 * occurredAt), not by the order ImageStored arrives in: a letter re-driven days
 * later, or a rebuild that projects the copy the live projector set aside at its
 * first place, must leave the same text, so the projection stays one fold of its
 * events and its rebuild's checksum agrees. A version stored again is no newer
 * upload (plan.ts).
 */
export interface ImageText {
  readonly description: string;
  readonly category: string;
  /** The upload the description is from; null when none gave one, or before uploads were compared (2026-12-07). */
  readonly descriptionFrom: UploadMark | null;
  readonly categoryFrom: UploadMark | null;
}

/** Which upload a text is from, kept in the image's `descriptionFrom` and `categoryFrom` meta: what a later upload is compared with. */
export interface UploadMark {
  readonly storedAt: string;
  readonly requestId: string;
  readonly imageVersion: string;
}

/** Images the database already holds, by image post guid, with the text they show: for an upload that does not give all of it. */
export type KnownImages = ReadonlyMap<string, ImageText>;

/** A new image's, before any upload gave it anything. */
export const NO_IMAGE_TEXT: ImageText = { description: '', category: '', descriptionFrom: null, categoryFrom: null };

/**
 * Stored in the same millisecond: the one projected later, as uploads sent one after the other arrive (a rule on
 * request ids would have the earlier upload win half the time). Only a letter re-driven past another upload of that
 * very millisecond could then leave another text than a rebuild does.
 */
function isNewer(mark: UploadMark, than: UploadMark | null): boolean {
  return than === null || Date.parse(mark.storedAt) >= Date.parse(than.storedAt);
}

/** The image's text once `event`'s upload is counted: what it gave, where it is newer than what gave the image's. */
export function imageTextAfter(current: ImageText, event: ImageStored): ImageText {
  const mark: UploadMark = { storedAt: new Date(event.occurredAt).toISOString(), requestId: event.requestId, imageVersion: event.metadata.imageVersion };
  const { description, imageCategory } = event.metadata;
  const describes = typeof description === 'string' && isNewer(mark, current.descriptionFrom);
  const categorises = typeof imageCategory === 'string' && imageCategory !== '' && isNewer(mark, current.categoryFrom);
  return {
    description: describes ? description : current.description, descriptionFrom: describes ? mark : current.descriptionFrom,
    category: categorises ? imageCategory : current.category, categoryFrom: categorises ? mark : current.categoryFrom,
  };
}

/** The image's meta for its text: the marks only once an upload gave something, so an image never described keeps no extra rows. */
export function imageTextMeta(text: ImageText): Record<string, unknown> {
  return {
    imageCategory: text.category,
    ...(text.descriptionFrom ? { descriptionFrom: text.descriptionFrom } : {}),
    ...(text.categoryFrom ? { categoryFrom: text.categoryFrom } : {}),
  };
}

function markOf(value: unknown): UploadMark | null {
  if (typeof value !== 'string') return null;
  const parsed = JSON.parse(value) as Partial<UploadMark> | null;
  return parsed && typeof parsed.storedAt === 'string' && typeof parsed.requestId === 'string' && typeof parsed.imageVersion === 'string'
    ? { storedAt: parsed.storedAt, requestId: parsed.requestId, imageVersion: parsed.imageVersion } : null;
}

/**
 * An image's text from its post's content and meta as the database holds them. An image projected before the marks
 * has none: the next upload that gives a description or category is taken as newer, as every upload was then.
 */
export function imageTextOfRow(row: { readonly content: unknown; readonly category: unknown; readonly descriptionFrom: unknown; readonly categoryFrom: unknown }): ImageText {
  return {
    description: typeof row.content === 'string' ? row.content : '', category: typeof row.category === 'string' ? row.category : '',
    descriptionFrom: markOf(row.descriptionFrom), categoryFrom: markOf(row.categoryFrom),
  };
}
