import { createHash, randomUUID, type Hash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { ImageMetadata } from '@orbit/schemas';
import type { Caller } from '../auth.js';
import { badRequest, FORM_CUT_SHORT, RequestRefusedError } from '../errors.js';
import { FormFraming } from '../form-framing.js';
import { UploadTooLargeError, type StagedObject } from '../staging.js';
import { metadataSha256 } from '../upload-body-digest.js';
import { archiveHashesOf, bodyHashesOf, brokenPin, type ArchiveHash, type BodyHash, type Pins } from '../upload-checksum.js';
import type { UploadAcceptance } from './upload-acceptance.js';
import { METADATA_AS_FILE, metadataOrThrow, metadataPartValue } from './upload-metadata-part.js';
import { senderOf, type ClaimedBy, type SentBody, type UploadAnswer, type UploadRouteDeps } from './upload-route-types.js';
import type { StagingCleanup } from './upload-staging-cleanup.js';

/** The boundary a multipart Content-Type names, quoted or not. */
function boundaryOf(headers: FastifyRequest['headers']): string | undefined {
  const found = /;\s*boundary=(?:"([^"]*)"|([^;\s]+))/i.exec(headers['content-type'] ?? '');
  return found?.[1] ?? found?.[2];
}

/** The SHA-256 of a body read to its end; more than `limit` bytes is refused as any upload over the limit. */
async function hashed(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new UploadTooLargeError(limit);
    hash.update(chunk);
  }
  return hash.digest('hex');
}

/** How a multipart body is read. */
interface PartsOptions {
  /** Give these digests of the whole body as it came too (what Content-Digest is of): hashed only when a pin asks for them. */
  readonly bodyHashes?: readonly BodyHash[];
  /** Give these digests of the archive part too (X-Checksum-Sha1, X-Checksum-Md5): hashed only when a pin asks for them. */
  readonly archiveHashes?: readonly ArchiveHash[];
}

/** The hex digests of what `hashes` were fed, by hash. */
const digestsOf = <H extends string>(hashes: readonly { algorithm: H; hash: Hash }[]): Partial<Record<H, string>> =>
  Object.fromEntries(hashes.map(({ algorithm, hash }) => [algorithm, hash.digest('hex')])) as Partial<Record<H, string>>;

/** `file` as it is read, fed to `hashes` on its way: a failure of `file` fails what reads it. */
function hashedOnTheWay(file: Readable, hashes: readonly { hash: Hash }[]): Readable {
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      for (const { hash } of hashes) hash.update(chunk);
      done(null, chunk);
    },
  });
  return pipeline(file, tap, () => undefined);
}

/**
 * The multipart reader finds no part, and says nothing, when the body's framing is not the one RFC 2046 writes:
 * LF-only lines, a boundary other than the header's, or padding after it (which receivers should take; ours does not).
 */
function noPartFound(headers: FastifyRequest['headers']): string {
  // RFC 9112 §6.3: a request with neither Content-Length nor Transfer-Encoding has no body.
  const empty = headers['content-length'] === '0' || (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined);
  if (empty) return 'the body is empty: send the parts "metadata" (JSON) and "image" (the archive, as a file part)';
  return `no part was found in the body: each part begins with a line of "--" and the boundary Content-Type names (${JSON.stringify(boundaryOf(headers) ?? '')}), `
    + 'and the body\'s lines end in CRLF, not LF alone; nothing may follow the boundary on its line (curl -F and HTTP libraries write a form so)';
}

/** A multipart body read: its metadata, its image as `image.read` made it, what the metadata's check gave, and the digests pins asked for. */
interface PartsRead<I, T> {
  readonly metadata: ImageMetadata;
  readonly image: I;
  readonly checked: T;
  readonly bodyDigests: Partial<Record<BodyHash, string>>;
  readonly archiveDigests: Partial<Record<ArchiveHash, string>>;
}

