import { CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, HeadObjectCommand, UploadPartCopyCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { holdsValidated, isRefusal, orRefusal, recordedLocationOf, serverSideCopy, SourceChangedError, type StoredObject } from './copy.js';

const preconditionFailed = (): Error =>
  Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });

/**
 * An S3 whose unversioned source was checked by a HEAD that saw ETag "first"
 * and is overwritten (ETag "second") once `copiesBeforeChange` copy requests
 * were answered: 0 means between that HEAD and the copy, so any later HEAD
 * sees the overwrite. It honours CopySourceIfMatch.
 */
function changingSource(copiesBeforeChange: number) {
  const sent: { name: string; input: Record<string, unknown> }[] = [];
  let copies = 0;
  const current = (): string => (copies >= copiesBeforeChange ? '"second"' : '"first"');
  const s3 = {
    send: async (command: { input: Record<string, unknown> }) => {
      sent.push({ name: command.constructor.name, input: command.input });
      if (command instanceof HeadObjectCommand) return { ETag: current(), ContentLength: 30 };
      if (command instanceof CreateMultipartUploadCommand) return { UploadId: 'u1' };
      if (command instanceof UploadPartCopyCommand || command instanceof CopyObjectCommand) {
        const holds = current();
        copies += 1;
        if (command.input.CopySourceIfMatch !== undefined && command.input.CopySourceIfMatch !== holds) throw preconditionFailed();
        return command instanceof CopyObjectCommand ? { VersionId: null, CopyObjectResult: {} } : { CopyPartResult: { ETag: `"p${String(command.input.PartNumber)}"` } };
      }
      if (command instanceof CompleteMultipartUploadCommand) return { VersionId: null };
      return {};
    },
  } as unknown as S3Client;
  return { s3, sent };
}

const inParts = { singleCopyBytes: 10, partBytes: 10, partsInParallel: 1 };
const whole = { singleCopyBytes: 100, partBytes: 10, partsInParallel: 1 };
/** As the HEAD that checked its checksum or size saw it. */
const source = { bucket: 'dev', key: 'img-v1.tar', versionId: null, etag: '"first"' };
const target = { bucket: 'test', key: 'img-v1.tar' };
const copiesSent = (sent: readonly { name: string }[]): number => sent.filter((call) => call.name === 'UploadPartCopyCommand' || call.name === 'CopyObjectCommand').length;

describe('a copy of a source without a version id', () => {
  it('ties every part to the object its HEAD checked (CopySourceIfMatch), so parts of two generations are never stitched together', async () => {
    const { s3, sent } = changingSource(Infinity);
    await serverSideCopy(s3, source, target, 30, {}, inParts);
    const parts = sent.filter((call) => call.name === 'UploadPartCopyCommand');
    expect(parts.map((call) => call.input['CopySourceIfMatch'])).toEqual(['"first"', '"first"', '"first"']);
  });

  it('copies nothing when the source was overwritten after the HEAD that checked it, in parts or in one CopyObject', async () => {
    for (const limits of [inParts, whole]) {
      const { s3, sent } = changingSource(0);
      await expect(serverSideCopy(s3, source, target, 30, {}, limits)).rejects.toBeInstanceOf(SourceChangedError);
      expect(sent.some((call) => call.name === 'CompleteMultipartUploadCommand')).toBe(false);
      expect(copiesSent(sent)).toBeGreaterThan(0);
    }
  });

  it('fails as changed when the source is overwritten part way, its upload aborted', async () => {
    const { s3, sent } = changingSource(1);
    const failure = await serverSideCopy(s3, source, target, 30, {}, inParts).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SourceChangedError);
    expect((failure as Error).message).toMatch(/dev\/img-v1\.tar changed after it was checked/);
    expect(sent.at(-1)?.name).toBe('AbortMultipartUploadCommand');
  });

  it('leaves a source with a version id unpinned: that version cannot change', async () => {
    const { s3, sent } = changingSource(0);
    await serverSideCopy(s3, { ...source, versionId: 'v1' }, target, 30, {}, whole);
    expect(sent.find((call) => call.name === 'CopyObjectCommand')?.input['CopySourceIfMatch']).toBeUndefined();
  });
});

describe('orRefusal', () => {
  it('turns a look the store refuses into a refusal to fail the request with, and lets outages through to be retried', async () => {
    const head403 = Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 403 } });
    const looked = await orRefusal(Promise.reject(head403));
    expect(isRefusal(looked) && looked.refused.reasonCode).toBe('STORE_ACCESS_DENIED');
    expect(await orRefusal(Promise.resolve(undefined))).toBeUndefined();
    const slow = Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    await expect(orRefusal(Promise.reject(slow))).rejects.toBe(slow);
  });
});

