import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createPresigningS3, createS3 } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import type { PresignedParts, PresignedSinglePut, PresignedUpload, UploadStore } from '../ports.js';
import { UploadGivenUpError, UploadIncompleteError, UploadPresignedMeanwhile } from '../staging.js';
import { directKey, partsPlanKey, presignRecordKey, s3UploadStore } from './s3-uploads.js';

const MIB = 1024 ** 2;
const s3 = createS3(testConfig);
const bucket = testConfig.ORBIT_BUCKET_STAGING;
const store: UploadStore = s3UploadStore(s3, bucket, 64 * MIB, { presigner: createPresigningS3(testConfig), presignSeconds: 600, partSizeBytes: 5 * MIB });

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * A PUT as a client sends it. The URL must not name a checksum: one signed
 * in at presign time is of an empty body, and AWS S3 refuses every real
 * upload to it with BadDigest (MinIO ignores it, so only the URL can tell).
 */
async function put(url: string, body: Buffer, headers: Readonly<Record<string, string>> = {}): Promise<number> {
  expect([...new URL(url).searchParams.keys()].filter((name) => /checksum/i.test(name))).toEqual([]);
  const answer = await fetch(url, { method: 'PUT', body, headers });
  await answer.arrayBuffer();
  return answer.status;
}

async function storedBytes(key: string): Promise<Buffer> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await answer.Body!.transformToByteArray());
}

async function exists(key: string): Promise<boolean> {
  return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(() => true, () => false);
}

/** What the versioned staging bucket still holds of exactly `key`: its versions and delete markers. */
async function versionsLeft(key: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].filter((entry) => entry.Key === key).map((entry) => entry.VersionId ?? 'null');
}

/** A single PUT presigned and its URL sent three times (a client retrying): three versions of its key. */
async function putThrice(owner: string, uploadId: string): Promise<PresignedSinglePut> {
  const presigned = await store.presign(owner, uploadId, null) as PresignedSinglePut;
  for (let attempt = 0; attempt < 3; attempt += 1) expect(await put(presigned.url, randomBytes(64 * 1024), presigned.headers)).toBe(200);
  expect(await versionsLeft(directKey(owner, uploadId))).toHaveLength(3);
  return presigned;
}

