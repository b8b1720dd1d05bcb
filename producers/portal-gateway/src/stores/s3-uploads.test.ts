import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, ListPartsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { StoreUnavailableError } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { UploadGivenUpError, UploadIncompleteError, UploadPresignedMeanwhile } from '../staging.js';
import type { UploadStore } from '../ports.js';
import { partsPlanKey, presignExpiryKey, presignRecordKey, s3UploadStore } from './s3-uploads.js';

const MIB = 1024 ** 2;

/** S3 as a completion sees it when the client PUTs a part again between the listing and the completion. */
function racedS3(): S3Client {
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const named = (name: string): Error => Object.assign(new Error(name), { name });
  s3.send = (async (command: unknown) => {
    if (command instanceof HeadObjectCommand) throw named('NotFound');
    if (command instanceof GetObjectCommand) {
      const plan = JSON.stringify({ s3UploadId: 'mpu-1', sizeBytes: 6 * MIB, partSizeBytes: 5 * MIB, partCount: 2 });
      return { Body: { transformToString: async () => plan } };
    }
    if (command instanceof ListPartsCommand) return { Parts: [{ PartNumber: 1, Size: 5 * MIB, ETag: '"a"' }, { PartNumber: 2, Size: MIB, ETag: '"b"' }], IsTruncated: false };
    if (command instanceof CompleteMultipartUploadCommand) throw named('InvalidPart');
    throw new Error(`not expected: ${String((command as object).constructor.name)}`);
  }) as S3Client['send'];
  return s3;
}

describe('completing an upload in parts', () => {
  it('answers a part sent again during the completion as an incomplete upload to complete again, not as a failure of the gateway', async () => {
    const s3 = racedS3();
    const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
    const refused = await store.find('ada', '00000000-0000-4000-8000-000000000001').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UploadIncompleteError);
    expect((refused as UploadIncompleteError).problems).toEqual(['a part was sent again while the upload was being completed']);
  });
});

describe('two presigns with one Idempotency-Key at the same instant', () => {
  it('aborts its own multipart upload on AWS\'s 409 ConditionalRequestConflict and asks to be sent again (the other write may yet fail), and takes a 412 as the other presign\'s', async () => {
    for (const [refusal, outcome] of [['ConditionalRequestConflict', StoreUnavailableError], ['PreconditionFailed', UploadPresignedMeanwhile]] as const) {
      const sent: string[] = [];
      const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      s3.send = (async (command: unknown) => {
        sent.push((command as object).constructor.name);
        if (command instanceof CreateMultipartUploadCommand) return { UploadId: 'mpu-2' };
        if (command instanceof PutObjectCommand && command.input.IfNoneMatch === '*') throw Object.assign(new Error(refusal), { name: refusal });
        if (command instanceof AbortMultipartUploadCommand) return {};
        throw new Error(`not expected: ${String((command as object).constructor.name)}`);
      }) as S3Client['send'];
      const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
      await expect(store.presign('ada', '00000000-0000-4000-8000-000000000002', 6 * MIB)).rejects.toBeInstanceOf(outcome);
      expect(sent).toEqual(['CreateMultipartUploadCommand', 'PutObjectCommand', 'AbortMultipartUploadCommand']);
    }
  });
});

/**
 * S3 as far as presigning goes: objects by key, PutObject's If-None-Match and If-Match honoured (412
 * PreconditionFailed; an object's ETag is the body it holds), multipart uploads counted. `afterRead` runs once a
 * GetObject has read its object, as another call writing between a read and a write would.
 */
function conditionalS3(afterRead?: (key: string) => void): { s3: S3Client; objects: Map<string, string>; aborted: string[] } {
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const objects = new Map<string, string>();
  const aborted: string[] = [];
  let uploads = 0;
  const named = (name: string): Error => Object.assign(new Error(name), { name });
  const etagOf = (body: string): string => `"${body}"`;
  s3.send = (async (command: unknown) => {
    if (command instanceof PutObjectCommand) {
      const key = command.input.Key ?? '';
      const held = objects.get(key);
      if (command.input.IfNoneMatch === '*' && held !== undefined) throw named('PreconditionFailed');
      if (command.input.IfMatch !== undefined && (held === undefined || etagOf(held) !== command.input.IfMatch)) throw named('PreconditionFailed');
      objects.set(key, String(command.input.Body));
      return {};
    }
    if (command instanceof GetObjectCommand) {
      const key = command.input.Key ?? '';
      const body = objects.get(key);
      if (body === undefined) throw named('NoSuchKey');
      afterRead?.(key);
      return { Body: { transformToString: async () => body }, ETag: etagOf(body) };
    }
    if (command instanceof DeleteObjectCommand) return void objects.delete(command.input.Key ?? '');
    if (command instanceof CreateMultipartUploadCommand) return { UploadId: `mpu-${++uploads}` };
    if (command instanceof AbortMultipartUploadCommand) return void aborted.push(command.input.UploadId ?? '');
    throw new Error(`not expected: ${String((command as object).constructor.name)}`);
  }) as S3Client['send'];
  return { s3, objects, aborted };
}