/** A multipart archive upload (POST /v1/uploads as a form): its first call, and a repeat of its Idempotency-Key. */
export interface MultipartUploads {
  /**
   * Either part order works. Metadata first (what the README shows) is
   * checked before a byte of the image is staged, so a bad name never costs
   * the upload; clients that cannot order their parts (form libraries that
   * put files first) get the image staged and the metadata checked after it,
   * and a refusal then deletes what was staged.
   */
  readonly fromMultipart: (request: FastifyRequest, caller: Caller, claimed: ClaimedBy | undefined, pins: Pins) => Promise<UploadAnswer>;
  /**
   * What a multipart call sent, read to its end and hashed, nothing staged: a
   * repeat of a key is compared with the request the key started. Its parts
   * are checked as a first call's would be.
   */
  readonly sentParts: (request: FastifyRequest, pins: Pins) => Promise<SentBody>;
}

export function multipartUploads(deps: Pick<UploadRouteDeps, 'uploads' | 'maxUploadBytes'>, acceptance: UploadAcceptance, cleanup: StagingCleanup): MultipartUploads {
  const { accept, checkedBeforeImage, refuseChecksumMismatch, uidForNewVersion } = acceptance;
  const { discard } = cleanup;

  async function fromMultipart(request: FastifyRequest, caller: Caller, claimed: ClaimedBy | undefined, pins: Pins): Promise<UploadAnswer> {
    // As soon as the metadata is in (before the image, when it comes first): the name's UID if it has one, a chart name
    // taken, and a version stored already. A new name gets its UID only once the image is staged, just before the
    // request is recorded. Nothing is recorded before then, so an upload refused there (ViewPort lost, MySQL away) is
    // deleted from staging: its client sends the whole body again anyway. Once the record is being written, a failure
    // may still have committed it, so from there on the staged image stays.
    const sender = senderOf(request, caller);
    const { metadata, image: staged, checked: knownUID, bodyDigests, archiveDigests } = await readParts(
      request, caller, (parsed) => checkedBeforeImage(sender, parsed, claimed), { bodyHashes: bodyHashesOf(pins), archiveHashes: archiveHashesOf(pins) });
    const broken = brokenPin(pins, staged.sha256, bodyDigests, archiveDigests);
    if (broken) return refuseChecksumMismatch(sender, metadata, staged, broken, knownUID);
    const sent: SentBody = { digest: { metadataSha256: metadataSha256(metadata), contentSha256: staged.sha256 }, contentIs: 'image' };
    let imageUID: string;
    try {
      imageUID = knownUID ?? await uidForNewVersion(sender, metadata, claimed);
    } catch (error) {
      await discard(staged, request);
      throw error;
    }
    try {
      const answer = await accept(sender, metadata, 'ARCHIVE', staged, null, imageUID, claimed, sent);
      // A concurrent call with the same key won: its request has its own staged image.
      if (answer.replayed) await discard(staged, request);
      return answer;
    } catch (error) {
      if (error instanceof RequestRefusedError) await discard(staged, request);
      throw error;
    }
  }

  async function sentParts(request: FastifyRequest, pins: Pins): Promise<SentBody> {
    const { metadata, image, bodyDigests, archiveDigests } = await eachPart(request, async () => undefined, {
      read: (file) => hashed(file, deps.maxUploadBytes), drop: async () => undefined,
    }, { bodyHashes: bodyHashesOf(pins), archiveHashes: archiveHashesOf(pins) });
    // A repeat is refused as its first call would be; nothing of it was staged, so there is nothing to record or delete.
    const broken = brokenPin(pins, image, bodyDigests, archiveDigests);
    if (broken) throw new RequestRefusedError(422, 'CHECKSUM_MISMATCH', `${broken.message}; nothing of this repeat was kept, and the request the key first started stands: send it again`, [broken.problem]);
    return { digest: { metadataSha256: metadataSha256(metadata), contentSha256: image }, contentIs: 'image' };
  }

  /** The metadata and the staged image, in whichever order they came; nothing stays staged if the parts are refused. */
  async function readParts<T>(
    request: FastifyRequest, caller: Caller, onMetadata: (metadata: ImageMetadata) => Promise<T>, options: PartsOptions = {},
  ): Promise<PartsRead<StagedObject, T>> {
    return eachPart(request, onMetadata, {
      read: (file) => deps.uploads.stage(caller.actor.username, randomUUID(), file),
      drop: (staged) => discard(staged, request),
    }, options);
  }

  /**
   * A multipart body's parts, in whichever order they came: the metadata
   * checked (then `onMetadata`), the image handed to `image.read`, any other
   * part refused. What was read of the image is dropped if the parts are.
   */
  async function eachPart<T, I>(
    request: FastifyRequest, onMetadata: (metadata: ImageMetadata) => Promise<T>,
    image: { readonly read: (file: Readable) => Promise<I>; readonly drop: (image: I) => Promise<void> },
    { bodyHashes = [], archiveHashes = [] }: PartsOptions = {},
  ): Promise<PartsRead<I, T>> {
    let metadata: ImageMetadata | undefined;
    let checked: { value: T } | undefined;
    let read: { value: I } | undefined;
    let parts = 0;
    // Fed the same chunks as the multipart reader, from before it starts reading: it cannot say what it skipped.
    const boundary = boundaryOf(request.headers);
    const framing = boundary === undefined ? undefined : new FormFraming(boundary);
    const bodyHashing = bodyHashes.map((algorithm) => ({ algorithm, hash: createHash(algorithm) }));
    const archiveHashing = archiveHashes.map((algorithm) => ({ algorithm, hash: createHash(algorithm) }));
    const watch = (chunk: Buffer): void => {
      framing?.feed(chunk);
      for (const { hash } of bodyHashing) hash.update(chunk);
    };
    request.raw.on('data', watch);
    try {
      for await (const part of request.parts(METADATA_AS_FILE)) {
        parts += 1;
        if (part.fieldname === 'metadata') {
          if (metadata) throw badRequest('send one "metadata" part', 'metadata');
          metadata = metadataOrThrow(await metadataPartValue(part, framing?.headOf('metadata')));
          checked = { value: await onMetadata(metadata) };
        } else if (part.type === 'field' && part.fieldname === '_charset_') {
          // RFC 7578 §4.6: the form's default charset, which browsers may send; the metadata is read as UTF-8.
          if (!/^utf-?8$/i.test(String(part.value).trim())) throw badRequest(`the form's _charset_ is ${JSON.stringify(part.value)}: send its text parts in UTF-8`, '_charset_');
        } else if (part.type === 'field') {
          throw badRequest(part.fieldname === 'image'
            ? 'the "image" part came as a text field; send it as a file part with a filename (curl: -F image=@app.tar)'
            : `unexpected field "${part.fieldname}"`, part.fieldname);
        } else if (part.fieldname !== 'image') {
          throw badRequest(`unexpected file field "${part.fieldname}"`, part.fieldname);
        } else {
          if (read) throw badRequest('send one "image" part', 'image');
          // A body that came whole without its closing boundary: the reader destroyed the part before handing it over,
          // and a pipeline from a stream destroyed already never calls back (found by a probe: the upload got no answer).
          if (part.file.destroyed && !part.file.readableEnded) throw Object.assign(new Error(FORM_CUT_SHORT), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
          read = { value: await image.read(archiveHashing.length === 0 ? part.file : hashedOnTheWay(part.file, archiveHashing)) };
          // The multipart parser stops at its fileSize limit and marks the stream truncated.
          if (part.file.truncated) throw new UploadTooLargeError(deps.maxUploadBytes);
        }
      }
      // An image cut short at a boundary inside it would otherwise be accepted as whole. (A body in which no part was
      // found at all is framed wrongly in another way, said below.)
      const misframed = parts > 0 ? framing?.problem(parts) : undefined;
      if (misframed !== undefined) throw badRequest(misframed, 'body');
      // Read to the end: a part after both (`-F imageVersion=v2` meant as an override, say) is refused like one before them.
      if (metadata && read && checked) {
        return { metadata, image: read.value, checked: checked.value, bodyDigests: digestsOf(bodyHashing), archiveDigests: digestsOf(archiveHashing) };
      }
      if (parts === 0) throw badRequest(noPartFound(request.headers), 'body');
      throw badRequest(read ? 'the "metadata" part is missing' : 'the "image" file part is missing', read ? 'metadata' : 'image');
    } catch (error) {
      if (read) await image.drop(read.value);
      throw error;
    } finally {
      request.raw.off('data', watch);
    }
  }

  return { fromMultipart, sentParts };
}
