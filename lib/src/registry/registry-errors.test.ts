import { describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { RegistryUnavailableError, retryAfterMs } from './registry-errors.js';

describe('a registry that limits its clients (429)', () => {
  it('is unavailable, saying what the registry wrote and how long it asks to wait (seconds or a date)', async () => {
    const limited = (retryAfter: string | undefined): typeof fetch => async () => new Response(
      '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}',
      { status: 429, headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter } },
    );
    const failureOf = (fake: typeof fetch): Promise<unknown> => new RegistryClient({ registry: 'registry.test', repository: 'library/nginx', insecure: false, fetch: fake }).get('/manifests/1.27').catch((error: unknown) => error);
    const failure = await failureOf(limited('120'));
    expect(failure).toBeInstanceOf(RegistryUnavailableError);
    expect(failure).toMatchObject({ answered: true, rateLimit: { retryAfterMs: 120_000 } });
    expect(((failure as Error).cause as Error).message).toBe('registry.test/library/nginx:1.27: HTTP 429: TOOMANYREQUESTS: You have reached your pull rate limit.');
    expect(await failureOf(limited(undefined))).toMatchObject({ rateLimit: { retryAfterMs: undefined } });
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT'))).toBe(60_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    // A 503 is an outage, not a limit.
    const busy: typeof fetch = async () => new Response('down for maintenance', { status: 503 });
    expect(await failureOf(busy)).toMatchObject({ rateLimit: undefined });
  });
});
