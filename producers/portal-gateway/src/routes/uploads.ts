import { createHash, randomUUID } from 'node:crypto';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { chartVersionOf, deterministicUuid, envelopeFor, imageReferenceProblem, MAX_CHART_NAME, ownRegistryReached, pidOf, registryAllowed, type Actor, type Logger, type RegistryAllowlist, type ResolveHost } from '@orbit/lib';
import type { ImageMetadata, ObjectRef, UploadBodyDigest, UploadRequested } from '@orbit/schemas';
import type { Caller } from '../auth.js';
import { badMetadata, badRequest, FORM_CUT_SHORT, notFound, RequestRefusedError } from '../errors.js';
import { FormFraming, type PartHead } from '../form-framing.js';
import { formPartIsAFile } from '../form-parts.js';
import { OPTIONAL_JSON_BODY, otherCharset } from '../json-body.js';
import { IDEMPOTENCY_KEY_HEADER, idempotencyKeyHeaderOf, idempotencyKeyOf } from '../idempotency-key.js';
import { parseMetadata, type FieldProblem } from '../metadata.js';
import { BODY_DIGEST_HEADER_SCHEMAS, CHECKSUM_HEADER_SCHEMA, errors, pathParams, PRESIGN_BODY, PRESIGNED_UPLOAD, STARTED_BEFORE, UPLOAD_ACCEPTED } from '../openapi.js';
import { ChartNameTaken, VersionUploadUnderWay, type AcceptedRequest, type CommandPublisher, type HeldRequest, type ImageNames, type PresignedUpload, type UploadClaims, type UploadStore, type VersionStored } from '../ports.js';
import { parseImageReference, type ImageReference } from '../reference.js';
import { requestLogFields, traceOf } from '../request-correlation.js';
import { UploadGivenUpError, UploadPresignedMeanwhile, UploadTooLargeError, type StagedObject } from '../staging.js';
import { differingParts, metadataSha256, namedParts, referenceSha256 } from '../upload-body-digest.js';
import { bodyHashesOf, brokenPin, CHECKSUM_HEADER, checksumWithoutArchive, completionPin, declaredSha256, pinsOf, type BodyHash, type BrokenPin, type Pins } from '../upload-checksum.js';
import { utf8TextOf } from '../utf8-text.js';

export interface UploadRouteDeps {
  readonly uploads: UploadStore;
  readonly names: ImageNames;
  readonly publish: CommandPublisher;
  /** Whether ViewPort holds a version; without it a stored version is refused only by the validator, after the upload. */
  readonly versionStored?: VersionStored | undefined;
  /** One request per presigned upload; without it every completion starts a request. */
  readonly completions?: UploadClaims | undefined;
  /** One request per Idempotency-Key an upload is sent with; without it the header is not honoured. */
  readonly idempotencyKeys?: UploadClaims | undefined;
  readonly statusUrl: (requestId: string) => string;
  /** Where a presigned upload is completed: absolute, as statusUrl, so a client follows both alike. */
  readonly completeUrl: (uploadId: string) => string;
  readonly maxUploadBytes: number;
  /** The registries references may name (ORBIT_ALLOWED_REGISTRIES); empty: any. The validator checks again. */
  readonly allowedRegistries?: RegistryAllowlist | undefined;
  /** `registry/path` prefixes Orbit pushes to; a reference into them is refused. */
  readonly ownRegistries?: readonly string[] | undefined;
  /** Where a registry's host name leads, to know Orbit's own registry under another name; without it, names only. */
  readonly resolveHost?: ResolveHost | undefined;
  /** This host's own addresses: a reference to one of them reaches a registry listening on every interface here. */
  readonly interfaceAddresses?: ReadonlySet<string> | undefined;
  readonly logger?: Logger | undefined;
}

export interface Accepted {
  readonly requestId: string;
  readonly imageUID: string;
  readonly pid: string;
  readonly status: 'accepted';
  readonly statusUrl: string;
}

/** The request an earlier call with the same key (presigned upload, Idempotency-Key) started, and its status now. */
export interface StartedBefore {
  readonly requestId: string;
  readonly imageUID: string;
  readonly pid: string;
  readonly status: string;
  readonly statusUrl: string;
}

/** 202 for a request this call started; 200 for the one an earlier call with the same key started (nothing started again). */
type UploadAnswer = { readonly replayed: false; readonly body: Accepted } | { readonly replayed: true; readonly body: StartedBefore };

/** Where a call's request is claimed, when it names one: its presigned upload, or its Idempotency-Key. */
interface ClaimedBy {
  readonly claims: UploadClaims;
  readonly key: string;
  /** The command's field that carries the key, so a rebuild from nothing can give the claim back. */
  readonly field: 'uploadId' | 'idempotencyKey';
}

/** A call's body as it is compared with the request its key started: its digest, and what its content is. */
interface SentBody {
  readonly digest: UploadBodyDigest;
  readonly contentIs: 'image' | 'reference';
}

/**
 * Who sent an upload, and the HTTP request it came in: the commands it publishes continue that request's trace
 * (traceOf, a child of the caller's traceparent), and the lines logged about it name its id (requestLogFields).
 */
interface Sender {
  readonly actor: Actor;
  readonly request: FastifyRequest;
}

const senderOf = (request: FastifyRequest, caller: Caller): Sender => ({ actor: caller.actor, request });

/** The Idempotency-Key header as the API document shows it (its form is checked by idempotencyKeyOf), saying what it names. */
function idempotencyKeyHeader(description: string) {
  return { type: 'object', properties: { [IDEMPOTENCY_KEY_HEADER]: { type: 'string', maxLength: 257, description } } } as const;
}

