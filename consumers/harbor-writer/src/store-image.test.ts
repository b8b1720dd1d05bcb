import { Writable } from 'node:stream';
import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createLogger, type RegistryAccess } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/helpers/index.js';
import { memoryLogger } from '../../../test/helpers/memory-logger.js';
import { pushMetrics } from './registry-push/push-metrics.js';
import { keepsDevelopmentObject, storeValidatedImage } from './store-image.js';
import type { StoredObject } from './copy.js';
import { overwrittenAfterItsHead } from '../../../test/helpers/overwritten-after-head.js';

const dynamo = { send: async () => ({}) } as unknown as DynamoDBDocumentClient;

describe('storeValidatedImage', () => {
  it('stores nothing when the staged upload is replaced between the HEAD that measured it and the copy', async () => {
    const event = sampleEvents()['orbit.image.validated'];
    // A staging bucket without versioning (as it may be on AWS): the staged key takes another PUT of the same size.
    const staged = { size: event.sizeBytes, metadata: {} };
    const { s3, objects } = overwrittenAfterItsHead({ [event.staging.bucket]: { ...staged, etag: '"validated"' } }, event.staging.bucket, { ...staged, etag: '"another"' });
    const deps = { s3, dynamo, developmentBucket: 'dev', stagingBucket: event.staging.bucket, metadataTable: 'meta', manifestTable: 'manifests' };
    const outcome = await storeValidatedImage(event, deps, quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'CHECKSUM_MISMATCH' } });
    expect(objects.get('dev')).toBeUndefined();
  });

  it('ends its copy when the consumer stops, with an error the loop retries, not a failure event', async () => {
    const event = sampleEvents()['orbit.image.validated'];
    const s3 = {
      send: async (command: { input: Record<string, unknown> }, options?: { abortSignal?: AbortSignal }) => {
        if (command instanceof HeadObjectCommand) {
          if (command.input['Bucket'] !== event.staging.bucket) throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
          return { ETag: '"staged"', ContentLength: event.sizeBytes, Metadata: {} };
        }
        // A copy of gigabytes: it ends when its request is aborted.
        if (command instanceof CopyObjectCommand) {
          return new Promise((_resolve, reject) => options?.abortSignal?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })), { once: true }));
        }
        throw new Error(`unexpected ${command.constructor.name}`);
      },
    } as unknown as S3Client;
    const stopping = new AbortController();
    const deps = { s3, dynamo, developmentBucket: 'dev', stagingBucket: event.staging.bucket, metadataTable: 'meta', manifestTable: 'manifests', signal: stopping.signal };
    const storing = storeValidatedImage(event, deps, quietLogger);
    setTimeout(() => stopping.abort(), 20);
    await expect(storing).rejects.toMatchObject({ name: 'AbortError' });
  }, 2_000);

  describe('a failure leaves a line before its PipelineFailed goes out', () => {
    const event = sampleEvents()['orbit.image.validated'];
    const ids = { pid: event.pid, correlationId: event.correlationId, imageUID: event.imageUID };
    const stagedThere = (): ReturnType<typeof overwrittenAfterItsHead> => {
      const staged = { size: event.sizeBytes, metadata: {}, etag: '"validated"' };
      // Nothing watched: a store that copies what it holds.
      return overwrittenAfterItsHead({ [event.staging.bucket]: staged }, 'no-such-bucket', staged);
    };

    it('warns of the user\'s fault (STAGING_NOT_OWNED) with its reason code, reason and ids', async () => {
      const { logger, lines } = memoryLogger();
      const { s3 } = stagedThere();
      const deps = { s3, dynamo, developmentBucket: 'dev', stagingBucket: 'another-staging-bucket', metadataTable: 'meta', manifestTable: 'manifests' };
      const outcome = await storeValidatedImage(event, deps, logger.child(ids));
      expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'STAGING_NOT_OWNED' } });
      expect(lines).toEqual([expect.objectContaining({
        level: 'warn', msg: 'upload failed at the store stage', ...ids, reasonCode: 'STAGING_NOT_OWNED', reason: outcome.kind === 'failed' ? outcome.event.message : 'stored',
      })]);
    });

    it('logs an error, counted as a refused push, when ORBIT_IMAGE_REGISTRY names no repository (REGISTRY_PUSH_REFUSED: the operator\'s)', async () => {
      const { logger, lines } = memoryLogger();
      const { s3, objects } = stagedThere();
      const registry = new Registry();
      const pushing = { prefix: 'localhost:5000/NOT A PATH', access: {} as RegistryAccess, observe: pushMetrics(registry) };
      const deps = { s3, dynamo, developmentBucket: 'dev', stagingBucket: event.staging.bucket, metadataTable: 'meta', manifestTable: 'manifests', pushing };
      const outcome = await storeValidatedImage(event, deps, logger.child(ids));
      expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'REGISTRY_PUSH_REFUSED' } });
      expect(objects.get('dev')).toBeUndefined();
      expect(lines.filter((line) => line['msg'] === 'upload failed at the store stage')).toEqual([expect.objectContaining({
        level: 'error', ...ids, reasonCode: 'REGISTRY_PUSH_REFUSED', reason: outcome.kind === 'failed' ? outcome.event.message : 'stored',
      })]);
      expect(await registry.metrics()).toContain('orbit_registry_pushes_total{outcome="refused"} 1');
    });

    it('logs an error when S3 refuses Orbit\'s role (STORE_ACCESS_DENIED: the operator\'s)', async () => {
      const { logger, lines } = memoryLogger();
      const s3 = { send: async () => { throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }); } } as unknown as S3Client;
      const deps = { s3, dynamo, developmentBucket: 'dev', stagingBucket: event.staging.bucket, metadataTable: 'meta', manifestTable: 'manifests' };
      const outcome = await storeValidatedImage(event, deps, logger.child(ids));
      expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'STORE_ACCESS_DENIED' } });
      expect(lines).toEqual([expect.objectContaining({ level: 'error', ...ids, reasonCode: 'STORE_ACCESS_DENIED' })]);
    });

    // Found by a review: a logger without the ids (no real caller's) had them added, so the line was built two ways.
    it('names the ids its logger carries, and adds none: the consume loop\'s message logger is the only real caller\'s', async () => {
      const { logger, lines } = memoryLogger();
      const { s3 } = stagedThere();
      const deps = { s3, dynamo, developmentBucket: 'dev', stagingBucket: 'another-staging-bucket', metadataTable: 'meta', manifestTable: 'manifests' };
      await storeValidatedImage(event, deps, logger);
      expect(lines).toHaveLength(1);
      for (const name of Object.keys(ids)) expect(lines[0]).not.toHaveProperty(name);
      expect(lines[0]).toMatchObject({ level: 'warn', reasonCode: 'STAGING_NOT_OWNED' });
    });

    it('names each id once through the consume loop\'s message logger, which carries them already', async () => {
      const raw: string[] = [];
      const root = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { raw.push(chunk.toString('utf8')); done(); } }) });
      const { s3 } = stagedThere();
      const deps = { s3, dynamo, developmentBucket: 'dev', stagingBucket: 'another-staging-bucket', metadataTable: 'meta', manifestTable: 'manifests' };
      await storeValidatedImage(event, deps, root.child({ topic: 'orbit.image.validated', partition: 0, offset: '7', ...ids }));
      expect(raw).toHaveLength(1);
      for (const name of Object.keys(ids)) expect(raw[0]?.split(`"${name}":`)).toHaveLength(2);
      expect(JSON.parse(raw[0] ?? '{}')).toMatchObject({ level: 'warn', ...ids, reasonCode: 'STAGING_NOT_OWNED' });
    });
  });

  // Found by a data-integrity review (after 0455c09 held transfers to it): a redelivered ImageValidated kept another
  // version at the Development key that claimed this request and the validated SHA-256 in its metadata, and recorded it.
  describe('keeps an object already at the Development key only where S3 shows it holds the validated bytes', () => {
    const event = sampleEvents()['orbit.image.validated'];
    const claims = { 'orbit-request-id': event.requestId, 'orbit-sha256': event.sha256 };
    // Same size, other bytes, put with the store's own metadata: a CRC32 of S3's at most, no SHA-256.
    const forged: StoredObject = { sha256: null, size: event.sizeBytes, versionId: 'forged', etag: '"evil"', metadata: claims };
    const staged: StoredObject = { sha256: null, size: event.sizeBytes, versionId: 's1', etag: '"staged"', metadata: {} };

    it('does not keep a forged object for its claims, whatever is recorded and whatever is staged', () => {
      expect(keepsDevelopmentObject(forged, event, null)).toBe(false);
      expect(keepsDevelopmentObject(forged, event, 'd1')).toBe(false);
      expect(keepsDevelopmentObject(forged, event, null, staged)).toBe(false);
      // Naming the staged version as the store's copy does: S3's ETag is not the staged version's.
      expect(keepsDevelopmentObject({ ...forged, metadata: { ...claims, 'orbit-copied-from-version': 's1' } }, event, null, staged)).toBe(false);
      expect(keepsDevelopmentObject({ ...forged, sha256: 'f'.repeat(64) }, event, 'forged')).toBe(false);
    });

    it('keeps S3\'s own SHA-256, the version recorded, and its own unrecorded copy of the staged version', () => {
      expect(keepsDevelopmentObject({ ...forged, sha256: event.sha256, metadata: {} }, event, null)).toBe(true);
      expect(keepsDevelopmentObject(forged, event, 'forged')).toBe(true);
      const own = { ...forged, etag: staged.etag, metadata: { ...claims, 'orbit-copied-from-version': 's1' } };
      expect(keepsDevelopmentObject(own, event, null, staged)).toBe(true);
      expect(keepsDevelopmentObject(own, event, null)).toBe(false);
      expect(keepsDevelopmentObject({ ...own, metadata: { ...own.metadata, 'orbit-request-id': 'another' } }, event, null, staged)).toBe(false);
      expect(keepsDevelopmentObject({ ...own, size: event.sizeBytes + 1 }, event, null, staged)).toBe(false);
    });

    it('copies again from staging over a forged object on a redelivery, and records the new version', async () => {
      const copies: Record<string, unknown>[] = [];
      const s3 = {
        send: async (command: { input: Record<string, unknown> }) => {
          if (command instanceof HeadObjectCommand) {
            if (command.input['Bucket'] === 'dev') return { ETag: forged.etag, ContentLength: forged.size, VersionId: forged.versionId, Metadata: forged.metadata };
            return { ETag: staged.etag, ContentLength: staged.size, VersionId: staged.versionId, Metadata: {} };
          }
          if (command instanceof CopyObjectCommand) {
            copies.push(command.input);
            return { VersionId: 'copied', CopyObjectResult: { ChecksumSHA256: Buffer.from(event.sha256, 'hex').toString('base64') } };
          }
          if (command instanceof ListObjectVersionsCommand) return { Versions: [] };
          if (command instanceof DeleteObjectCommand) return {};
          throw new Error(`unexpected ${command.constructor.name}`);
        },
      } as unknown as S3Client;
      const deps = { s3, dynamo, developmentBucket: 'dev', stagingBucket: event.staging.bucket, metadataTable: 'meta', manifestTable: 'manifests' };
      const { logger, lines } = memoryLogger();
      const outcome = await storeValidatedImage(event, deps, logger);
      expect(outcome).toMatchObject({ kind: 'stored', event: { stored: { versionId: 'copied' }, sha256: event.sha256 } });
      expect(copies).toHaveLength(1);
      expect(copies[0]?.['Metadata']).toMatchObject({ ...claims, 'orbit-copied-from-version': 's1' });
      expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', versionId: 'forged', msg: 'the Development key holds an object not shown to be the validated image; copying it again from staging' }));
    });
  });
});