describe('one upload id presigned as a single PUT and in parts at the same instant (one Idempotency-Key)', () => {
  const id = '00000000-0000-4000-8000-000000000004';

  it('opens it once: the single PUT\'s record is written only where none is, so the later presign of either kind fails UploadPresignedMeanwhile (found by a probe: both answered 201)', async () => {
    for (const [first, second] of [[null, 6 * MIB], [6 * MIB, null], [null, null]] as const) {
      const { s3, objects, aborted } = conditionalS3();
      const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
      await store.presign('ada', id, first);
      await expect(store.presign('ada', id, second)).rejects.toBeInstanceOf(UploadPresignedMeanwhile);
      expect(await store.presignedWith('ada', id), 'the first presign\'s record stands').toMatchObject({ sizeBytes: first });
      if (second !== null) {
        // The loser's multipart upload is aborted and its plan deleted: the id stays the single PUT's.
        expect([aborted, objects.has(partsPlanKey('ada', id))]).toEqual([['mpu-1'], false]);
      }
    }
  });

  it('signs a single PUT again without writing its record when reopened (a give-up mark written meanwhile stays, and the reopen is refused), and never opens a given-up id anew', async () => {
    const { s3, objects, aborted } = conditionalS3();
    const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
    await store.presign('ada', id, null);
    objects.set(presignRecordKey('ada', id), JSON.stringify({ sizeBytes: null, givenUp: true }));
    await expect(store.presign('ada', id, null, { reopen: true })).rejects.toBeInstanceOf(UploadGivenUpError);
    expect(await store.givenUp('ada', id)).toBe(true);
    // Its single PUT's URL still writes to the id's key: an upload opened there took what it was sent after the give-up (found by a review).
    for (const sizeBytes of [null, 6 * MIB]) await expect(store.presign('ada', id, sizeBytes)).rejects.toBeInstanceOf(UploadPresignedMeanwhile);
    expect([aborted, objects.has(partsPlanKey('ada', id))]).toEqual([['mpu-1'], false]);
    expect(await store.presignedWith('ada', id)).toEqual({ sizeBytes: null, givenUp: { at: undefined } });
  });
});

describe('when a presigned upload\'s URLs stop working', () => {
  const id = '00000000-0000-4000-8000-000000000005';
  const expiryOf = async (store: UploadStore): Promise<string | undefined> => (await store.presignedWith('ada', id))?.expiresAt?.toISOString();

  it('is kept with its record at presign, as the answer says it, and moved on when a single PUT\'s URL is signed again (in parts: the MinIO test)', async () => {
    for (const sizeBytes of [null, 6 * MIB]) {
      const { s3, objects } = conditionalS3();
      const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3, presignSeconds: 600 });
      const presigned = await store.presign('ada', id, sizeBytes);
      expect(await expiryOf(store)).toBe(presigned.expiresAt);
      expect(Date.parse(presigned.expiresAt) - Date.now()).toBeGreaterThan(590_000);
      // To the second, as S3 signs (X-Amz-Date): never later than the URL really stops.
      expect(presigned.expiresAt).toMatch(/:\d\d\.000Z$/);
      if (sizeBytes !== null) continue;
      // Signed long ago, as far as the record knows: signed again, it says the new URL's time.
      objects.set(presignRecordKey('ada', id), JSON.stringify({ sizeBytes, expiresAt: '2026-01-01T00:00:00.000Z' }));
      const again = await store.presign('ada', id, sizeBytes, { reopen: true });
      expect(again.expiresAt >= presigned.expiresAt).toBe(true);
      expect(await expiryOf(store)).toBe(again.expiresAt);
    }
  });

  it('is noted beside the record, never in it: a give-up mark written meanwhile stands', async () => {
    let markOnRead = false;
    const { s3, objects } = conditionalS3((key) => {
      if (markOnRead && key === presignRecordKey('ada', id)) objects.set(key, JSON.stringify({ sizeBytes: null, givenUp: true }));
      markOnRead = false;
    });
    const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
    await store.presign('ada', id, null);
    markOnRead = true;
    await store.presign('ada', id, null, { reopen: true });
    expect(await store.givenUp('ada', id)).toBe(true);
  });
});

