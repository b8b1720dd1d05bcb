import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { ConsumeLoop, createKafka, createLogger, PullRefusedError, RegistryClient, retryPolicy, type KafkaMessage } from '@orbit/lib';
import { sampleEvents, type UploadRequested } from '@orbit/schemas';
import { memoryLogger } from '../../../test/helpers/memory-logger.js';
import { redirectPolicy } from './redirect-policy.js';
import { clientOf, onePlatformReason, pullDescription, stageReference } from './stage-reference.js';

describe('stageReference', () => {
  it('refuses a reference naming a link-local registry before connecting or staging anything, as it refuses a redirect there (review: the named registry went unchecked)', async () => {
    const event: UploadRequested = { ...sampleEvents('M'.repeat(60), 'req-link-local')['orbit.upload.requested'], staging: null, source: 'REFERENCE', reference: '169.254.169.254/latest/app:1' };
    const untouched = new Proxy({}, { get: () => { throw new Error('S3 was used'); } }) as S3Client;
    const checkTarget = redirectPolicy({ own: ['127.0.0.1:5050/orbit'], resolveHost: async () => [], interfaceAddresses: new Set() });
    const staged = stageReference(event, { s3: untouched, stagingBucket: 'staging', access: { insecure: new Set(), credentials: new Map() }, maxBytes: 1 << 20, checkTarget });
    await expect(staged).rejects.toBeInstanceOf(PullRefusedError);
    await expect(staged).rejects.toMatchObject({ reasonCode: 'REGISTRY_NOT_ALLOWED' });
  });

  it('says a reference to another path of Orbit\'s own registry names it, not that a registry sent Orbit there (found by a probe)', async () => {
    const event: UploadRequested = { ...sampleEvents('M'.repeat(60), 'req-own-host')['orbit.upload.requested'], staging: null, source: 'REFERENCE', reference: '127.0.0.1:5050/team-x/app:1' };
    const untouched = new Proxy({}, { get: () => { throw new Error('S3 was used'); } }) as S3Client;
    const checkTarget = redirectPolicy({ own: ['127.0.0.1:5050/orbit'], resolveHost: async () => [], interfaceAddresses: new Set() });
    const staged = stageReference(event, { s3: untouched, stagingBucket: 'staging', access: { insecure: new Set(['127.0.0.1:5050']), credentials: new Map() }, maxBytes: 1 << 20, checkTarget });
    await expect(staged).rejects.toMatchObject({ reasonCode: 'REGISTRY_NOT_ALLOWED', message: expect.stringMatching(/^the reference names 127\.0\.0\.1:5050, which is Orbit's own registry/) as unknown });
  });
});

describe('a reference no URL can name (found by a review: "[6]/af/x:1" was dead-lettered, and any user could send as many)', () => {
  const untouched = new Proxy({}, { get: () => { throw new Error('S3 was used'); } }) as S3Client;
  const access = { insecure: new Set<string>(), credentials: new Map() };

  it('is refused REFERENCE_NOT_FOUND in the gateway\'s words, before staging anything, instead of throwing a TypeError to the dead-letter queue', async () => {
    for (const reference of ['[6]/af/x:1', '[1:2:3]:5000/a:1', 'reg.5000/a:1']) {
      const event: UploadRequested = { ...sampleEvents('M'.repeat(60), 'req-no-url')['orbit.upload.requested'], staging: null, source: 'REFERENCE', reference };
      const staged = stageReference(event, { s3: untouched, stagingBucket: 'staging', access, maxBytes: 1 << 20 });
      await expect(staged, reference).rejects.toBeInstanceOf(PullRefusedError);
      await expect(staged, reference).rejects.toMatchObject({ reasonCode: 'REFERENCE_NOT_FOUND', answered: false, message: expect.stringMatching(/is not an image reference Orbit can pull: it has registry host/) as unknown });
    }
  });

  it('has a client that cannot be built refused as the reference it is for, whatever the constructor throws', () => {
    // The client itself, given a registry no URL can hold: what a reference the grammar wrongly took would build.
    const build = (): RegistryClient => new RegistryClient({ registry: '[6]', repository: 'af/x', insecure: false });
    expect(build).toThrow(TypeError);
    expect(() => clientOf('[6]/af/x:1', build)).toThrow(PullRefusedError);
    expect(() => clientOf('[6]/af/x:1', build)).toThrow(/^"\[6\]\/af\/x:1" is not an image reference Orbit can pull: it has registry host "\[6\]", which is no IPv6 literal .*: no URL can name its registry \(Invalid URL\)$/);
    const client = clientOf('[::1]:5000/af/x:1', () => new RegistryClient({ registry: '[::1]:5000', repository: 'af/x', insecure: false }));
    expect(client.base).toBe('https://[::1]:5000/v2/af/x');
  });
});

describe('onePlatformReason', () => {
  it('pulls a multi-platform image whole but from Docker Hub (by any of its names), which counts a pull per platform, unless told otherwise', () => {
    for (const hub of ['docker.io', 'registry-1.docker.io', 'index.docker.io']) expect(onePlatformReason(hub, 'except-docker-hub')).toMatch(/^Docker Hub counts a pull per platform/);
    expect(onePlatformReason('ghcr.io', 'except-docker-hub')).toBeUndefined();
    expect(onePlatformReason('docker.io', 'always')).toBeUndefined();
    expect(onePlatformReason('ghcr.io', 'never')).toBe('ORBIT_PULL_WHOLE_INDEX is never');
  });
});

describe('pullDescription', () => {
  it('has the consume loop\'s still-running warning name the reference and its registry, so an operator sees which registry holds the partition (found by a review)', async () => {
    // 1. a loop warning after 20 ms, its handler describing the upload as main.ts does; 2. a pull outlasting the warning; 3. the line
    const { logger, lines } = memoryLogger('warn');
    const event: UploadRequested = { ...sampleEvents('M'.repeat(60), 'req-slow')['orbit.upload.requested'], staging: null, source: 'REFERENCE', reference: '127.0.0.1:5793/sec2/drip:t' };
    const loop = new ConsumeLoop<UploadRequested>({
      kafka: createKafka({ clientId: 'describe-pull-test', brokers: ['127.0.0.1:1'], logger: createLogger({ service: 'test', level: 'silent' }) }), groupId: 'g', topics: ['orbit.upload.requested'], logger,
      retryPolicy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }), slowHandlerWarnMs: 20, decode: () => Promise.resolve(event),
      handler: async (message) => {
        // As main.ts's handler describes a message.
        const pulling = pullDescription(message.event.reference);
        if (pulling) message.describe?.(pulling);
        await new Promise((resolve) => setTimeout(resolve, 70));
      },
    });
    // The loop's one-message path, as a fetched batch takes it, without a broker.
    const processMessage = (loop as unknown as { processMessage(topic: string, partition: number, message: KafkaMessage): Promise<unknown> }).processMessage.bind(loop);
    await processMessage('orbit.upload.requested', 0, { offset: '3', key: null, value: Buffer.from('x'), headers: {}, timestamp: '0', attributes: 0 });
    const warning = lines.find((line) => line['msg'] === 'handler still running; its partition waits for it');
    expect(warning).toMatchObject({ doing: { reference: '127.0.0.1:5793/sec2/drip:t', registry: '127.0.0.1:5793' } });
  });

  it('says nothing for an upload of an archive', () => {
    expect(pullDescription(null)).toBeUndefined();
  });
});
