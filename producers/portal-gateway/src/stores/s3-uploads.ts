import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListPartsCommand, PutObjectCommand, UploadPartCommand, type Part, type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { deleteEveryVersion, ownerKeySegment, StoreUnavailableError } from '@orbit/lib';
import { z } from 'zod';
import { expectedPartBytes, partPlan, partProblems, partsToSend, type PartPlan, type UploadedPart } from '../part-plan.js';
import type { PresignedParts, PresignedUpload, PresignedWith, UploadStore } from '../ports.js';
import { presignExpiryFromNow } from './presign-expiry.js';
import { streamToStaging, UploadGivenUpError, UploadIncompleteError, UploadPresignedMeanwhile, type StagedObject } from '../staging.js';

/** `uploads/{username}/{yyyy}/{mm}/{dd}/{uploadId}.tar`; the date is the upload id's own, so completion finds it. */
export function stagingKey(owner: string, uploadId: string, day: Date): string {
  const yyyy = day.getUTCFullYear();
  const mm = String(day.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(day.getUTCDate()).padStart(2, '0');
  return `uploads/${ownerKeySegment(owner)}/${yyyy}/${mm}/${dd}/${uploadId}.tar`;
}

/**
 * Presigned uploads may complete on another day than they began, so their
 * key carries no date: `uploads/{username}/direct/{uploadId}.tar`.
 */
export function directKey(owner: string, uploadId: string): string {
  return `uploads/${ownerKeySegment(owner)}/direct/${uploadId}.tar`;
}

/**
 * Beside a multipart upload's key until its parts are put together: the S3
 * upload and the plan its parts were presigned by. S3 cannot tell a part that
 * never came from one that was not planned, so completion checks against it.
 */
/** Headers a part's URL signs (the SDK takes a mutable Set; nothing adds to it). */
const SIGNED_LENGTH = new Set(['content-length']);

export function partsPlanKey(owner: string, uploadId: string): string {
  return `uploads/${ownerKeySegment(owner)}/direct/${uploadId}.parts.json`;
}

/**
 * Beside a presigned upload's key: what it was presigned with, so a presign sent again with its Idempotency-Key finds
 * it, and whether it was given up (a single PUT's URL cannot be revoked, so its completion must be refused).
 */
export function presignRecordKey(owner: string, uploadId: string): string {
  return `uploads/${ownerKeySegment(owner)}/direct/${uploadId}.presign.json`;
}

/**
 * Beside the record: when the URLs signed again for the upload stop working (a presign sent again with its key, GET
 * …/parts). Kept out of the record so that no signing ever writes the record: S3 (MinIO) does not check If-Match
 * atomically against a write at the same moment, so a noted expiry written over the record could take back a give-up
 * mark written meanwhile, and a DELETE answered 204 was undone (found by a review).
 */
export function presignExpiryKey(owner: string, uploadId: string): string {
  return `uploads/${ownerKeySegment(owner)}/direct/${uploadId}.presign-expiry.json`;
}

const presignExpiry = z.object({ expiresAt: z.iso.datetime() });

/** How often a give-up mark is written again when a write at the same moment (a new id's claim) took it away. */
const GIVE_UP_WRITES = 3;

/**
 * `expiresAt`: when the URLs signed at presign stop working (records written before it was kept have none; those
 * written before the expiry had its own object may have a later one in it), so its state can say until when a PUT is taken.
 */
const presignRecord = z.object({ sizeBytes: z.number().int().positive().nullable(), givenUp: z.boolean().optional(), expiresAt: z.iso.datetime().optional() });

type PresignRecord = z.infer<typeof presignRecord>;

/** A JSON object as it was read: its value, the ETag to write over only that one, and when it was written. */
interface Tagged<T> {
  readonly value: T;
  readonly etag: string | undefined;
  readonly writtenAt: Date | undefined;
}

const storedPlan = z.object({
  s3UploadId: z.string().min(1),
  sizeBytes: z.number().int().positive(),
  partSizeBytes: z.number().int().positive(),
  partCount: z.number().int().positive(),
});

type StoredPlan = z.infer<typeof storedPlan>;

const ENCRYPTION = { 'x-amz-server-side-encryption': 'AES256' } as const;

const uploaded = (parts: readonly Part[]): UploadedPart[] => parts.map((part) => ({ partNumber: part.PartNumber ?? 0, sizeBytes: part.Size ?? 0 }));

function errorName(error: unknown): string {
  return typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name) : '';
}