const IDEMPOTENCY_KEY_SCHEMA = idempotencyKeyHeader(
  'Names this upload so that it can be sent again safely: a repeat with the same key answers 200 with the request the first one started (unless that failed), and starts nothing. A key names its upload for ORBIT_IDEMPOTENCY_KEY_TTL_HOURS (24 by default) from when it was first sent; after that it is free again',
);

/** An archive upload's headers: its Idempotency-Key, and the SHA-256s it pins its archive (or its whole body) by. */
const ARCHIVE_UPLOAD_HEADERS = {
  ...IDEMPOTENCY_KEY_SCHEMA, properties: { ...IDEMPOTENCY_KEY_SCHEMA.properties, [CHECKSUM_HEADER.toLowerCase()]: CHECKSUM_HEADER_SCHEMA, ...BODY_DIGEST_HEADER_SCHEMAS },
} as const;

/** A presign's key names an upload rather than a request. */
const PRESIGN_IDEMPOTENCY_KEY_SCHEMA = idempotencyKeyHeader(
  'Names this upload so that a presign can be sent again safely (its answer lost): a repeat with the same key and size answers 200 with the same uploadId and fresh URLs (of the parts still missing, or its one URL), and opens no second upload. Another size under the key is refused (422); a key whose upload was completed answers 409',
);

/** The boundary a multipart Content-Type names, quoted or not. */
function boundaryOf(headers: FastifyRequest['headers']): string | undefined {
  const found = /;\s*boundary=(?:"([^"]*)"|([^;\s]+))/i.exec(headers['content-type'] ?? '');
  return found?.[1] ?? found?.[2];
}

/** The paths beside /v1/uploads/{id} that name no upload: POST takes them, and no DELETE. */
const NOT_AN_UPLOAD_ID = ['presign', 'references'] as const;

/**
 * The id DELETE routes to (find-my-way's syntax): anything but those paths, so that a malformed id reaches the
 * schema and is a 400 naming params.id, as on every other route of an id, while DELETE /v1/uploads/presign is a
 * 405 naming POST. (A UUID pattern here made every malformed id a 404, "no route".)
 */
const UPLOAD_ID_ROUTE = `^(?!${NOT_AN_UPLOAD_ID.map((path) => `${path}$`).join('|')})[^/]+$`;

/**
 * The upload an id names. Ids are given out in lower case and the path takes either case (a UUID is the same in
 * both, RFC 9562), while staging keys and completion claims are compared as written: `ABC…` read as another upload.
 */
const uploadIdOf = (params: { readonly id: string }): string => params.id.toLowerCase();

const STARTED_BEFORE_ANSWER = { ...STARTED_BEFORE, description: 'Sent before with this Idempotency-Key: the request it started, nothing started again (header Idempotent-Replayed: true)' };