/**
 * conditionalS3 whose PutObject checks its condition and lands later, as MinIO does (it does not check If-Match
 * atomically against a write at the same moment): `meanwhile` runs once, between the check and the write, the first
 * time a PUT comes while it is armed.
 */
function lateLandingS3(): { s3: S3Client; objects: Map<string, string>; aborted: string[]; arm: (meanwhile: () => Promise<unknown>) => void } {
  const { s3, objects, aborted } = conditionalS3();
  const send = s3.send.bind(s3) as (command: unknown) => Promise<unknown>;
  let armed: (() => Promise<unknown>) | undefined;
  s3.send = (async (command: unknown) => {
    if (command instanceof HeadObjectCommand) throw Object.assign(new Error('NotFound'), { name: 'NotFound' });
    if (command instanceof ListObjectVersionsCommand) return {};
    if (!(command instanceof PutObjectCommand) || armed === undefined) return send(command);
    const meanwhile = armed;
    armed = undefined;
    const key = command.input.Key ?? '';
    const held = objects.get(key);
    if (command.input.IfMatch !== undefined && (held === undefined || `"${held}"` !== command.input.IfMatch)) throw Object.assign(new Error('PreconditionFailed'), { name: 'PreconditionFailed' });
    await meanwhile();
    objects.set(key, String(command.input.Body));
    return {};
  }) as S3Client['send'];
  return { s3, objects, aborted, arm: (meanwhile) => { armed = meanwhile; } };
}

describe('a DELETE answered while a presign sent again with its key signs the upload anew', () => {
  const id = '00000000-0000-4000-8000-000000000006';

  it('stands for a single PUT: the signing writes no record, so it takes back no give-up mark, and is refused as given up (found by a review: 204, then the upload open and completed)', async () => {
    const { s3, arm } = lateLandingS3();
    const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
    await store.presign('ada', id, null);
    let abandoned: unknown;
    arm(async () => { abandoned = await store.abandon('ada', id); });
    const reopened = await store.presign('ada', id, null, { reopen: true }).catch((error: unknown) => error);
    expect(abandoned).toBe('given-up');
    expect(await store.presignedWith('ada', id)).toEqual({ sizeBytes: null, givenUp: { at: undefined } });
    expect(reopened).toBeInstanceOf(UploadGivenUpError);
  });

  it('stands for an upload in parts reopened once its multipart upload ended, and the reopen gives back the upload it opened', async () => {
    const { s3, objects, aborted, arm } = lateLandingS3();
    const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
    await store.presign('ada', id, 6 * MIB);
    let abandoned: unknown;
    arm(async () => { abandoned = await store.abandon('ada', id); });
    const reopened = await store.presign('ada', id, 6 * MIB, { reopen: true }).catch((error: unknown) => error);
    expect(abandoned).toBe('given-up');
    expect(await store.givenUp('ada', id)).toBe(true);
    expect(reopened).toBeInstanceOf(UploadGivenUpError);
    expect([aborted.includes('mpu-2'), objects.has(partsPlanKey('ada', id))]).toEqual([true, false]);
  });

  it('reads a record written before the expiry had its own object (the expiry in it), and the later of the two once a signing noted one', async () => {
    const { s3, objects } = conditionalS3();
    const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
    objects.set(presignRecordKey('ada', id), JSON.stringify({ sizeBytes: null, expiresAt: '2099-01-01T00:00:00.000Z' }));
    expect(await store.presignedWith('ada', id)).toEqual({ sizeBytes: null, expiresAt: new Date('2099-01-01T00:00:00.000Z') });
    const again = await store.presign('ada', id, null, { reopen: true });
    expect(await store.presignedWith('ada', id)).toEqual({ sizeBytes: null, expiresAt: new Date('2099-01-01T00:00:00.000Z') });
    objects.set(presignRecordKey('ada', id), JSON.stringify({ sizeBytes: null, expiresAt: '2026-01-01T00:00:00.000Z' }));
    expect(await store.presignedWith('ada', id)).toEqual({ sizeBytes: null, expiresAt: new Date(again.expiresAt) });
  });
});

