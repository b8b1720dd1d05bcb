import { describe, expect, it } from 'vitest';
import { errorCodesIn, errorCodesOf } from './error-codes.js';

describe('errorCodesIn: another host\'s error by its code alone', () => {
  it('takes the spec\'s, OAuth2\'s and S3\'s codes, never a message, and no sentence passed off as a code', () => {
    expect(errorCodesIn(JSON.stringify({ errors: [{ code: 'DENIED', message: 'secret' }, { code: 'UNAUTHORIZED' }, { code: 'DENIED' }] }))).toEqual(['DENIED', 'UNAUTHORIZED']);
    expect(errorCodesIn(JSON.stringify({ error: 'invalid_grant', error_description: 'secret' }))).toEqual(['invalid_grant']);
    expect(errorCodesIn('<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>secret</Message></Error>')).toEqual(['AccessDenied']);
    for (const body of [JSON.stringify({ error: 'the database password is hunter2' }), JSON.stringify({ message: 'secret', error_code: 40401 }), 'secret', '<html>secret</html>', 'null', '"DENIED"']) {
      expect(errorCodesIn(body), body).toEqual([]);
    }
    expect(errorCodesIn(JSON.stringify({ errors: ['A', 'B', 'C', 'D'].map((code) => ({ code })) }))).toEqual(['A', 'B', 'C']);
  });

  it('reads a body as an answer\'s status would be followed: `: CODE`, or nothing', async () => {
    expect(await errorCodesOf(new Response('{"errors":[{"code":"DENIED","message":"m"}]}', { status: 403 }))).toBe(': DENIED');
    expect(await errorCodesOf(new Response('x'.repeat(20_000), { status: 403 }))).toBe('');
  });
});