function send(reply: FastifyReply, answer: UploadAnswer): FastifyReply {
  // Stripe's header for an answer replayed from an earlier request.
  return answer.replayed ? reply.code(200).header('idempotent-replayed', 'true').send(answer.body) : reply.code(202).send(answer.body);
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

/**
 * A key sent again with another body is refused (422, the IETF draft's
 * answer; Stripe's too): answering with the request the key first started
 * would tell the client that another image, or another version, is under way.
 * Claims from before bodies were recorded (no digest) are not compared.
 */
function refuseOtherBody(held: HeldRequest, sent: SentBody, key: ClaimedBy): void {
  if (!held.bodyDigest) return;
  const completion = key.field === 'uploadId';
  // A completion's content is the sha256 it pinned the archive by: one that pins nothing asks nothing of the bytes, so
  // it is the repeat of one that pinned them (a client retrying without the field), never of one that pinned others.
  const digest = completion && sent.digest.contentSha256 === null ? { ...sent.digest, contentSha256: held.bodyDigest.contentSha256 } : sent.digest;
  const parts = differingParts(held.bodyDigest, digest, sent.contentIs);
  if (parts.length === 0) return;
  const named = namedParts(parts, { completion, pinnedBefore: held.bodyDigest.contentSha256 !== null });
  const other = named.map(({ said }) => said).join(' and ');
  const message = key.field === 'idempotencyKey'
    ? `Idempotency-Key ${JSON.stringify(key.key)} was first sent with ${other} (request ${held.requestId}); a key names one upload: send this one with a new key`
    : `presigned upload ${key.key} was completed with ${other} (request ${held.requestId}); complete it again with the same metadata and sha256, or upload the image under a new presigned upload for these`;
  throw new RequestRefusedError(422, 'ORBIT_ERR_IDEMPOTENCY_KEY_REUSED', message,
    named.map(({ field }) => ({ field, message: `differs from what request ${held.requestId} was sent with` })));
}

/** How a multipart body is read. */
interface PartsOptions {
  /** Give these digests of the whole body as it came too (what Content-Digest is of): hashed only when a pin asks for them. */
  readonly bodyHashes?: readonly BodyHash[];
}

/** A metadata port of 2^53 or more is refused as any port out of range (parseMetadata), not told to be sent as a string. */
const METADATA_PORT_CHECKED = { numbersCheckedByRoute: ['metadata.port'] };

/** Metadata is a few fields; anything bigger is not metadata. */
const MAX_METADATA_BYTES = 1024 * 1024;

function metadataOrThrow(input: unknown): ImageMetadata {
  const parsed = parseMetadata(input);
  if (!parsed.ok) throw badMetadata(parsed.problems);
  return parsed.metadata;
}

/** A JSON body's fields beyond `known` are refused, naming the first: a misspelt one would otherwise be dropped unseen. */
function onlyFields(body: object, known: readonly string[]): void {
  const unexpected = Object.keys(body).find((field) => !known.includes(field));
  if (unexpected !== undefined) throw badRequest(`unexpected field "${unexpected}"`, unexpected);
}

/**
 * The metadata part's text as JSON, read as a JSON body is: a leading BOM
 * skipped, prototype-poisoning keys (`__proto__`, `constructor.prototype`)
 * refused. Plain JSON.parse kept `__proto__` as a key no object can hold.
 */
function jsonOrThrow(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text.startsWith('\ufeff') ? text.slice(1) : text);
  } catch (error) {
    throw badRequest(`the metadata part is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, 'metadata');
  }
  try {
    if (typeof value === 'object' && value !== null) secureJson.scan(value, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw badRequest('the metadata part holds a "__proto__" key or "constructor" with "prototype", which are refused (prototype poisoning)', 'metadata');
  }
  return value;
}

/**
 * The reader's options for an upload's form: the metadata part comes as a file part, its bytes as sent (see
 * metadataPartValue), whatever its type; any other part as the app reads it (formPartIsAFile). One file more than the
 * app allows: a second metadata part is then refused by name ("send one"), not by the reader's count of files.
 */
const METADATA_AS_FILE = {
  isPartAFile: (fieldName: string | undefined, contentType: string | undefined, fileName: string | undefined): boolean => fieldName === 'metadata' || formPartIsAFile(fieldName, contentType, fileName),
  limits: { files: 3 },
};

/** A metadata part as the reader hands it over: a file part, as METADATA_AS_FILE asks; a text field only were that broken. */
export type MetadataPart =
  | { readonly type: 'field' }
  | { readonly type: 'file'; readonly file: AsyncIterable<Buffer> & { readonly truncated: boolean } };

/**
 * The metadata part's JSON, from its bytes: it is always read as a file part (METADATA_AS_FILE), since the reader
 * decodes a text field's bytes lossily before anyone could refuse those that are not UTF-8. `curl -F metadata=@m.json`,
 * `-F metadata=<m.json` and browsers' Blob parts all arrive so.
 */
export async function metadataPartValue(part: MetadataPart, head: PartHead | undefined): Promise<unknown> {
  const charset = otherCharset(head?.contentType);
  // The reader drops a file part's charset and would read its bytes as UTF-8 all the same (café in latin1 was stored as caf\uFFFD).
  if (charset !== undefined) throw badRequest(`the metadata part declares charset ${charset}: send it in UTF-8, with charset=utf-8 or none (as a JSON body)`, 'metadata');
  // A programming error, not the client's: read as a field, its bytes were decoded lossily already, and taking that
  // text would undo the strict UTF-8 check in silence.
  if (part.type === 'field') throw new TypeError('the metadata part came as a text field: METADATA_AS_FILE must have the reader hand it over as a file, so that its bytes are checked as UTF-8');
  const bytes = await smallPart(part.file, MAX_METADATA_BYTES);
  // The reader stops a file at the upload limit, which may be no more than the metadata's own.
  if (part.file.truncated) throw badRequest(`the metadata part is over ${MAX_METADATA_BYTES} bytes`, 'metadata');
  const decoded = utf8TextOf(bytes);
  if ('problem' in decoded) throw badRequest(`the metadata part ${decoded.problem}`, 'metadata');
  return jsonOrThrow(decoded.text);
}

async function smallPart(file: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of file) {
    size += chunk.length;
    if (size > limit) throw badRequest(`the metadata part is over ${limit} bytes`, 'metadata');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * True when a multipart Content-Type has no boundary to split the body by:
 * what a client sends that sets `Content-Type: multipart/form-data` by hand
 * (fetch and axios users do) instead of letting the form set it.
 */
export function lacksBoundary(contentType: string | undefined): boolean {
  return !/;\s*boundary\s*=\s*(?:"[^"]+"|[^\s;"]+)/i.test(contentType ?? '');
}

/**
 * POST /v1/uploads (multipart archive or JSON reference), the presigned
 * variant and its completion. Each accepted upload is recorded, then its
 * UploadRequested event is published; the answer is 202 with the status URL.
 */
export function uploadRoutes(deps: UploadRouteDeps) {
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

  /**
   * A streamed archive that does not hash to the X-Checksum-Sha256 it was sent with (or a body to its Content-Digest): deleted from staging before anything
   * is published, and refused (422 CHECKSUM_MISMATCH, the validator's code for the same finding) as a failed request.
   */
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
    if (!(error instanceof VersionUploadUnderWay)) throw error;
    const { actor } = sender;
    // Another spelling of its chart version (5.0.0 while v5-0-0 is under way) is named as that upload spells it.
    const spelling = error.imageVersion === metadata.imageVersion ? metadata.imageVersion : `${error.imageVersion} (chart version ${String(chartVersionOf(metadata.imageVersion))}, the same as your ${metadata.imageVersion})`;
    return refuseNameConflict(sender, metadata, imageUID,
      `${actor.username} is uploading ${metadata.imageName} ${spelling} already (request ${error.requestId}; follow GET /v1/requests/${error.requestId}); versions cannot be replaced: if that request fails, send this one again`,
      `is being uploaded by request ${error.requestId}${error.imageVersion === metadata.imageVersion ? '' : ` as ${error.imageVersion}`}`);
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

  /** The image UID of the metadata's name, once a version the owner has already is refused. */
  async function uidForNewVersion(sender: Sender, metadata: ImageMetadata, claimed: ClaimedBy | undefined): Promise<string> {
    const imageUID = await deps.names.uidFor(sender.actor.username, metadata.imageName).catch(chartNameRefusal);
    await refuseStoredVersion(sender, metadata, imageUID, claimed);
    return imageUID;
  }

  /**
   * The same checks before the image has come, assigning no UID to a new name: an upload cancelled or refused
   * while its image streams would otherwise keep the name, unseen, and refuse every name of its chart name for ever.
   */
  async function checkedBeforeImage(sender: Sender, metadata: ImageMetadata, claimed: ClaimedBy | undefined): Promise<string | undefined> {
    const imageUID = await deps.names.peek(sender.actor.username, metadata.imageName).catch(chartNameRefusal);
    if (imageUID !== undefined) await refuseStoredVersion(sender, metadata, imageUID, claimed);
    return imageUID;
  }

  /** The answer to a call that an earlier one with the same key made already (its image from its request row, which is always there). */
  function startedBefore(held: HeldRequest, imageUID = ''): UploadAnswer {
    return {
      replayed: true,
      body: { requestId: held.requestId, imageUID: held.imageUID ?? imageUID, pid: pidOf('uploadRequested'), status: held.status ?? 'accepted', statusUrl: deps.statusUrl(held.requestId) },
    };
  }

  /** The request an earlier call with the same key started, unless that one failed (then this call starts another). */
  /** The request a claim names, unless it failed (its archive may then go); `settled`: once a claim being written now is committed or undone. */
  async function earlierOf(claimed: ClaimedBy | undefined, owner: string, settled = false): Promise<HeldRequest | undefined> {
    if (!claimed) return undefined;
    const { claims, key } = claimed;
    const earlier = await (settled && claims.findSettled ? claims.findSettled(owner, key) : claims.find(owner, key));
    return earlier && earlier.status !== 'failed' ? earlier : undefined;
  }

  /** The earlier request's answer, once this call's body is the one it was sent with. */
  function replayOf(earlier: HeldRequest, sent: SentBody, claimed: ClaimedBy): UploadAnswer {
    refuseOtherBody(earlier, sent, claimed);
    return startedBefore(earlier);
  }

  /**
   * What a completed single PUT's URL took after its request succeeded: S3 cannot revoke the URL within its hour, and
   * the harbor-writer deleted the version it stored and those before it, so every version left is a later PUT that no
   * completion can take (its completion is replayed). A completion sent again or a DELETE removes them (found by a
   * review: they stayed until the staging expiry). Not while the request runs: the version it names is among them.
   */
  async function dropPutsAfterStored(owner: string, uploadId: string, held: HeldRequest, request: FastifyRequest): Promise<void> {
    if (held.status !== 'succeeded') return;
    try {
      const left = await deps.uploads.find(owner, uploadId);
      if (left) await deps.uploads.discard(left);
    } catch (error) {
      // The answer stands without it: the staging expiry takes what is left a day later.
      deps.logger?.warn({ ...requestLogFields(request), uploadId, err: error }, 'what a completed upload\'s URL took since was not deleted');
    }
  }

  /** The claim a presigned upload's completion holds on its id (one request per upload). */
  function completionOf(uploadId: string): ClaimedBy | undefined {
    return deps.completions ? { claims: deps.completions, key: uploadId, field: 'uploadId' } : undefined;
  }

  /**
   * The upload a presign with Idempotency-Key `key` opened before: `replay`,
   * its one URL signed again, or fresh URLs of the parts it still lacks (none
   * once a completion put them together, its request refused or failed since:
   * what was sent is what it holds); none when there is none to go on with,
   * and a new one is opened under the same id (`seen`: its multipart upload
   * ended with nothing put together, and the new one replaces it).
   */
  async function presignedBefore(owner: string, uploadId: string, key: string, sizeBytes: number | null): Promise<{ replay?: PresignedUpload | undefined; seen: boolean }> {
    const completed = await earlierOf(completionOf(uploadId), owner);
    if (completed) {
      throw new RequestRefusedError(409, 'ORBIT_ERR_UPLOAD_COMPLETED',
        `Idempotency-Key ${JSON.stringify(key)} named upload ${uploadId}, which was completed: request ${completed.requestId} has it (follow GET /v1/requests/${completed.requestId}); presign another upload with a new key`);
    }
    const before = await deps.uploads.presignedWith(owner, uploadId);
    if (before === undefined) return { seen: false };
    if (before.sizeBytes !== sizeBytes) {
      const first = before.sizeBytes === null ? 'without sizeBytes (one PUT)' : `with sizeBytes ${before.sizeBytes}`;
      throw new RequestRefusedError(422, 'ORBIT_ERR_IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key ${JSON.stringify(key)} was first sent ${first}; a key names one upload: presign this one with a new key`,
        [{ field: 'sizeBytes', message: `differs from what upload ${uploadId} was presigned ${first}` }]);
    }
    // One PUT: its URL signed again is the same upload. In parts, undefined when its multipart upload ended meanwhile (the staging expiry).
    return { replay: sizeBytes === null ? await deps.uploads.presign(owner, uploadId, null, { reopen: true }) : await deps.uploads.resume(owner, uploadId), seen: true };
  }

  /** The call's Idempotency-Key claim, when it sent one. */
  function keyOf(request: FastifyRequest): ClaimedBy | undefined {
    const key = idempotencyKeyOf(idempotencyKeyHeaderOf(request.raw.rawHeaders));
    return key !== undefined && deps.idempotencyKeys ? { claims: deps.idempotencyKeys, key, field: 'idempotencyKey' } : undefined;
  }

  /**
   * Records the request and publishes its command; with a key, only when the
   * key is not already held (concurrent calls with one key start one request).
   */
  async function accept(
    sender: Sender, metadata: ImageMetadata, source: UploadRequested['source'], staged: StagedObject | null, reference: string | null, imageUID: string, claimed?: ClaimedBy, sent?: SentBody,
    beforeCommit?: () => Promise<void>,
  ): Promise<UploadAnswer> {
    const { event, record, answer } = requestFor(sender.actor, metadata, source, staged, reference, imageUID, claimed, sent);
    // The gateway's span of this HTTP request: a child of the caller's traceparent, when it sent a valid one.
    const trace = traceOf(sender.request);
    // What ties the X-Request-Id a caller quotes to the request (correlationId) the pipeline's lines name.
    const accepted = (): UploadAnswer => {
      // A completion's line names its upload too: the presign's line ('upload presigned') has only that id to be found by.
      deps.logger?.info({ ...requestLogFields(sender.request), correlationId: answer.requestId, imageUID, pid: event.pid, ...(event.uploadId ? { uploadId: event.uploadId } : {}) }, 'request accepted');
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

  /**
   * Either part order works. Metadata first (what the README shows) is
   * checked before a byte of the image is staged, so a bad name never costs
   * the upload; clients that cannot order their parts (form libraries that
   * put files first) get the image staged and the metadata checked after it,
   * and a refusal then deletes what was staged.
   */
  async function fromMultipart(request: FastifyRequest, caller: Caller, claimed: ClaimedBy | undefined, pins: Pins): Promise<UploadAnswer> {
    // As soon as the metadata is in (before the image, when it comes first): the name's UID if it has one, a chart name
    // taken, and a version stored already. A new name gets its UID only once the image is staged, just before the
    // request is recorded. Nothing is recorded before then, so an upload refused there (ViewPort lost, MySQL away) is
    // deleted from staging: its client sends the whole body again anyway. Once the record is being written, a failure
    // may still have committed it, so from there on the staged image stays.
    const sender = senderOf(request, caller);
    const { metadata, image: staged, checked: knownUID, bodyDigests } = await readParts(request, caller, (parsed) => checkedBeforeImage(sender, parsed, claimed), { bodyHashes: bodyHashesOf(pins) });
    const broken = brokenPin(pins, staged.sha256, bodyDigests);
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

  /**
   * What a multipart call sent, read to its end and hashed, nothing staged: a
   * repeat of a key is compared with the request the key started. Its parts
   * are checked as a first call's would be.
   */
  async function sentParts(request: FastifyRequest, pins: Pins): Promise<SentBody> {
    const { metadata, image, bodyDigests } = await eachPart(request, async () => undefined, {
      read: (file) => hashed(file, deps.maxUploadBytes), drop: async () => undefined,
    }, { bodyHashes: bodyHashesOf(pins) });
    // A repeat is refused as its first call would be; nothing of it was staged, so there is nothing to record or delete.
    const broken = brokenPin(pins, image, bodyDigests);
    if (broken) throw new RequestRefusedError(422, 'CHECKSUM_MISMATCH', `${broken.message}; nothing of this repeat was kept, and the request the key first started stands: send it again`, [broken.problem]);
    return { digest: { metadataSha256: metadataSha256(metadata), contentSha256: image }, contentIs: 'image' };
  }

  async function discard(staged: StagedObject, request: FastifyRequest): Promise<void> {
    await deps.uploads.discard(staged).catch((cause: unknown) => deps.logger?.warn({ err: cause, key: staged.key, ...requestLogFields(request) }, 'could not delete a refused upload from staging; the staging expiry will'));
  }

  /** The metadata and the staged image, in whichever order they came; nothing stays staged if the parts are refused. */
  async function readParts<T>(
    request: FastifyRequest, caller: Caller, onMetadata: (metadata: ImageMetadata) => Promise<T>, options: PartsOptions = {},
  ): Promise<{ metadata: ImageMetadata; image: StagedObject; checked: T; bodyDigests: Partial<Record<BodyHash, string>> }> {
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
    image: { readonly read: (file: MultipartFile['file']) => Promise<I>; readonly drop: (image: I) => Promise<void> },
    { bodyHashes = [] }: PartsOptions = {},
  ): Promise<{ metadata: ImageMetadata; image: I; checked: T; bodyDigests: Partial<Record<BodyHash, string>> }> {
    let metadata: ImageMetadata | undefined;
    let checked: { value: T } | undefined;
    let read: { value: I } | undefined;
    let parts = 0;
    // Fed the same chunks as the multipart reader, from before it starts reading: it cannot say what it skipped.
    const boundary = boundaryOf(request.headers);
    const framing = boundary === undefined ? undefined : new FormFraming(boundary);
    const bodyHashing = bodyHashes.map((algorithm) => ({ algorithm, hash: createHash(algorithm) }));
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
          read = { value: await image.read(part.file) };
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
        const bodyDigests = Object.fromEntries(bodyHashing.map(({ algorithm, hash }) => [algorithm, hash.digest('hex')]));
        return { metadata, image: read.value, checked: checked.value, bodyDigests };
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

  /** A JSON {metadata, reference} body, checked: what it asks for, and what it is compared by under a key. */
  function referenceBody(request: FastifyRequest): { metadata: ImageMetadata; reference: ImageReference; text: string; sent: SentBody } {
    const body = request.body as { metadata?: unknown; reference?: unknown } | undefined;
    if (!body || typeof body !== 'object') throw badRequest('send JSON {metadata, reference}');
    onlyFields(body, ['metadata', 'reference']);
    const metadata = metadataOrThrow(body.metadata);
    const reference = typeof body.reference === 'string' ? parseImageReference(body.reference) : undefined;
    // A reference can parse and still name nothing Orbit reaches (a port fetch blocks): its problem is asked for either way.
    const unreachable = typeof body.reference === 'string' ? imageReferenceProblem(body.reference) : undefined;
    if (!reference || typeof body.reference !== 'string' || unreachable !== undefined) {
      const problem = typeof body.reference === 'string' ? unreachable : 'is missing: a string host[:port]/repository:tag or host/repository@sha256:<digest>';
      throw badRequest(`reference ${problem ?? 'is not one Orbit can pull'}`, 'reference');
    }
    const text = body.reference;
    return { metadata, reference, text, sent: { digest: { metadataSha256: metadataSha256(metadata), contentSha256: referenceSha256(text) }, contentIs: 'reference' } };
  }

  /** The hosts of Orbit's own registries: every path of them is Orbit's. */
  const ownHosts = (deps.ownRegistries ?? []).map((entry) => entry.split('/')[0] ?? entry);

  /** JSON {metadata, reference}: an image pulled from an OCI registry. */
  async function fromReference(request: FastifyRequest, caller: Caller, claimed: ClaimedBy | undefined): Promise<UploadAnswer> {
    const { metadata, reference, text, sent } = referenceBody(request);
    // Every owner's images are in Orbit's own registries, readable with the validator's credentials: a reference there
    // would hand the caller an image that is someone else's (or a second copy of their own, which a transfer promotes).
    // The whole host, as the validator refuses it: any repository there is read with Orbit's credentials (found by a
    // probe: another path of the host was accepted here, 202, and then refused by the validator).
    const own = await ownRegistryReached({ registry: reference.registry, repository: '' }, ownHosts, deps.resolveHost, deps.interfaceAddresses);
    if (own !== undefined) {
      throw new RequestRefusedError(403, 'ORBIT_ERR_REGISTRY_NOT_ALLOWED', `${reference.registry}/${reference.repository} is on ${own}, Orbit's own registry, where Orbit keeps the images it has and reads every repository with its own credentials: upload an image from where it was built or pushed (another registry), and promote one Orbit has with a transfer`, [{ field: 'reference', message: 'names a repository of Orbit\'s own registry' }]);
    }
    if (!registryAllowed(reference.registry, deps.allowedRegistries ?? [])) {
      throw new RequestRefusedError(403, 'ORBIT_ERR_REGISTRY_NOT_ALLOWED', `registry ${reference.registry} is not one Orbit pulls from; allowed: ${deps.allowedRegistries?.join(', ')}`, [{ field: 'reference', message: 'names a registry ORBIT_ALLOWED_REGISTRIES does not list' }]);
    }
    const sender = senderOf(request, caller);
    return accept(sender, metadata, 'REFERENCE', null, text, await uidForNewVersion(sender, metadata, claimed), claimed, sent);
  }

  return async function register(app: FastifyInstance, options: { caller: (request: FastifyRequest) => Promise<Caller> }): Promise<void> {
    app.post('/v1/uploads', {
      config: METADATA_PORT_CHECKED,
      schema: {
        operationId: 'uploadImage', summary: 'Upload an image archive (multipart)', tags: ['uploads'],
        description: 'JSON {metadata, reference} is taken here too, as at /v1/uploads/references.',
        headers: ARCHIVE_UPLOAD_HEADERS,
        response: { 200: STARTED_BEFORE_ANSWER, 202: { ...UPLOAD_ACCEPTED, description: 'Accepted: follow statusUrl' }, ...errors(400, 401, 403, 409, 413, 422) },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      // Read before the body, so that a malformed one costs no upload. A JSON body's digest is not checked (README), so
      // its digest headers are not read, as on /v1/uploads/references: one naming md5 was refused here and a wrong
      // sha-256 let through (a bug reread).
      const pins: Pins = request.isMultipart() ? pinsOf(request.headers) : { archive: declaredSha256(request.headers), body: [] };
      if (pins.archive !== null && !request.isMultipart()) throw checksumWithoutArchive();
      const claimed = keyOf(request);
      const earlier = await earlierOf(claimed, caller.actor.username);
      if (earlier && claimed) {
        // Read to its end, hashed, not staged (Node's fetch and Python's requests fail on an answer that comes while
        // they still send), and compared with what the key's request was sent with.
        return send(reply, replayOf(earlier, request.isMultipart() ? await sentParts(request, pins) : referenceBody(request).sent, claimed));
      }
      const length = Number(request.headers['content-length'] ?? 0);
      if (length > deps.maxUploadBytes + 1024 * 1024) {
        throw new RequestRefusedError(413, 'ORBIT_ERR_UPLOAD_TOO_LARGE', `the upload is ${length} bytes; the limit is ${deps.maxUploadBytes}`);
      }
      if (request.isMultipart()) {
        if (lacksBoundary(request.headers['content-type'])) {
          throw badRequest('a multipart/form-data body needs its boundary parameter: let the HTTP client set the Content-Type of a form rather than setting it by hand', 'header.content-type');
        }
        return send(reply, await fromMultipart(request, caller, claimed, pins));
      }
      if (typeof request.body !== 'object' || request.body === null) throw badRequest('send multipart/form-data with metadata and image, or JSON {metadata, reference}');
      return send(reply, await fromReference(request, caller, claimed));
    });

    app.post('/v1/uploads/references', {
      config: METADATA_PORT_CHECKED,
      schema: {
        operationId: 'uploadFromRegistry', summary: 'Upload an image named by its reference in an OCI registry', tags: ['uploads'],
        headers: IDEMPOTENCY_KEY_SCHEMA,
        response: { 200: STARTED_BEFORE_ANSWER, 202: { ...UPLOAD_ACCEPTED, description: 'Accepted: follow statusUrl' }, ...errors(400, 401, 403, 409, 413, 422) },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      if (declaredSha256(request.headers) !== null) throw checksumWithoutArchive();
      const claimed = keyOf(request);
      const earlier = await earlierOf(claimed, caller.actor.username);
      return send(reply, earlier && claimed ? replayOf(earlier, referenceBody(request).sent, claimed) : await fromReference(request, caller, claimed));
    });

    app.post<{ Body: { sizeBytes?: number } | null | undefined }>('/v1/uploads/presign', {
      // Generated clients send Content-Type: application/json with no body when none is given (the body is optional).
      // Any size of 2^53 or more is over the limit: a 413 as any other, whatever JSON readers make of its last digits.
      config: { ...OPTIONAL_JSON_BODY, numbersCheckedByRoute: ['sizeBytes'] },
      schema: {
        // Nullable here so that no body at all passes; the document says the body is optional instead.
        operationId: 'presignUpload', summary: 'Get presigned PUTs to the staging bucket for a large image', tags: ['uploads'], body: { ...PRESIGN_BODY, nullable: true },
        headers: PRESIGN_IDEMPOTENCY_KEY_SCHEMA,
        response: {
          201: { ...PRESIGNED_UPLOAD, description: 'PUT the archive to url (or each part to its url), then POST completeUrl' },
          200: { ...PRESIGNED_UPLOAD, description: 'Presigned before with this Idempotency-Key: the same upload, with fresh URLs of the parts still missing, or its one URL (header Idempotent-Replayed: true)' },
          ...errors(400, 401, 409, 413, 422),
        },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      // A body that is there but no object (JSON null) is no declaration.
      if (request.body === null && request.headers['content-type'] !== undefined) throw badRequest('send a JSON object such as {"sizeBytes": 7516192768}, or no body', 'body');
      const sizeBytes = request.body?.sizeBytes ?? null;
      if (sizeBytes !== null && sizeBytes > deps.maxUploadBytes) {
        // Past 2^53 the number read is not the one sent (…890 reads as …000): not repeated as if it were.
        const size = Number.isSafeInteger(sizeBytes) ? String(sizeBytes) : '2^53 or more';
        throw new RequestRefusedError(413, 'ORBIT_ERR_UPLOAD_TOO_LARGE', `the upload would be ${size} bytes; the limit is ${deps.maxUploadBytes}`);
      }
      const owner = caller.actor.username;
      const key = idempotencyKeyOf(idempotencyKeyHeaderOf(request.raw.rawHeaders));
      // A key names one upload id for good, so a repeat finds what the first call opened.
      const uploadId = key === undefined ? randomUUID() : deterministicUuid(`presign\u0000${owner}\u0000${key}`);
      // Presigned URLs are credentials good until they expire: no cache keeps them (nor revalidates them: no ETag).
      void reply.header('cache-control', 'no-store');
      const replayed = (presigned: PresignedUpload) => reply.code(200).header('idempotent-replayed', 'true').send({ uploadId, ...presigned, completeUrl: deps.completeUrl(uploadId) });
      const before = key === undefined ? undefined : await presignedBefore(owner, uploadId, key, sizeBytes);
      if (before?.replay) return replayed(before.replay);
      try {
        const presigned = await deps.uploads.presign(owner, uploadId, sizeBytes, { reopen: before?.seen === true });
        // No event: an upload's trace starts at its completion (UploadRequested.uploadId); until then this line is its only record.
        deps.logger?.info({ ...requestLogFields(request), uploadId, user: owner, sizeBytes }, 'upload presigned');
        return reply.code(201).send({ uploadId, ...presigned, completeUrl: deps.completeUrl(uploadId) });
      } catch (error) {
        // The same key sent twice at once (a client retrying before its first answer came): the other opened it.
        if (!(error instanceof UploadPresignedMeanwhile) || key === undefined) throw error;
        const meanwhile = await presignedBefore(owner, uploadId, key, sizeBytes);
        if (meanwhile.replay) return replayed(meanwhile.replay);
        throw error;
      }
    });

    app.get<{ Params: { id: string } }>('/v1/uploads/:id/parts', {
      schema: {
        operationId: 'resumeUpload', summary: 'Fresh presigned PUTs of the parts an upload in parts still lacks (after its URLs expired, or a client restarted)', tags: ['uploads'],
        params: pathParams('id'),
        response: { 200: { ...PRESIGNED_UPLOAD, description: 'PUT each part listed (none: all arrived), then POST completeUrl' }, ...errors(400, 401, 404, 409) },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const id = uploadIdOf(request.params);
      const resumed = await deps.uploads.resume(caller.actor.username, id);
      // A client resuming an upload someone gave up is told so, as its completion would be, not that it never was.
      if (!resumed && await deps.uploads.givenUp(caller.actor.username, id)) throw new UploadGivenUpError(id);
      if (!resumed) throw notFound(`upload in parts ${id} (it was completed, was never declared with sizeBytes, or was left more than a day)`);
      // Fresh presigned URLs, credentials until they expire: stored by no cache, so neither tagged nor revalidated.
      return reply.header('cache-control', 'no-store').send({ uploadId: id, ...resumed, completeUrl: deps.completeUrl(id) });
    });

    app.delete<{ Params: { id: string } }>(`/v1/uploads/:id(${UPLOAD_ID_ROUTE})`, {
      schema: {
        operationId: 'abandonUpload', summary: 'Give up a presigned upload that is not completed: the parts and archive sent are deleted from staging', tags: ['uploads'],
        params: pathParams('id'),
        response: { 204: { description: 'Given up: nothing of it is left in staging, its part URLs take nothing more, and its completion is refused (409 ORBIT_ERR_UPLOAD_GIVEN_UP; what a single PUT URL still takes before it expires is deleted then). Given up already (a DELETE sent again): 204 again', type: 'null' }, ...errors(400, 401, 404, 409) },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const id = uploadIdOf(request.params);
      const completion = completionOf(id);
      // Completed and not failed: the request owns the archive now (a failed one's archive may go).
      const earlier = await earlierOf(completion, caller.actor.username);
      if (earlier) {
        await dropPutsAfterStored(caller.actor.username, id, earlier, request);
        throw new RequestRefusedError(409, 'ORBIT_ERR_UPLOAD_COMPLETED',
          `upload ${id} was completed: request ${earlier.requestId} has it (follow GET /v1/requests/${earlier.requestId}); nothing it holds was deleted`);
      }
      // A completion sent at the same instant: it claimed the upload before it could see the give-up mark, or it sees the mark.
      const completedMeanwhile = async () => (await earlierOf(completion, caller.actor.username, true)) !== undefined;
      let outcome = await deps.uploads.abandon(caller.actor.username, id, completedMeanwhile);
      if (outcome === 'unknown' && await deps.uploads.givenUp(caller.actor.username, id)) {
        // Given up already: the DELETE sent again after its 204 was lost. DELETE is idempotent (RFC 9110 §9.2.2) and what
        // it asked for holds, so 204 again; it was 404, while the upload's completion and parts said it was given up
        // (found by a review). What a single PUT's URL took since is deleted now, as a completion of it would.
        const stillGivenUp = await deps.uploads.find(caller.actor.username, id).then(() => false, (error: unknown) => {
          if (error instanceof UploadGivenUpError) return true;
          throw error;
        });
        if (stillGivenUp) {
          deps.logger?.info({ ...requestLogFields(request), uploadId: id, user: caller.actor.username }, 'presigned upload given up already');
          return reply.code(204).send();
        }
        // The mark was taken back meanwhile: a DELETE at the same instant as a completion found the completion's claim.
        outcome = 'completed';
      }
      if (outcome === 'unknown') throw notFound(`upload ${id} (never presigned for you, or presigned over a day ago: staging keeps nothing longer)`);
      if (outcome === 'completed') {
        const held = await earlierOf(completion, caller.actor.username);
        throw new RequestRefusedError(409, 'ORBIT_ERR_UPLOAD_COMPLETED',
          `upload ${id} was completed meanwhile${held ? `: request ${held.requestId} has it (follow GET /v1/requests/${held.requestId})` : ''}; nothing was deleted`);
      }
      deps.logger?.info({ ...requestLogFields(request), uploadId: id, user: caller.actor.username }, 'presigned upload given up');
      return reply.code(204).send();
    });

    app.post<{ Params: { id: string } }>('/v1/uploads/:id/complete', {
      config: METADATA_PORT_CHECKED,
      schema: {
        operationId: 'completeUpload', summary: 'Start the pipeline for an image uploaded with a presigned PUT', tags: ['uploads'],
        params: pathParams('id'),
        headers: { type: 'object', properties: { [CHECKSUM_HEADER.toLowerCase()]: { ...CHECKSUM_HEADER_SCHEMA, description: 'The SHA-256 of the archive PUT, as the body\'s sha256 takes it (either, or both the same): the validator refuses other bytes CHECKSUM_MISMATCH' } } },
        response: {
          200: { ...STARTED_BEFORE, description: 'Completed before (a retry): the request that completion started, nothing started again' },
          202: { ...UPLOAD_ACCEPTED, description: 'Accepted: follow statusUrl' }, ...errors(400, 401, 409, 413, 415, 422),
        },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const id = uploadIdOf(request.params);
      // A form (curl -F metadata=…, as POST /v1/uploads takes it) was answered "metadata must be an object" (found by a probe).
      if (request.isMultipart()) {
        throw new RequestRefusedError(415, 'ORBIT_ERR_BAD_REQUEST', 'a completion is JSON, not a form: send {"metadata": {…}} with content-type application/json (the archive is in staging already)');
      }
      const body = request.body as { metadata?: unknown; sha256?: unknown } | undefined;
      if (body && typeof body === 'object') onlyFields(body, ['metadata', 'sha256']);
      const metadata = metadataOrThrow(body?.metadata);
      // A presigned single PUT's URL takes a body as often as it is used within its hour: the sha256 pins which one the
      // client means, and the validator refuses the staged archive (CHECKSUM_MISMATCH) unless it hashes to it.
      const pinned = completionPin(body?.sha256, request.headers);
      const completion = completionOf(id);
      // The upload id names where the bytes are; its completions differ only by their metadata and the sha256 they pin.
      const sent: SentBody = { digest: { metadataSha256: metadataSha256(metadata), contentSha256: pinned }, contentIs: 'image' };
      // Completed before and not failed: that request is the answer, even once its staged image was stored and removed.
      const earlier = await earlierOf(completion, caller.actor.username);
      if (earlier && completion) {
        const replay = replayOf(earlier, sent, completion);
        await dropPutsAfterStored(caller.actor.username, id, earlier, request);
        return send(reply, replay);
      }
      const staged = await deps.uploads.find(caller.actor.username, id);
      // Unknown and not yet PUT look alike here (the presign leaves no trace); either way the archive is what to send.
      if (!staged) {
        // Given up while this looked: find read the record before the mark, then found the parts aborted (found by a review:
        // a DELETE's race answered with a single PUT's "PUT it to the url").
        if (await deps.uploads.givenUp(caller.actor.username, id)) throw new UploadGivenUpError(id);
        throw new RequestRefusedError(409, 'ORBIT_ERR_UPLOAD_INCOMPLETE',
          `no archive has arrived for upload ${id}: PUT it to the url its presign answer gave, then complete it again (an upload id not presigned for you is answered the same)`);
      }
      if (staged.sizeBytes > deps.maxUploadBytes) {
        // Never to be taken, so not kept a day: a single PUT's URL signs no length (found by a review: 10 GiB left in staging).
        await discard(staged, request);
        throw new RequestRefusedError(413, 'ORBIT_ERR_UPLOAD_TOO_LARGE',
          `the upload is ${staged.sizeBytes} bytes; the limit is ${deps.maxUploadBytes}; it was deleted from staging`);
      }
      // Given up at this instant: the claim is undone unless it was written before the give-up's mark, which DELETE then takes
      // back on seeing the claim (abandon). Of a completion and a DELETE at once, exactly one goes through.
      const notGivenUp = async (): Promise<void> => {
        if (await deps.uploads.givenUp(caller.actor.username, id)) throw new UploadGivenUpError(id);
      };
      // A presigned image stays staged whatever happens here: its client can ask to complete it again.
      const sender = senderOf(request, caller);
      // Without a pin, what S3 checked of the PUT (its own SHA-256, when the client sent one), as before.
      const checked: StagedObject = pinned === null ? staged : { ...staged, sha256: pinned };
      return send(reply, await accept(sender, metadata, 'PRESIGNED', checked, null, await uidForNewVersion(sender, metadata, completion), completion, sent, notGivenUp));
    });
  };
}
