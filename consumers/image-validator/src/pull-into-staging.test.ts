import { RegistryUnavailableError } from '@orbit/lib';
import { describe, expect, it, vi } from 'vitest';
import { causeChain, pullIntoStaging, worthWaitingFor } from './pull-into-staging.js';
import { RegistryOutages } from './registry-outages.js';

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

describe('pullIntoStaging', () => {
  it('refuses what is no reference REFERENCE_NOT_FOUND, saying why, before pulling or remembering it as a registry (found by a review: "[6]/af/x:1" was dead-lettered)', async () => {
    const pull = vi.fn(async () => ({ bucket: 'staging', key: 'k', versionId: null }));
    const registryOutages = new RegistryOutages(60_000);
    for (const reference of ['[6]/af/x:1', 'reg.5000/a:1', 'not a reference']) {
      const result = await pullIntoStaging(reference, pull, { registryOutages, allowedRegistries: ['harbor.corp.example'] });
      expect(result, reference).toMatchObject({ kind: 'refused', reasonCode: 'REFERENCE_NOT_FOUND', message: expect.stringMatching(/^".*" is not an image reference Orbit can pull: it .*; nothing was fetched$/) as unknown });
    }
    expect(pull).not.toHaveBeenCalled();
    expect(registryOutages.answeredLately('[6]/af/x:1')).toBe(false);
  });

  it('remembers a registry at an IPv6 literal under every spelling of it: one outage, one rate limit, one allowlist entry (found by a review: [0:0::1]:5050 and [::1]:5050 were two registries)', async () => {
    const registryOutages = new RegistryOutages(60_000);
    const refusedConnection = vi.fn(async (): Promise<never> => { throw new RegistryUnavailableError('[::1]:5050', new TypeError('fetch failed')); });
    const first = await pullIntoStaging('[0:0::1]:5050/x/y:1', refusedConnection, { registryOutages });
    expect(first).toMatchObject({ kind: 'refused', reasonCode: 'REGISTRY_UNAVAILABLE', message: expect.stringContaining('Orbit has not pulled from [::1]:5050 lately') as unknown });
    const pull = vi.fn(async () => ({ bucket: 'staging', key: 'k', versionId: null }));
    for (const spelling of ['[::1]:5050/x/y:1', '[::0001]:5050/x/y:1', '[0000:0:0:0:0:0:0:1]:05050/other:2']) {
      const again = await pullIntoStaging(spelling, pull, { registryOutages });
      expect(again, spelling).toMatchObject({ kind: 'refused', reasonCode: 'REGISTRY_UNAVAILABLE', message: expect.stringMatching(/^registry \[::1\]:5050 did not answer at /) as unknown });
    }
    expect(pull).not.toHaveBeenCalled();
    const allowed = await pullIntoStaging('[FD00:0:0:0:0:0:0:5]:5000/x:1', pull, { allowedRegistries: ['[fd00::5]:5000'] });
    expect(allowed).toMatchObject({ kind: 'staged' });
  });
});
