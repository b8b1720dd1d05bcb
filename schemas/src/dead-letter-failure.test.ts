import { describe, expect, it } from 'vitest';
import { PoisonMessageError, TOPICS } from '@orbit/lib';
import { deadLetterFailure } from './dead-letter-failure.js';
import { sampleEvents } from './samples.js';

const events = sampleEvents(undefined, 'req-dl-1');

describe('deadLetterFailure', () => {
  it('fails the request of an upload step a stage set aside, with the cause and where to re-drive it', () => {
    const failure = deadLetterFailure({ topic: TOPICS.imageValidated, message: { event: events['orbit.image.validated'] }, error: new TypeError('boom') }, 'harbor-writer');
    expect(failure).toMatchObject({
      pid: 'c8bms06-c20bre24-911', requestId: 'req-dl-1', flow: 'upload', stage: 'harbor-writer', reasonCode: 'DEAD_LETTERED',
      failedEventId: events['orbit.image.validated'].eventId, correlationId: 'req-dl-1', imageUID: events['orbit.image.validated'].imageUID,
      imageVersion: events['orbit.image.validated'].metadata.imageVersion,
    });
    expect(failure?.message).toContain('TypeError: boom');
    expect(failure?.message).toContain('orbit.image.validated.dlq');
  });

  it('gives the HTTP status of a store that answered with nothing else', () => {
    // As the S3 client of aws.ts leaves a refused HEAD: no words, the status, and the call it recorded.
    const s3Error = Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 400 }, awsCall: 'HeadObject s3://Bad_Bucket/k.tar' });
    expect(deadLetterFailure({ topic: TOPICS.imageValidated, message: { event: events['orbit.image.validated'] }, error: s3Error }, 'harbor-writer')?.message)
      .toContain('(HTTP_400: HeadObject s3://Bad_Bucket/k.tar: HTTP 400 Bad Request, without an error body)');
  });

  it('fails a transfer as a transfer, and names an Orbit error by its code', () => {
    const failure = deadLetterFailure({ topic: TOPICS.imageCopied, message: { event: events['orbit.image.copied'] }, error: new PoisonMessageError({ topic: TOPICS.imageCopied, partition: 0, offset: '3' }, new Error('bad row')) }, 'chart-generator');
    expect(failure).toMatchObject({ pid: 'c8bms18-c20bre24-911', flow: 'transfer', requestId: events['orbit.image.copied'].requestId, imageVersion: events['orbit.image.copied'].imageVersion });
    expect(failure?.message).toContain('ORBIT_ERR_POISON_MESSAGE');
  });

  it('has nothing to say for an undecodable message, a ViewportUpdated or a failure', () => {
    expect(deadLetterFailure({ topic: TOPICS.imageStored, message: undefined, error: new Error('x') }, 'chart-generator')).toBeUndefined();
    expect(deadLetterFailure({ topic: TOPICS.viewportUpdated, message: { event: events['orbit.viewport.updated'] }, error: new Error('x') }, 'x')).toBeUndefined();
    expect(deadLetterFailure({ topic: TOPICS.pipelineFailed, message: { event: events['orbit.pipeline.failed'] }, error: new Error('x') }, 'viewport-projector')).toBeUndefined();
    expect(deadLetterFailure({ topic: TOPICS.imageRejected, message: { event: events['orbit.image.rejected'] }, error: new Error('x') }, 'viewport-projector')).toBeUndefined();
  });
});
