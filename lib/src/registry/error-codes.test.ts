import { describe, expect, it } from 'vitest';
import { errorCodesIn, errorCodesOf, unavailableElsewhere } from './error-codes.js';
import { registrySays } from './registry-words.js';

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

  it('finds the code of a long error body as the quoting reader does, from its start (found by a review: a 20 KiB S3 AccessDenied was said with no code)', async () => {
    const body = `<Error><Code>AccessDenied</Code><Message>${'x'.repeat(20 * 1024)}</Message></Error>`;
    const declared = (): Response => new Response(body, { status: 403, headers: { 'content-length': String(body.length) } });
    const chunked = (): Response => new Response(new ReadableStream({ start(controller) { controller.enqueue(new TextEncoder().encode(body)); controller.close(); } }), { status: 403 });
    expect(await registrySays(declared())).toBe(': AccessDenied');
    expect(await errorCodesOf(declared())).toBe(': AccessDenied');
    expect(await errorCodesOf(chunked())).toBe(': AccessDenied');
    const outage = await unavailableElsewhere('registry.example', new Response(body, { status: 503 }), 'token request to auth.example');
    expect((outage.cause as Error).message).toBe('token request to auth.example: HTTP 503: AccessDenied');
  });
});
