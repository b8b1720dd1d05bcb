import { describe, expect, it } from 'vitest';
import { DecodeError } from './errors.js';
import { describeError, errorCodeOf } from './error-description.js';

/** An S3 error as the SDK throws it for an answer without a body (every HEAD's). */
const bareS3Answer = (status: number, extra: object = {}) =>
  Object.assign(new Error('UnknownError'), { name: 'Unknown', $fault: 'client', $metadata: { httpStatusCode: status, requestId: '18ED1B59F7A672B7' }, ...extra });

describe('errorCodeOf', () => {
  it('names a store answer without words by its HTTP status, anything else by its code or name', () => {
    expect(errorCodeOf(bareS3Answer(400))).toBe('HTTP_400');
    expect(errorCodeOf(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }))).toBe('NoSuchKey');
    expect(errorCodeOf(Object.assign(new Error('Data too long'), { code: 'ER_DATA_TOO_LONG' }))).toBe('ER_DATA_TOO_LONG');
    expect(errorCodeOf(new DecodeError('t', new TypeError('bad')))).toBe('ORBIT_ERR_DECODE');
    expect(errorCodeOf(new TypeError('x'))).toBe('TypeError');
    expect(errorCodeOf('a string')).toBe('UnknownError');
  });
});

describe('describeError', () => {
  it('writes no secret a driver quotes back, and follows an AggregateError into its first error (Node connecting to every address of a name)', () => {
    const described = describeError(new Error('cannot reach mysql://orbit:hunter2@db:3306/viewport', { cause: new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:3306'), { code: 'ECONNREFUSED' })], 'connect failed') }));
    expect(described).not.toContain('hunter2');
    expect(described).toContain('mysql://orbit:[redacted]@db:3306/viewport');
    expect(described).toMatch(/<- AggregateError: connect failed <- Error: connect ECONNREFUSED ::1:3306$/);
  });

  it('says what call a bare S3 refusal came from, its status in words and the store\'s request id', () => {
    expect(describeError(bareS3Answer(400, { awsCall: 'HeadObject s3://Bad_Bucket/a.tar' })))
      .toBe('HeadObject s3://Bad_Bucket/a.tar: HTTP 400 Bad Request, without an error body [request 18ED1B59F7A672B7]');
    expect(describeError(bareS3Answer(403))).toBe('HTTP 403 Forbidden, without an error body [request 18ED1B59F7A672B7]');
  });

  it('keeps an S3 error\'s own words and adds its status', () => {
    const noSuchBucket = Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 }, awsCall: 'CopyObject s3://t/k from s/k' });
    expect(describeError(noSuchBucket)).toBe('CopyObject s3://t/k from s/k: NoSuchBucket: The specified bucket does not exist (HTTP 404)');
  });

  it('follows causes, and cuts a long chain to its length', () => {
    const error = new Error('store failed', { cause: new Error('socket hang up', { cause: bareS3Answer(503) }) });
    expect(describeError(error)).toBe('Error: store failed <- Error: socket hang up <- HTTP 503 Service Unavailable, without an error body [request 18ED1B59F7A672B7]');
    expect(describeError(new Error('x'.repeat(5000)), 100)).toHaveLength(100);
  });

  it('cuts on a character, never inside an emoji (found by a review: a lone \\ud83d in a 400 broke strict JSON readers)', () => {
    // "Error: " is 7 units: the cut at 100 falls inside the 47th emoji, the one at 101 after it.
    expect(describeError(new Error('\u{1F600}'.repeat(100)), 100)).toBe(`Error: ${'\u{1F600}'.repeat(46)}`);
    expect(describeError(new Error('\u{1F600}'.repeat(100)), 101)).toBe(`Error: ${'\u{1F600}'.repeat(47)}`);
  });
});
