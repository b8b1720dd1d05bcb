import { Writable } from 'node:stream';
import { CopyObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createLogger, type RegistryAccess } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/helpers/index.js';
import { memoryLogger } from '../../../test/helpers/memory-logger.js';
import { pushMetrics } from './registry-push/push-metrics.js';
import { storeValidatedImage } from './store-image.js';
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
});