describe('presigned uploads into MinIO', () => {
  it('leaves no version of a single PUT sent three times when it is given up, refused at completion, or PUT again once given up (found by a review: the older versions stayed)', async () => {
    const owner = `versions-${uniqueSuffix()}`;
    const givenUp = randomUUID();
    await putThrice(owner, givenUp);
    expect(await store.abandon(owner, givenUp)).toBe('given-up');
    expect(await versionsLeft(directKey(owner, givenUp))).toEqual([]);

    // A completion refused 413 discards what was found: the older PUTs too.
    const tooLarge = randomUUID();
    await putThrice(owner, tooLarge);
    const staged = await store.find(owner, tooLarge);
    expect(staged).toMatchObject({ sizeBytes: 64 * 1024 });
    await store.discard(staged!);
    expect(await versionsLeft(directKey(owner, tooLarge))).toEqual([]);
    expect(await store.find(owner, tooLarge)).toBeUndefined();

    // Given up, then PUT three times through its URL: the completion that is refused deletes them all.
    const late = randomUUID();
    const presigned = await store.presign(owner, late, null) as PresignedSinglePut;
    expect(await store.abandon(owner, late)).toBe('given-up');
    for (let attempt = 0; attempt < 3; attempt += 1) expect(await put(presigned.url, randomBytes(1024), presigned.headers)).toBe(200);
    await expect(store.find(owner, late)).rejects.toBeInstanceOf(UploadGivenUpError);
    expect(await versionsLeft(directKey(owner, late))).toEqual([]);
  });

  it('deletes the versions and delete markers of that key alone, not of a longer key that begins with it', async () => {
    const owner = `versions-${uniqueSuffix()}`;
    const uploadId = randomUUID();
    const key = directKey(owner, uploadId);
    await putThrice(owner, uploadId);
    // A plain delete, as before: a marker over the three versions, which stay.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    expect(await versionsLeft(key)).toHaveLength(4);
    const longer = `${key}.kept`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: longer, Body: 'another object', ServerSideEncryption: 'AES256' }));
    await store.discard({ bucket, key, versionId: null, sizeBytes: 0, sha256: null });
    expect(await versionsLeft(key)).toEqual([]);
    expect(await versionsLeft(longer)).toHaveLength(1);
    await store.discard({ bucket, key: longer, versionId: null, sizeBytes: 0, sha256: null });
  });

  it('puts a declared upload\'s parts together once all arrived at their sizes, naming what is missing until then', async () => {
    const owner = `parts-${uniqueSuffix()}`;
    const uploadId = randomUUID();
    const archive = randomBytes(12 * MIB + 12_345);
    const presigned = await store.presign(owner, uploadId, archive.length) as PresignedParts;
    expect(presigned.partSizeBytes).toBe(5 * MIB);
    expect(presigned.parts.map((part) => [part.partNumber, part.sizeBytes])).toEqual([[1, 5 * MIB], [2, 5 * MIB], [3, 2 * MIB + 12_345]]);
    const slice = (partNumber: number): Buffer => archive.subarray((partNumber - 1) * presigned.partSizeBytes, (partNumber - 1) * presigned.partSizeBytes + presigned.parts[partNumber - 1]!.sizeBytes);

    // What a presign with the same Idempotency-Key finds: the size it was declared with.
    expect(await store.presignedWith(owner, uploadId)).toEqual({ sizeBytes: archive.length, expiresAt: new Date(presigned.expiresAt) });
    expect(await store.presignedWith(owner, randomUUID())).toBeUndefined();
    // Nothing yet, then the last part first: the others are named.
    await expect(store.find(owner, uploadId)).rejects.toThrow('parts 1-3 of 3 have not arrived');
    expect(await put(presigned.parts[2]!.url, slice(3), presigned.headers)).toBe(200);
    await expect(store.find(owner, uploadId)).rejects.toThrow('parts 1-2 of 3 have not arrived');
    expect((await store.resume(owner, uploadId))?.parts.map((part) => part.partNumber)).toEqual([1, 2]);
    // A part of another size than planned is refused by the store at once, short or long: its size is signed into the URL
    // (found by a probe: a URL for 64 MiB took 192 MiB, kept until completion said so).
    expect(await put(presigned.parts[0]!.url, slice(1).subarray(0, MIB), presigned.headers)).toBe(403);
    expect(await put(presigned.parts[0]!.url, Buffer.concat([slice(1), randomBytes(MIB)]), presigned.headers)).toBe(403);
    expect(await put(presigned.parts[1]!.url, slice(2), presigned.headers)).toBe(200);
    const short = await store.find(owner, uploadId).catch((error: unknown) => error);
    expect(short).toBeInstanceOf(UploadIncompleteError);
    expect((short as UploadIncompleteError).message).toMatch(/part 1 of 3 has not arrived/);
    // The client asks again which parts to send, and sends part 1 whole to the fresh URL it is given.
    const resumed = await store.resume(owner, uploadId);
    expect(resumed?.parts.map((part) => [part.partNumber, part.sizeBytes])).toEqual([[1, 5 * MIB]]);
    expect(await put(resumed!.parts[0]!.url, slice(1), resumed!.headers)).toBe(200);
    expect((await store.resume(owner, uploadId))?.parts).toEqual([]);

    // Two completions at once (a client retrying): both find the one object.
    const [first, second] = await Promise.all([store.find(owner, uploadId), store.find(owner, uploadId)]);
    expect(first).toMatchObject({ bucket, sizeBytes: archive.length });
    expect(second).toMatchObject({ key: first!.key, sizeBytes: archive.length });
    expect(sha256(await storedBytes(first!.key))).toBe(sha256(archive));
    // The plan is gone, and the object is found again as it is; asked which parts are left, none (all arrived).
    expect(await exists(partsPlanKey(owner, uploadId))).toBe(false);
    expect((await store.resume(owner, uploadId))?.parts).toEqual([]);
    expect(await store.find(owner, uploadId)).toMatchObject({ key: first!.key, sizeBytes: archive.length });
    const encrypted = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: first!.key }));
    expect(encrypted.ServerSideEncryption).toBe('AES256');
  });

  it('finds the archive a completion racing this one put together between its two looks, instead of saying none arrived (found by a probe)', async () => {
    const owner = `race-${uniqueSuffix()}`;
    const uploadId = randomUUID();
    const archive = randomBytes(6 * MIB);
    const presigned = await store.presign(owner, uploadId, archive.length) as PresignedParts;
    for (const part of presigned.parts) {
      const from = (part.partNumber - 1) * presigned.partSizeBytes;
      expect(await put(part.url, archive.subarray(from, from + part.sizeBytes), presigned.headers)).toBe(200);
    }
    // This completion looks for the archive (not there yet); the other one assembles it and drops the plan before this one reads the plan.
    let raced = false;
    const racing = Object.create(s3, {
      send: {
        value: async (command: { input?: { Key?: string } }, ...rest: unknown[]) => {
          if (!raced && command instanceof GetObjectCommand && command.input.Key === partsPlanKey(owner, uploadId)) {
            raced = true;
            await store.find(owner, uploadId);
          }
          return (s3.send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
        },
      },
    }) as typeof s3;
    const loser = s3UploadStore(racing, bucket, 64 * MIB, { presigner: createPresigningS3(testConfig), presignSeconds: 600, partSizeBytes: 5 * MIB });
    const found = await loser.find(owner, uploadId);
    expect(raced).toBe(true);
    expect(found).toMatchObject({ bucket, sizeBytes: archive.length });
  });

  it('opens an upload in parts once when two presigns of its id come at the same instant, and again only when told to reopen it', async () => {
    const owner = `race-${uniqueSuffix()}`;
    const uploadId = randomUUID();
    const sizeBytes = 12 * MIB;
    const answers = await Promise.allSettled([1, 2, 3].map(() => store.presign(owner, uploadId, sizeBytes)));
    const opened = answers.filter((answer): answer is PromiseFulfilledResult<PresignedUpload> => answer.status === 'fulfilled');
    const lost = answers.filter((answer): answer is PromiseRejectedResult => answer.status === 'rejected');
    expect(opened).toHaveLength(1);
    expect(lost.map((answer) => answer.reason)).toEqual([expect.any(UploadPresignedMeanwhile), expect.any(UploadPresignedMeanwhile)]);
    // The losers aborted the multipart uploads they had created: one is left, the one the plan names.
    const s3UploadIdOf = (presigned: PresignedUpload): string | null => new URL((presigned as PresignedParts).parts[0]!.url).searchParams.get('uploadId');
    // Path-style URL: /<bucket>/<key>. MinIO lists multipart uploads of one whole key only.
    const key = decodeURIComponent(new URL((opened[0]!.value as PresignedParts).parts[0]!.url).pathname.split('/').slice(2).join('/'));
    const open = async (): Promise<string[]> => ((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? []).map((upload) => upload.UploadId ?? '');
    expect(await open()).toEqual([s3UploadIdOf(opened[0]!.value)]);
    const resumed = await store.resume(owner, uploadId);
    expect(resumed && s3UploadIdOf(resumed)).toBe(s3UploadIdOf(opened[0]!.value));
    // Its multipart upload ended (the staging expiry): a presign sent again opens a new one in its place.
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: s3UploadIdOf(opened[0]!.value)! }));
    expect(await store.resume(owner, uploadId)).toBeUndefined();
    const reopened = await store.presign(owner, uploadId, sizeBytes, { reopen: true });
    expect(await open()).toEqual([s3UploadIdOf(reopened)]);
    expect(await store.abandon(owner, uploadId)).toBe('given-up');
  });

  it('tells a presign sent again after its parts were put together that none is left to send, and puts a reopened upload\'s parts together over any archive left, leaving no multipart upload open (found by a review: the bytes PUT before were stored, the new upload stayed open)', async () => {
    const owner = `reopen-${uniqueSuffix()}`;
    const uploadId = randomUUID();
    const before = randomBytes(6 * MIB);
    const after = randomBytes(6 * MIB);
    const key = directKey(owner, uploadId);
    const sent = async (presigned: PresignedParts, archive: Buffer): Promise<void> => {
      for (const part of presigned.parts) {
        const from = (part.partNumber - 1) * presigned.partSizeBytes;
        expect(await put(part.url, archive.subarray(from, from + part.sizeBytes), presigned.headers)).toBe(200);
      }
    };
    await sent(await store.presign(owner, uploadId, before.length) as PresignedParts, before);
    // A completion puts the parts together (its request refused at the door, NAME_CONFLICT): its plan is gone.
    expect(sha256(await storedBytes((await store.find(owner, uploadId))!.key))).toBe(sha256(before));
    expect(await exists(partsPlanKey(owner, uploadId))).toBe(false);
    // The same upload, every part arrived: a presign sent again under its key replays it, nothing to send.
    const resumed = await store.resume(owner, uploadId);
    expect(resumed).toMatchObject({ partSizeBytes: 5 * MIB, parts: [] });

    // Reopened anyway (the route reopens only when nothing is left of it): the archive PUT before can no longer be completed.
    const reopened = await store.presign(owner, uploadId, after.length, { reopen: true }) as PresignedParts;
    expect(await versionsLeft(key)).toEqual([]);
    await expect(store.find(owner, uploadId)).rejects.toThrow('parts 1-2 of 2 have not arrived');
    await sent(reopened, after);
    expect(sha256(await storedBytes((await store.find(owner, uploadId))!.key))).toBe(sha256(after));
    const open = (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? [];
    expect(open).toEqual([]);
    expect(await store.abandon(owner, uploadId)).toBe('given-up');
  });

  it('puts the parts of a plan written beside an archive together over it, never handing back the archive and dropping the plan with its upload open', async () => {
    const owner = `beside-${uniqueSuffix()}`;
    const uploadId = randomUUID();
    const key = directKey(owner, uploadId);
    const stale = randomBytes(6 * MIB);
    const fresh = randomBytes(6 * MIB);
    const presigned = await store.presign(owner, uploadId, fresh.length) as PresignedParts;
    // Bytes under the upload's key beside a plan that is open (a single PUT's URL given up before, say).
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: stale, ServerSideEncryption: 'AES256' }));
    await expect(store.find(owner, uploadId)).rejects.toBeInstanceOf(UploadIncompleteError);
    for (const part of presigned.parts) {
      const from = (part.partNumber - 1) * presigned.partSizeBytes;
      expect(await put(part.url, fresh.subarray(from, from + part.sizeBytes), presigned.headers)).toBe(200);
    }
    expect(sha256(await storedBytes((await store.find(owner, uploadId))!.key))).toBe(sha256(fresh));
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? []).toEqual([]);
    expect(await store.abandon(owner, uploadId)).toBe('given-up');
  });

  it('reopens an ended upload in parts once when presigns sent again come at the same instant, aborting the multipart upload of the plan it writes over (found by a review: each wrote its plan, their uploads stayed open)', async () => {
    const owner = `reopen-race-${uniqueSuffix()}`;
    const uploadId = randomUUID();
    const sizeBytes = 12 * MIB;
    const first = await store.presign(owner, uploadId, sizeBytes) as PresignedParts;
    const key = directKey(owner, uploadId);
    const answers = await Promise.allSettled([1, 2, 3].map(() => store.presign(owner, uploadId, sizeBytes, { reopen: true })));
    const opened = answers.filter((answer): answer is PromiseFulfilledResult<PresignedUpload> => answer.status === 'fulfilled');
    expect(opened).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 'rejected').map((answer) => answer.reason)).toEqual([expect.any(UploadPresignedMeanwhile), expect.any(UploadPresignedMeanwhile)]);
    const s3UploadIdOf = (presigned: PresignedUpload): string | null => new URL((presigned as PresignedParts).parts[0]!.url).searchParams.get('uploadId');
    const open = ((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? []).map((upload) => upload.UploadId);
    expect(open).toEqual([s3UploadIdOf(opened[0]!.value)]);
    expect(open).not.toContain(s3UploadIdOf(first));
    expect(await store.abandon(owner, uploadId)).toBe('given-up');
  });

  it('opens an id once when a single PUT and an upload in parts are presigned under it at the same instant (one Idempotency-Key), and the same single PUT twice once (found by a probe: both answered)', async () => {
    const owner = `race-mixed-${uniqueSuffix()}`;
    for (const sizes of [[null, 12 * MIB], [null, null, null]] as const) {
      const uploadId = randomUUID();
      const answers = await Promise.allSettled(sizes.map((sizeBytes) => store.presign(owner, uploadId, sizeBytes)));
      const opened = answers.filter((answer): answer is PromiseFulfilledResult<PresignedUpload> => answer.status === 'fulfilled');
      expect(opened).toHaveLength(1);
      expect(answers.filter((answer) => answer.status === 'rejected').map((answer) => answer.reason)).toEqual(sizes.slice(1).map(() => expect.any(UploadPresignedMeanwhile)));
      // What the id was opened as is what its record says, and no plan is left of a loser in parts.
      const won = 'parts' in opened[0]!.value ? 12 * MIB : null;
      expect(await store.presignedWith(owner, uploadId)).toEqual({ sizeBytes: won, expiresAt: new Date(opened[0]!.value.expiresAt) });
      if (won === null) expect(await exists(partsPlanKey(owner, uploadId))).toBe(false);
      expect(await store.abandon(owner, uploadId)).toBe('given-up');
    }
  });

  it('gives up an upload: its parts are dropped, its URLs take nothing more, its plan and archive are gone', async () => {
    const owner = `abandon-${uniqueSuffix()}`;
    const uploadId = randomUUID();
    const archive = randomBytes(7 * MIB);
    const presigned = await store.presign(owner, uploadId, archive.length) as PresignedParts;
    expect(await put(presigned.parts[0]!.url, archive.subarray(0, 5 * MIB), presigned.headers)).toBe(200);
    // MinIO lists the multipart uploads of one whole key only (a prefix of keys lists none, whatever is open).
    const key = decodeURIComponent(new URL(presigned.parts[0]!.url).pathname.split('/').slice(2).join('/'));
    const open = async (): Promise<unknown[]> => (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? [];
    expect(await open()).toHaveLength(1);
    expect(await store.abandon(owner, uploadId)).toBe('given-up');
    expect(await open()).toEqual([]);
    expect(await exists(partsPlanKey(owner, uploadId))).toBe(false);
    expect(await put(presigned.parts[1]!.url, archive.subarray(5 * MIB), presigned.headers)).toBe(404);
    expect(await store.resume(owner, uploadId)).toBeUndefined();
    await expect(store.find(owner, uploadId)).rejects.toBeInstanceOf(UploadGivenUpError);
    expect(await store.abandon(owner, uploadId)).toBe('unknown');
    // One PUT that arrived: the archive goes.
    const single = randomUUID();
    const one = await store.presign(owner, single, null) as PresignedSinglePut;
    expect(await put(one.url, archive, one.headers)).toBe(200);
    expect(await store.presignedWith(owner, single)).toEqual({ sizeBytes: null, expiresAt: new Date(one.expiresAt) });
    expect(await store.abandon(owner, single)).toBe('given-up');
    expect(await exists(key.replace(uploadId, single))).toBe(false);
    // S3 cannot revoke its URL, which takes the archive again (found by a probe: that upload was then completed and
    // stored): the completion is refused, and what arrived is deleted.
    expect(await put(one.url, archive, one.headers)).toBe(200);
    await expect(store.find(owner, single)).rejects.toBeInstanceOf(UploadGivenUpError);
    expect(await exists(key.replace(uploadId, single))).toBe(false);
    // Given up, each is found so by a presign sent again with its Idempotency-Key, with when, and never opened again: its
    // URL still writes to the same key (found by a review: reopened, the upload was completed with the bytes PUT after the DELETE).
    for (const id of [single, uploadId]) expect(await store.presignedWith(owner, id)).toMatchObject({ givenUp: { at: expect.any(Date) as unknown } });
    await expect(store.presign(owner, single, null)).rejects.toBeInstanceOf(UploadPresignedMeanwhile);
    await expect(store.presign(owner, uploadId, archive.length)).rejects.toBeInstanceOf(UploadPresignedMeanwhile);
    expect(await open()).toEqual([]);
    expect(await put(one.url, archive, one.headers)).toBe(200);
    await expect(store.find(owner, single)).rejects.toBeInstanceOf(UploadGivenUpError);
    // One PUT given up before anything of it arrived (found by a probe: there was nothing to give up, 404).
    const early = randomUUID();
    const cancelled = await store.presign(owner, early, null) as PresignedSinglePut;
    expect(await store.abandon(owner, early)).toBe('given-up');
    expect(await put(cancelled.url, archive, cancelled.headers)).toBe(200);
    await expect(store.find(owner, early)).rejects.toBeInstanceOf(UploadGivenUpError);
    expect(await store.abandon(owner, randomUUID())).toBe('unknown');
  });

  it('finishes a give-up that died after its mark when it is sent again: the parts, the plan and an archive go, the part URLs take nothing (found by a review: 204 and all of it left)', async () => {
    const owner = `abandon-crashed-${uniqueSuffix()}`;
    const uploadId = randomUUID();
    const archive = randomBytes(7 * MIB);
    const presigned = await store.presign(owner, uploadId, archive.length) as PresignedParts;
    expect(await put(presigned.parts[0]!.url, archive.subarray(0, 5 * MIB), presigned.headers)).toBe(200);
    // The state a gateway killed between the give-up mark and the abort leaves: the mark, as abandon writes it, and all the rest.
    const markGivenUp = (id: string, sizeBytes: number | null) => s3.send(new PutObjectCommand({
      Bucket: bucket, Key: presignRecordKey(owner, id), Body: JSON.stringify({ sizeBytes, givenUp: true }), ContentType: 'application/json', ServerSideEncryption: 'AES256',
    }));
    await markGivenUp(uploadId, archive.length);
    const key = decodeURIComponent(new URL(presigned.parts[0]!.url).pathname.split('/').slice(2).join('/'));
    const open = async (): Promise<unknown[]> => (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? [];
    expect(await open()).toHaveLength(1);

    expect(await store.abandon(owner, uploadId, async () => false)).toBe('given-up');
    expect(await open()).toEqual([]);
    expect(await exists(partsPlanKey(owner, uploadId))).toBe(false);
    expect(await put(presigned.parts[0]!.url, archive.subarray(0, 5 * MIB), presigned.headers)).toBe(404);
    expect(await store.givenUp(owner, uploadId)).toBe(true);
    // Sent a third time, nothing is left: 'unknown', which the route answers 204 as a give-up sent again.
    expect(await store.abandon(owner, uploadId)).toBe('unknown');
    // One PUT whose archive arrived before that DELETE died: the archive goes too.
    const single = randomUUID();
    const one = await store.presign(owner, single, null) as PresignedSinglePut;
    expect(await put(one.url, archive, one.headers)).toBe(200);
    await markGivenUp(single, null);
    expect(await store.abandon(owner, single, async () => false)).toBe('given-up');
    expect(await exists(key.replace(uploadId, single))).toBe(false);
    // A completion that claimed the upload before the dead DELETE's mark holds it: the mark is taken back, nothing deleted.
    const held = randomUUID();
    const kept = await store.presign(owner, held, null) as PresignedSinglePut;
    expect(await put(kept.url, archive, kept.headers)).toBe(200);
    await markGivenUp(held, null);
    expect(await store.abandon(owner, held, async () => true)).toBe('completed');
    expect(await store.find(owner, held)).toMatchObject({ sizeBytes: archive.length });
  });

  it('takes back a give-up that finds the upload completed meanwhile: its mark is gone and nothing of it is deleted', async () => {
    const owner = `abandon-late-${uniqueSuffix()}`;
    const archive = randomBytes(MIB);
    const single = randomUUID();
    const one = await store.presign(owner, single, null) as PresignedSinglePut;
    expect(await put(one.url, archive, one.headers)).toBe(200);
    let markSeen: boolean | undefined;
    // The completion's claim is found once the mark is written (a completion checks the mark after claiming).
    const outcome = await store.abandon(owner, single, async () => {
      markSeen = await store.givenUp(owner, single);
      return true;
    });
    expect([outcome, markSeen, await store.givenUp(owner, single)]).toEqual(['completed', true, false]);
    expect(await store.find(owner, single)).toMatchObject({ sizeBytes: archive.length });
    // In parts: the parts and the plan stay as they were.
    const inParts = randomUUID();
    const presigned = await store.presign(owner, inParts, archive.length) as PresignedParts;
    expect(await store.abandon(owner, inParts, async () => true)).toBe('completed');
    expect(await put(presigned.parts[0]!.url, archive, presigned.headers)).toBe(200);
    expect(await store.find(owner, inParts)).toMatchObject({ sizeBytes: archive.length });
    // No completion: given up.
    expect(await store.abandon(owner, single, async () => false)).toBe('given-up');
    expect(await store.givenUp(owner, single)).toBe(true);
  });

  it('keeps when the URLs last signed for an upload stop working: at presign, and again when a presign sent again or GET …/parts signs them anew, never over a give-up mark', async () => {
    const owner = `expiry-${uniqueSuffix()}`;
    const expiryOf = async (id: string): Promise<Date | undefined> => (await store.presignedWith(owner, id))?.expiresAt;
    // Signed long ago, as far as its record knows (times are to the second: a signing in the same second says the same).
    const later = async (id: string, sizeBytes: number | null): Promise<void> => {
      await s3.send(new PutObjectCommand({
        Bucket: bucket, Key: presignRecordKey(owner, id), Body: JSON.stringify({ sizeBytes, expiresAt: '2026-01-01T00:00:00.000Z' }), ContentType: 'application/json', ServerSideEncryption: 'AES256',
      }));
    };
    // 1. In parts: its presign, a GET …/parts (the resume), a presign sent again once its multipart upload ended.
    const inParts = randomUUID();
    const presigned = await store.presign(owner, inParts, 6 * MIB) as PresignedParts;
    expect(await expiryOf(inParts)).toEqual(new Date(presigned.expiresAt));
    await later(inParts, 6 * MIB);
    const resumed = await store.resume(owner, inParts);
    expect(resumed!.parts).toHaveLength(2);
    expect(resumed!.expiresAt >= presigned.expiresAt).toBe(true);
    expect(await expiryOf(inParts)).toEqual(new Date(resumed!.expiresAt));
    await later(inParts, 6 * MIB);
    const reopened = await store.presign(owner, inParts, 6 * MIB, { reopen: true });
    expect(await expiryOf(inParts)).toEqual(new Date(reopened.expiresAt));
    // 2. One PUT, signed again under its key.
    const single = randomUUID();
    const one = await store.presign(owner, single, null);
    await later(single, null);
    const again = await store.presign(owner, single, null, { reopen: true });
    expect(again.expiresAt >= one.expiresAt).toBe(true);
    expect(await expiryOf(single)).toEqual(new Date(again.expiresAt));
    // 3. Given up: no expiry to go on with, and a presign sent again (its URL signed) leaves the mark as it is.
    expect(await store.abandon(owner, single)).toBe('given-up');
    await expect(store.presign(owner, single, null, { reopen: true })).rejects.toBeInstanceOf(UploadGivenUpError);
    expect(await store.presignedWith(owner, single)).toEqual({ sizeBytes: null, givenUp: { at: expect.any(Date) as unknown } });
    // 4. A give-up taken back (a completion held the upload) keeps the expiry: if that request fails, the upload is open again.
    const held = randomUUID();
    const kept = await store.presign(owner, held, null);
    expect(await store.abandon(owner, held, async () => true)).toBe('completed');
    expect(await store.presignedWith(owner, held)).toEqual({ sizeBytes: null, expiresAt: new Date(kept.expiresAt) });
  });

  it('never undoes a give-up answered: presigns sent again at the same moment as the DELETE leave the mark standing, and one sent after it is refused (found by a review: a DELETE answered 204, then the upload open and completed)', async () => {
    const owner = `giveup-race-${uniqueSuffix()}`;
    const undone: string[] = [];
    for (let round = 0; round < 40; round += 1) {
      const id = randomUUID();
      await store.presign(owner, id, null);
      // Re-signs within one second write the same bytes, so an ETag read before the mark still matched after it.
      const settled = await Promise.allSettled([...Array.from({ length: 6 }, () => store.presign(owner, id, null, { reopen: true })), store.abandon(owner, id)]);
      for (const reopen of settled.slice(0, -1)) if (reopen.status === 'rejected') expect(reopen.reason).toBeInstanceOf(UploadGivenUpError);
      expect(settled.at(-1)).toEqual({ status: 'fulfilled', value: 'given-up' });
      // What a presign sent after the DELETE reads first (a 409 when it is given up), and what a completion reads.
      if (!(await store.presignedWith(owner, id))?.givenUp || !(await store.givenUp(owner, id))) undone.push(id);
    }
    expect(undone).toEqual([]);
  });

  it('never undoes a give-up answered when an upload in parts whose multipart upload ended is reopened at the same moment, and gives back the upload the reopen opened', async () => {
    const owner = `giveup-parts-${uniqueSuffix()}`;
    const undone: string[] = [];
    for (let round = 0; round < 10; round += 1) {
      const id = randomUUID();
      await store.presign(owner, id, 6 * MIB);
      const plan = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: partsPlanKey(owner, id) }))).Body!.transformToString()) as { s3UploadId: string };
      // Ended as the staging lifecycle ends it after a day: the presign sent again opens a new one.
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: directKey(owner, id), UploadId: plan.s3UploadId }));
      const delay = (round % 5) * 15;
      const [reopened, abandoned] = await Promise.allSettled([
        store.presign(owner, id, 6 * MIB, { reopen: true }),
        new Promise((resolve) => setTimeout(resolve, delay)).then(() => store.abandon(owner, id)),
      ]);
      if (reopened.status === 'rejected') expect(reopened.reason).toBeInstanceOf(UploadGivenUpError);
      expect(abandoned).toEqual({ status: 'fulfilled', value: 'given-up' });
      if (!(await store.givenUp(owner, id))) undone.push(id);
      // Refused, a reopen leaves no multipart upload of its own open.
      if (reopened.status === 'rejected') {
        const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: directKey(owner, id) }));
        expect(open.Uploads ?? []).toEqual([]);
      }
    }
    expect(undone).toEqual([]);
  });

  it('keeps one PUT of the whole archive for a client that declares no size', async () => {
    const owner = `single-${uniqueSuffix()}`;
    const uploadId = randomUUID();
    const archive = randomBytes(3 * MIB);
    const presigned = await store.presign(owner, uploadId, null) as PresignedSinglePut;
    // Its record is its only trace until the archive arrives: what a presign sent again, or a give-up, finds.
    expect(await store.presignedWith(owner, uploadId)).toEqual({ sizeBytes: null, expiresAt: new Date(presigned.expiresAt) });
    expect(await store.find(owner, uploadId)).toBeUndefined();
    expect(await put(presigned.url, archive, presigned.headers)).toBe(200);
    expect(await store.find(owner, uploadId)).toMatchObject({ sizeBytes: archive.length });
    expect(await exists(partsPlanKey(owner, uploadId))).toBe(false);
    expect(await store.resume(owner, uploadId)).toBeUndefined();
  });
});
