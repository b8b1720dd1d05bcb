import { RegistryUnavailableError } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { causeChain, worthWaitingFor } from './pull-into-staging.js';

describe('causeChain', () => {
  it('says every message down the cause chain, five at most, and "unavailable" when there is none', () => {
    const outage = new RegistryUnavailableError('ghcr.io', new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 1.2.3.4:443') }));
    expect(causeChain(outage)).toBe('registry ghcr.io is unavailable: fetch failed: connect ECONNREFUSED 1.2.3.4:443');
    let deep: Error = new Error('6');
    for (const message of ['5', '4', '3', '2', '1']) deep = new Error(message, { cause: deep });
    expect(causeChain(deep)).toBe('1: 2: 3: 4: 5');
    expect(causeChain('not an error')).toBe('unavailable');
  });
});

describe('worthWaitingFor', () => {
  const seenLately = { probing: false, patienceLeftMs: 30_000, answeredLately: true };

  it('waits for a registry that answered (5xx) or answered lately, and for none while probing', () => {
    expect(worthWaitingFor({ answered: true, rateLimit: undefined }, { ...seenLately, answeredLately: false })).toBe(true);
    expect(worthWaitingFor({ answered: false, rateLimit: undefined }, seenLately)).toBe(true);
    expect(worthWaitingFor({ answered: false, rateLimit: undefined }, { ...seenLately, answeredLately: false })).toBe(false);
    expect(worthWaitingFor({ answered: true, rateLimit: undefined }, { ...seenLately, probing: true })).toBe(false);
  });

  it('waits out a rate limit only when what it asks for fits in the patience left (one that names no time does not)', () => {
    expect(worthWaitingFor({ answered: true, rateLimit: { retryAfterMs: 5_000 } }, seenLately)).toBe(true);
    expect(worthWaitingFor({ answered: true, rateLimit: { retryAfterMs: 5_000 } }, { ...seenLately, patienceLeftMs: 4_999 })).toBe(false);
    expect(worthWaitingFor({ answered: true, rateLimit: { retryAfterMs: undefined } }, seenLately)).toBe(false);
  });
});