export interface S3UploadStoreOptions {
  /** The client URLs are presigned with: lib's createPresigningS3, which signs no checksum of a body it does not have. */
  readonly presigner: S3Client;
  /** Seconds a presigned URL works. @default 3600 */
  readonly presignSeconds?: number;
  /** Size of the parts a declared upload is cut into (raised where S3's 10 000-part limit needs it). @default 64 MiB */
  readonly partSizeBytes?: number;
}

export function s3UploadStore(s3: S3Client, bucket: string, limitBytes: number, options: S3UploadStoreOptions): UploadStore {
  const { presigner } = options;
  const presignSeconds = options.presignSeconds ?? 3600;
  const preferredPartBytes = options.partSizeBytes ?? 64 * 1024 ** 2;

  async function head(key: string): Promise<StagedObject | undefined> {
    try {
      const found = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
      // A multipart object's checksum is of its parts' checksums, not of its bytes: the validator hashes those itself.
      const sha256 = found.ChecksumSHA256 && found.ChecksumType !== 'COMPOSITE' && !found.ChecksumSHA256.includes('-') ? Buffer.from(found.ChecksumSHA256, 'base64').toString('hex') : null;
      return { bucket, key, versionId: found.VersionId ?? null, sizeBytes: found.ContentLength ?? 0, sha256 };
    } catch (error) {
      if (errorName(error) === 'NotFound') return undefined;
      throw error;
    }
  }

  /** A JSON object, the ETag it was read at (to write over only that one) and when it was written. */
  async function readTagged<T>(key: string, shape: z.ZodType<T>): Promise<Tagged<T> | undefined> {
    try {
      const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { value: shape.parse(JSON.parse((await answer.Body?.transformToString()) ?? '')), etag: answer.ETag, writtenAt: answer.LastModified };
    } catch (error) {
      if (errorName(error) === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  const readJson = async <T>(key: string, shape: z.ZodType<T>): Promise<T | undefined> => (await readTagged(key, shape))?.value;

  const readPlan = (key: string): Promise<StoredPlan | undefined> => readJson(key, storedPlan);

  /** `only`: written only where none is ('none'). */
  async function recordPresign(owner: string, uploadId: string, record: PresignRecord, only?: 'none'): Promise<void> {
    await s3.send(new PutObjectCommand({
      Bucket: bucket, Key: presignRecordKey(owner, uploadId), Body: JSON.stringify(record), ContentType: 'application/json', ServerSideEncryption: 'AES256',
      ...(only === 'none' ? { IfNoneMatch: '*' } : {}),
    }));
  }

  const readTaggedRecord = (owner: string, uploadId: string) => readTagged(presignRecordKey(owner, uploadId), presignRecord);
  const readRecord = async (owner: string, uploadId: string) => (await readTaggedRecord(owner, uploadId))?.value;

  /** When URLs signed from now on stop working at the earliest (presign-expiry.ts: to the second, as the signature). */
  const expiryFromNow = (): string => presignExpiryFromNow(presignSeconds);

  /**
   * Notes the expiry of URLs just signed again in its own object, written over freely (signings at the same moment
   * expire within their time on the way of each other): the record, and so its give-up mark, is never written here.
   */
  async function noteExpiry(owner: string, uploadId: string, expiresAt: string): Promise<void> {
    await s3.send(new PutObjectCommand({
      Bucket: bucket, Key: presignExpiryKey(owner, uploadId), Body: JSON.stringify({ expiresAt }), ContentType: 'application/json', ServerSideEncryption: 'AES256',
    }));
  }

  /** The later of the record's expiry and the one noted beside it (records written before kept it in themselves). */
  async function latestExpiry(owner: string, uploadId: string, record: PresignRecord): Promise<string | undefined> {
    const noted = (await readJson(presignExpiryKey(owner, uploadId), presignExpiry))?.expiresAt;
    if (noted === undefined || record.expiresAt === undefined) return noted ?? record.expiresAt;
    return Date.parse(noted) > Date.parse(record.expiresAt) ? noted : record.expiresAt;
  }

  /**
   * Refuses a signing sent again (a presign with its key, GET …/parts) that a DELETE gave the upload up under: what it
   * signed is not handed out, and what it opened (`opened`, a new multipart upload) is given back. Read after the
   * signing's own writes, so a mark written before them is seen; one written after is the DELETE's, which deletes what
   * the plan names then.
   */
  async function refuseIfGivenUp(owner: string, uploadId: string, opened?: string): Promise<void> {
    if ((await readRecord(owner, uploadId))?.givenUp !== true) return;
    if (opened !== undefined) {
      await abortIfOpen(directKey(owner, uploadId), opened);
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: partsPlanKey(owner, uploadId) }));
    }
    throw new UploadGivenUpError(uploadId);
  }

  /**
   * Writes the give-up mark until it reads back: the only other writer of a record without a mark is a new id's claim
   * (If-None-Match, which MinIO does not check atomically against this unconditional write), and re-signings write
   * none, so once the mark reads back nothing in flight takes it away and a DELETE answered 204 is never undone.
   */
  async function markGivenUp(owner: string, uploadId: string, record: PresignRecord): Promise<void> {
    for (let write = 0; write < GIVE_UP_WRITES; write++) {
      await recordPresign(owner, uploadId, record);
      if ((await readRecord(owner, uploadId))?.givenUp === true) return;
    }
    throw new StoreUnavailableError('S3', new Error(`the give-up mark of upload ${uploadId} was written over ${GIVE_UP_WRITES} times`));
  }

  /**
   * Writes a new presign's record only where none is: the record is the id's claim between a single PUT and an upload
   * in parts (each kind's other claim, the plan, is the parts' alone). Two presigns of one Idempotency-Key at once, one
   * with sizeBytes and one without, both answered 201 under one id before (found by a probe), the later record over the
   * earlier. False when another presign wrote it first, and when the id was given up: its single PUT's URL cannot be
   * revoked and writes to the same key, so an upload opened anew under it took what that URL was sent after the give-up
   * (found by a review: completed, and those bytes stored). AWS's 409 while the other write is still under way is a 503
   * to send again, as for the plan.
   */
  async function claimRecord(owner: string, uploadId: string, record: PresignRecord): Promise<boolean> {
    try {
      await recordPresign(owner, uploadId, record, 'none');
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalRequestConflict') {
        throw new StoreUnavailableError('S3', new Error(`another presign of upload ${uploadId} was writing its record at the same moment`, { cause: error }));
      }
      if (errorName(error) !== 'PreconditionFailed') throw error;
    }
    return false;
  }

  /** Every version of the archive, not only the newest: each PUT of a single PUT's URL left one (a plain delete, a marker over them all). */
  const deleteArchive = (key: string, found?: StagedObject): Promise<void> => deleteEveryVersion(s3, bucket, key, found?.versionId ?? null);

  async function uploadedParts(key: string, s3UploadId: string): Promise<Part[]> {
    const parts: Part[] = [];
    let marker: string | undefined;
    do {
      const page = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: s3UploadId, ...(marker ? { PartNumberMarker: marker } : {}) }));
      parts.push(...(page.Parts ?? []));
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    return parts;
  }

  /** Puts a declared upload's parts together once they all arrived; a concurrent completion may have done it first. */
  async function assemble(owner: string, uploadId: string, plan: StoredPlan): Promise<void> {
    const key = directKey(owner, uploadId);
    let parts: Part[];
    try {
      parts = await uploadedParts(key, plan.s3UploadId);
    } catch (error) {
      if (errorName(error) === 'NoSuchUpload') return;
      throw error;
    }
    const problems = partProblems(plan, uploaded(parts));
    if (problems.length > 0) throw new UploadIncompleteError(uploadId, problems);
    // Every planned part is there at its size, and only planned parts have URLs: all of them, in order.
    const planned = [...parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    try {
      await s3.send(new CompleteMultipartUploadCommand({
        Bucket: bucket, Key: key, UploadId: plan.s3UploadId,
        MultipartUpload: { Parts: planned.map((part) => ({ PartNumber: part.PartNumber, ETag: part.ETag })) },
      }));
    } catch (error) {
      // A part PUT again between the listing and the completion no longer has the ETag listed: the client completes again.
      if (errorName(error) === 'InvalidPart') throw new UploadIncompleteError(uploadId, ['a part was sent again while the upload was being completed']);
      if (errorName(error) !== 'NoSuchUpload') throw error;
    }
  }

  /** Undoes a plan this presign wrote and then lost the id with: its multipart upload aborted, its plan deleted (it is ours). */
  async function giveBack(owner: string, uploadId: string, s3UploadId: string): Promise<void> {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: directKey(owner, uploadId), UploadId: s3UploadId }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: partsPlanKey(owner, uploadId) }));
  }

  /** Aborts a multipart upload a plan named; one completed or ended already is left as it is. */
  async function abortIfOpen(key: string, s3UploadId: string): Promise<void> {
    try {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: s3UploadId }));
    } catch (error) {
      if (errorName(error) !== 'NoSuchUpload') throw error;
    }
  }

  /**
   * An upload in parts whose plan is done with: its parts were put together into an archive of the declared size, so
   * nothing is left to send (a presign sent again under its key replays it with no parts rather than opening a second
   * upload whose parts a completion would never take: found by a review, the archive PUT before was stored instead).
   * Undefined when no such archive is there: none arrived, or the staging expiry took it.
   */
  async function assembledAlready(key: string, plan: PartPlan): Promise<PresignedParts | undefined> {
    const found = await head(key);
    if (found?.sizeBytes !== plan.sizeBytes) return undefined;
    return { method: 'PUT', headers: {}, expiresAt: expiryFromNow(), partSizeBytes: plan.partSizeBytes, parts: [] };
  }

  /** Fresh presigned PUTs of `partNumbers` of a multipart upload, signed to work until `expiresAt` (presignSeconds from now). */
  async function presignParts(key: string, plan: StoredPlan, partNumbers: readonly number[], expiresAt: string): Promise<PresignedParts> {
    const parts = await Promise.all(partNumbers.map(async (partNumber) => {
      const sizeBytes = expectedPartBytes(plan, partNumber);
      // Its size is signed into the URL, so S3 refuses a PUT of any other length (403): a URL for 64 MiB took 5 GiB, and
      // one presign of 10 GiB could stage 800 GB, kept until the multipart upload's expiry.
      const url = await getSignedUrl(presigner, new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: plan.s3UploadId, PartNumber: partNumber, ContentLength: sizeBytes }),
        { expiresIn: presignSeconds, signableHeaders: SIGNED_LENGTH });
      return { partNumber, url, sizeBytes };
    }));
    // Encryption is the multipart upload's, asked for when it was created: its parts carry no header.
    return { method: 'PUT', headers: {}, expiresAt, partSizeBytes: plan.partSizeBytes, parts };
  }

  return {
    stage: (owner: string, uploadId: string, body: Readable): Promise<StagedObject> =>
      streamToStaging(s3, { bucket, key: stagingKey(owner, uploadId, new Date()), limitBytes }, body),
    presign: async (owner: string, uploadId: string, sizeBytes: number | null, options: { readonly reopen?: boolean } = {}): Promise<PresignedUpload> => {
      const key = directKey(owner, uploadId);
      // Signed before the record says so: the record never names a later expiry than its URLs have.
      const expiresAt = expiryFromNow();
      const signableHeaders = new Set(Object.keys(ENCRYPTION));
      if (sizeBytes === null) {
        const url = await getSignedUrl(presigner, new PutObjectCommand({ Bucket: bucket, Key: key, ServerSideEncryption: 'AES256' }), { expiresIn: presignSeconds, signableHeaders });
        // Its only trace until its archive arrives, and its claim on the id. Reopened (a presign sent again), its URL is
        // signed again and only its expiry noted beside the record: writing the record could take back a give-up mark.
        if (options.reopen) {
          await noteExpiry(owner, uploadId, expiresAt);
          await refuseIfGivenUp(owner, uploadId);
        } else if (!(await claimRecord(owner, uploadId, { sizeBytes: null, expiresAt }))) throw new UploadPresignedMeanwhile(uploadId);
        return { url, method: 'PUT', headers: ENCRYPTION, expiresAt };
      }
      const plan: PartPlan = partPlan(sizeBytes, preferredPartBytes);
      // Reopened, the plan it replaces (its upload ended), written over only while it is the one read: of two presigns
      // sent again at once, one opens an upload (found by a review: each wrote its plan over the other's, and the
      // multipart uploads of the plans written over stayed open a day).
      const replaced = options.reopen ? await readTagged(partsPlanKey(owner, uploadId), storedPlan) : undefined;
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ServerSideEncryption: 'AES256', ContentType: 'application/x-tar' }));
      if (!created.UploadId) throw new StoreUnavailableError('S3', new Error(`CreateMultipartUpload of ${key} answered no UploadId`));
      const stored: StoredPlan = { s3UploadId: created.UploadId, ...plan };
      // No bytes sent before the new upload can be completed in its place: the new parts, or nothing.
      if (options.reopen) await deleteArchive(key);
      try {
        // The plan is the id's claim: of two presigns sent at once with one key, one plan is written, not the later over the earlier.
        await s3.send(new PutObjectCommand({
          Bucket: bucket, Key: partsPlanKey(owner, uploadId), Body: JSON.stringify(stored), ContentType: 'application/json', ServerSideEncryption: 'AES256',
          ...(replaced?.etag ? { IfMatch: replaced.etag } : { IfNoneMatch: '*' }),
        }));
      } catch (error) {
        const conflict = errorName(error) === 'ConditionalRequestConflict';
        // If-Match over a plan deleted since it was read (a DELETE gave the id up meanwhile): MinIO and AWS answer NoSuchKey,
        // and the upload just opened stayed open a day behind a 500 (found by a re-probe: 12 of 80).
        const planGone = replaced !== undefined && errorName(error) === 'NoSuchKey';
        if (errorName(error) !== 'PreconditionFailed' && !conflict && !planGone) throw error;
        await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: created.UploadId }));
        // AWS answers 409 while the other write is still under way, and it may yet fail: ask again (503 with Retry-After),
        // and the repeat finds the other presign, or opens its own. A 412 means the other plan is written.
        if (conflict) throw new StoreUnavailableError('S3', new Error(`another presign of upload ${uploadId} was writing its plan at the same moment`, { cause: error }));
        if (planGone) await refuseIfGivenUp(owner, uploadId);
        throw new UploadPresignedMeanwhile(uploadId);
      }
      if (options.reopen) {
        // Reopened only under a record of this size (or, presigned before records were, a plan): it is not written
        // again, as that could take back a give-up mark written meanwhile (found by a review: a DELETE answered 204 and
        // the upload open after it). Only the new URLs' expiry is noted, and a mark is looked for after the plan's write.
        if (replaced) await abortIfOpen(key, replaced.value.s3UploadId);
        await noteExpiry(owner, uploadId, expiresAt);
        await refuseIfGivenUp(owner, uploadId, created.UploadId);
      } else {
        let claimed: boolean;
        try {
          claimed = await claimRecord(owner, uploadId, { sizeBytes, expiresAt });
        } catch (error) {
          await giveBack(owner, uploadId, created.UploadId);
          throw error;
        }
        // A single PUT presigned under the id at the same moment wrote its record first: the id is that upload's.
        if (!claimed) {
          await giveBack(owner, uploadId, created.UploadId);
          throw new UploadPresignedMeanwhile(uploadId);
        }
      }
      return presignParts(key, stored, Array.from({ length: plan.partCount }, (_, index) => index + 1), expiresAt);
    },
    resume: async (owner: string, uploadId: string): Promise<PresignedParts | undefined> => {
      const key = directKey(owner, uploadId);
      const [plan, recorded] = await Promise.all([readPlan(partsPlanKey(owner, uploadId)), readRecord(owner, uploadId)]);
      if (recorded?.givenUp) return undefined;
      // A completion put the parts together and dropped the plan (its request refused or failed since, or under way).
      if (plan === undefined) return typeof recorded?.sizeBytes === 'number' ? assembledAlready(key, partPlan(recorded.sizeBytes, preferredPartBytes)) : undefined;
      let parts: Part[];
      try {
        parts = await uploadedParts(key, plan.s3UploadId);
      } catch (error) {
        // Completed meanwhile, or aborted by the staging lifecycle after a day.
        if (errorName(error) === 'NoSuchUpload') return assembledAlready(key, plan);
        throw error;
      }
      const { missing, misSized } = partsToSend(plan, uploaded(parts));
      const expiresAt = expiryFromNow();
      const resumed = await presignParts(key, plan, [...missing, ...misSized.map((part) => part.partNumber)].sort((a, b) => a - b), expiresAt);
      // None signed (all arrived): no URL of it works any longer than before.
      if (resumed.parts.length > 0) {
        await noteExpiry(owner, uploadId, expiresAt);
        await refuseIfGivenUp(owner, uploadId);
      }
      return resumed;
    },
    presignedWith: async (owner: string, uploadId: string): Promise<PresignedWith | undefined> => {
      const tagged = await readTagged(presignRecordKey(owner, uploadId), presignRecord);
      // The mark is the record's last write (a DELETE sent again leaves it as it is): when it was written is when it was given up.
      if (tagged?.value.givenUp) return { sizeBytes: tagged.value.sizeBytes, givenUp: { at: tagged.writtenAt } };
      if (tagged !== undefined) {
        const expiresAt = await latestExpiry(owner, uploadId, tagged.value);
        return { sizeBytes: tagged.value.sizeBytes, ...(expiresAt ? { expiresAt: new Date(expiresAt) } : {}) };
      }
      // Presigned before the record was written: its plan says as much for an upload in parts.
      const plan = await readPlan(partsPlanKey(owner, uploadId));
      return plan === undefined ? undefined : { sizeBytes: plan.sizeBytes };
    },
    find: async (owner: string, uploadId: string, options: { readonly completed?: () => Promise<boolean> } = {}): Promise<StagedObject | undefined> => {
      const key = directKey(owner, uploadId);
      const planKey = partsPlanKey(owner, uploadId);
      // One round trip: the record's give-up mark, the archive and the plan, looked at side by side.
      const [found, recorded, plan] = await Promise.all([head(key), readRecord(owner, uploadId), readPlan(planKey)]);
      if (recorded?.givenUp) {
        // Its one URL took the archive again after it was given up: that is not kept either (nor a version left behind).
        // Unless a completion holds it: a DELETE's mark stands a moment before it finds that completion's claim and takes
        // the mark back, and deleted then, the archive of a completion answered 202 was gone (found by a re-probe: 4 of 320).
        if (await options.completed?.()) throw new UploadGivenUpError(uploadId);
        await deleteArchive(key, found);
        throw new UploadGivenUpError(uploadId);
      }
      // Neither: a completion racing this one may have put the archive together and dropped the plan between the looks.
      if (found === undefined && plan === undefined) return head(key);
      if (plan === undefined) return found;
      // A plan beside an archive is the newer of the two (a new upload is opened under the id only once the archive is
      // deleted), so its parts are put together over it: returning the archive and dropping the plan stored the bytes
      // sent before and left the new multipart upload open (found by a review). Put together by a completion racing
      // this one, it answers NoSuchUpload: either way, nothing the plan names is open once this returns.
      await assemble(owner, uploadId, plan);
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: planKey }));
      return head(key);
    },
    abandon: async (owner: string, uploadId: string, completed?: () => Promise<boolean>): Promise<'given-up' | 'unknown' | 'completed'> => {
      const key = directKey(owner, uploadId);
      const planKey = partsPlanKey(owner, uploadId);
      const [plan, found, recorded] = await Promise.all([readPlan(planKey), head(key), readRecord(owner, uploadId)]);
      if (plan === undefined && found === undefined && recorded === undefined) return 'unknown';
      // Given up first, then cleared: a completion between the two is refused rather than handed what is being deleted.
      const sizeBytes = recorded?.sizeBytes ?? plan?.sizeBytes ?? null;
      // Kept through the mark and its taking back: an upload a completion holds is open again if that request fails.
      const expiry = recorded?.expiresAt ? { expiresAt: recorded.expiresAt } : {};
      const markedBefore = recorded?.givenUp === true;
      // Marked already, by this DELETE sent before (its 204 lost) or by one that died between its mark and its deletes: the
      // deletes are done again, as nothing else would do them; answering 'unknown' left the parts, the plan and the part URLs
      // working for a day (found by a review). A completion may have claimed the upload before that DELETE's mark too.
      if (!markedBefore) await markGivenUp(owner, uploadId, { sizeBytes, givenUp: true, ...expiry });
      // A completion that claimed the upload before it could see the mark holds it: the mark is taken back, nothing deleted.
      if (await completed?.()) {
        await recordPresign(owner, uploadId, { sizeBytes, ...expiry });
        return 'completed';
      }
      // Read again after the mark: a presign sent again before it may have reopened the upload under a new multipart
      // upload, whose part URLs took parts after the 204 when only the plan read first was aborted (found by a re-probe).
      const planNow = await readPlan(planKey);
      if (markedBefore && plan === undefined && planNow === undefined && found === undefined) return 'unknown';
      const opened = new Set([plan?.s3UploadId, planNow?.s3UploadId].filter((id): id is string => id !== undefined));
      // Completed or aborted already: what is left is the plan, and the archive if it was put together.
      for (const s3UploadId of opened) await abortIfOpen(key, s3UploadId);
      if (opened.size > 0) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: planKey }));
      // Looked at again: a completion refused by the mark may have put the parts together after the first look.
      // Every version, also when none is current: older PUTs of a single PUT's URL stay behind the newest.
      await deleteArchive(key, opened.size === 0 ? found : await head(key));
      // The re-signings' expiry goes with the record's other objects: nothing of a given-up upload says when a URL works.
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: presignExpiryKey(owner, uploadId) }));
      return 'given-up';
    },
    givenUp: async (owner: string, uploadId: string): Promise<boolean> => (await readRecord(owner, uploadId))?.givenUp === true,
    // Every version of its key: a single PUT's URL refused at completion (413) may have taken the archive several times.
    discard: (staged: StagedObject): Promise<void> => deleteEveryVersion(s3, staged.bucket, staged.key, staged.versionId),
  };
}