describe('a completion that reads a DELETE\'s give-up mark while another completion holds the upload', () => {
  const id = '00000000-0000-4000-8000-000000000009';

  /** S3 holding the archive and a record marked given up (a DELETE's mark, about to be taken back), counting the archive's deletes. */
  function markedS3(): { s3: S3Client; deleted: string[] } {
    const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const deleted: string[] = [];
    const named = (name: string): Error => Object.assign(new Error(name), { name });
    s3.send = (async (command: unknown) => {
      if (command instanceof HeadObjectCommand) return { ContentLength: 10, VersionId: 'v1' };
      if (command instanceof GetObjectCommand) {
        if (command.input.Key !== presignRecordKey('ada', id)) throw named('NoSuchKey');
        const record = JSON.stringify({ sizeBytes: null, givenUp: true });
        return { Body: { transformToString: async () => record }, ETag: '"r"' };
      }
      if (command instanceof ListObjectVersionsCommand) return { Versions: [{ Key: command.input.Prefix, VersionId: 'v1' }], IsTruncated: false };
      if (command instanceof DeleteObjectCommand) return void deleted.push(command.input.Key ?? '');
      throw new Error(`not expected: ${String((command as object).constructor.name)}`);
    }) as S3Client['send'];
    return { s3, deleted };
  }

  it('deletes nothing when the claim it is asked about is there (found by a re-probe: a completion answered 202 lost its archive, 4 of 320), and deletes what a URL took after a give-up with none', async () => {
    for (const claimed of [true, false]) {
      const { s3, deleted } = markedS3();
      const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
      await expect(store.find('ada', id, { completed: async () => claimed })).rejects.toBeInstanceOf(UploadGivenUpError);
      expect(deleted.length > 0, `claimed: ${String(claimed)}`).toBe(!claimed);
    }
  });
});

describe('a presign in parts sent again while a DELETE gives the upload up', () => {
  const id = '00000000-0000-4000-8000-00000000000a';

  it('gives back the upload it opened and is refused as given up when its plan was deleted under it: If-Match answers NoSuchKey, not a 500 with the upload left open (found by a re-probe: 12 of 80)', async () => {
    const { s3, objects, aborted } = lateLandingS3();
    const send = s3.send.bind(s3) as (command: unknown) => Promise<unknown>;
    const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
    let deleteNow = false;
    s3.send = (async (command: unknown) => {
      // The DELETE, whole, between the reopen's read of the plan and its write over it.
      if (command instanceof CreateMultipartUploadCommand && deleteNow) {
        deleteNow = false;
        expect(await store.abandon('ada', id)).toBe('given-up');
      }
      if (command instanceof PutObjectCommand && command.input.IfMatch !== undefined && !objects.has(command.input.Key ?? '')) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
      return send(command);
    }) as S3Client['send'];
    await store.presign('ada', id, 6 * MIB);
    deleteNow = true;
    await expect(store.presign('ada', id, 6 * MIB, { reopen: true })).rejects.toBeInstanceOf(UploadGivenUpError);
    expect([aborted.includes('mpu-2'), objects.has(partsPlanKey('ada', id)), await store.givenUp('ada', id)]).toEqual([true, false, true]);
  });
});

describe('giving up an upload whose URL was signed again', () => {
  it('deletes the expiry its re-signing noted beside the record, with the record\'s other objects (found by a re-probe: left for ever)', async () => {
    const id = '00000000-0000-4000-8000-00000000000b';
    const { s3, objects } = lateLandingS3();
    const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
    await store.presign('ada', id, null);
    await store.presign('ada', id, null, { reopen: true });
    expect(objects.has(presignExpiryKey('ada', id))).toBe(true);
    expect(await store.abandon('ada', id)).toBe('given-up');
    expect(objects.has(presignExpiryKey('ada', id))).toBe(false);
  });
});

describe('a DELETE whose give-up races a presign in parts sent again', () => {
  it('aborts the multipart upload the reopen opened before its mark landed, not only the one its plan named when first read (found by a re-probe: a part URL took a part after the 204)', async () => {
    const id = '00000000-0000-4000-8000-00000000000c';
    const { s3, aborted, objects, arm } = lateLandingS3();
    const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
    await store.presign('ada', id, 6 * MIB);
    let reopened: unknown;
    // Between the DELETE's first look (the plan naming mpu-1) and its mark landing, the reopen opens mpu-2.
    arm(async () => { reopened = await store.presign('ada', id, 6 * MIB, { reopen: true }); });
    expect(await store.abandon('ada', id)).toBe('given-up');
    // Answered with part URLs (its give-up check read the record before the mark landed): those of mpu-2.
    expect(reopened).toMatchObject({ parts: [{ partNumber: 1 }] });
    expect([aborted.includes('mpu-1'), aborted.includes('mpu-2'), objects.has(partsPlanKey('ada', id))]).toEqual([true, true, false]);
  });
});