describe('a copy during a shutdown', () => {
  /** An S3 whose copy requests take as long as a copy of gigabytes does: they end only when their abortSignal aborts. */
  function slowS3() {
    const sent: string[] = [];
    const s3 = {
      send: async (command: { input: Record<string, unknown> }, options?: { abortSignal?: AbortSignal }) => {
        sent.push(command.constructor.name);
        if (command instanceof CreateMultipartUploadCommand) return { UploadId: 'u1' };
        if (command instanceof UploadPartCopyCommand || command instanceof CopyObjectCommand) {
          return new Promise((_resolve, reject) => {
            options?.abortSignal?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })), { once: true });
          });
        }
        return {};
      },
    } as unknown as S3Client;
    return { s3, sent };
  }

  it('ends the copy in flight when the consume loop\'s signal aborts, copies no further part and aborts its multipart upload', async () => {
    for (const limits of [inParts, whole]) {
      const { s3, sent } = slowS3();
      const stopping = new AbortController();
      const copying = serverSideCopy(s3, { ...source, versionId: 'v1' }, target, 30, {}, limits, stopping.signal);
      await new Promise((resolve) => setTimeout(resolve, 20));
      stopping.abort();
      await expect(copying).rejects.toMatchObject({ name: 'AbortError' });
      expect(copiesSent(sent.map((name) => ({ name })))).toBe(1);
      expect(sent.includes('CompleteMultipartUploadCommand')).toBe(false);
      expect(sent.includes('AbortMultipartUploadCommand')).toBe(limits === inParts);
    }
  }, 2_000);
});

describe('recordedLocationOf', () => {
  it('reads an empty versionId (a copy into an unversioned bucket) as no version, as every S3 call here does', () => {
    expect(recordedLocationOf({ bucket: 'testing', key: 'k.tar', versionId: '' })).toEqual({ bucket: 'testing', key: 'k.tar', versionId: null });
    expect(recordedLocationOf({ bucket: 'testing', key: 'k.tar' })).toEqual({ bucket: 'testing', key: 'k.tar', versionId: null });
    expect(recordedLocationOf({ bucket: 'testing', key: 'k.tar', versionId: 'v7' })).toEqual({ bucket: 'testing', key: 'k.tar', versionId: 'v7' });
  });

  it('names no object without a bucket and a key', () => {
    for (const value of [undefined, null, 'testing/k.tar', { bucket: 'testing' }, { key: 'k.tar', versionId: 'v7' }]) expect(recordedLocationOf(value)).toBeUndefined();
  });
});

describe('holdsValidated', () => {
  const sha = 'a'.repeat(64);
  const object = (fields: Partial<StoredObject>): StoredObject => ({ sha256: null, size: 10, versionId: null, etag: '"e"', metadata: {}, ...fields });

  it('takes S3\'s own SHA-256, else the version Orbit recorded; the orbit-sha256 claim only where there are no versions', () => {
    expect(holdsValidated(object({ sha256: sha }), { sha256: sha, recordedVersionId: 'v1' })).toBe(true);
    expect(holdsValidated(object({ versionId: 'v1' }), { sha256: sha, recordedVersionId: 'v1' })).toBe(true);
    expect(holdsValidated(object({ versionId: 'v2', metadata: { 'orbit-sha256': sha } }), { sha256: sha, recordedVersionId: 'v1' })).toBe(false);
    expect(holdsValidated(object({ metadata: { 'orbit-sha256': sha } }), { sha256: sha, recordedVersionId: null })).toBe(true);
  });

  it('takes S3\'s version "null" (an object written before versioning was turned on) as no version when Orbit recorded none', () => {
    expect(holdsValidated(object({ versionId: 'null', metadata: { 'orbit-sha256': sha } }), { sha256: sha, recordedVersionId: null })).toBe(true);
    expect(holdsValidated(object({ versionId: 'null', metadata: { 'orbit-sha256': 'b'.repeat(64) } }), { sha256: sha, recordedVersionId: null })).toBe(false);
    // Orbit recorded a real version: "null" is another object written over it.
    expect(holdsValidated(object({ versionId: 'null', metadata: { 'orbit-sha256': sha } }), { sha256: sha, recordedVersionId: 'v1' })).toBe(false);
  });
});
