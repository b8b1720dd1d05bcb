import { describe, expect, it } from 'vitest';
import { failedTransferOf, type TransferClaim } from './leftover-copies.js';

const chain = ['Development', 'Testing', 'Staging', 'Production'] as const;
const claim = (target: string, status: string | null, errorCode: string | null = null): TransferClaim => ({ target, requestId: `req-${target}-${status ?? 'unknown'}`, status, errorCode });

describe('failedTransferOf', () => {
  it('names the transfer into the copy\'s environment that failed for good', () => {
    const failed = claim('Testing', 'failed', 'CHART_ROW');
    expect(failedTransferOf({ environment: 'Testing' }, [failed], chain)).toBe(failed);
    // A transfer into an earlier environment, or one that failed too, reads nothing from it.
    expect(failedTransferOf({ environment: 'Staging' }, [claim('Staging', 'failed', 'REGISTRY_PUSH_REFUSED'), claim('Testing', 'succeeded'), claim('Production', 'failed', 'CHART_NOT_FOUND')], chain)?.requestId)
      .toBe('req-Staging-failed');
  });

  it('takes no copy whose transfer is done, under way, unknown to ViewPort, dead-lettered, or missing', () => {
    for (const status of ['succeeded', 'accepted', 'running', null]) expect(failedTransferOf({ environment: 'Testing' }, [claim('Testing', status)], chain)).toBeUndefined();
    // A dead-lettered request may still finish from its letter (dlq:redrive), and then needs its copy.
    expect(failedTransferOf({ environment: 'Testing' }, [claim('Testing', 'failed', 'DEAD_LETTERED')], chain)).toBeUndefined();
    expect(failedTransferOf({ environment: 'Testing' }, [claim('Staging', 'failed', 'CHART_ROW')], chain)).toBeUndefined();
  });

  it('keeps a copy a later transfer of the version (into an environment after it, or one the chain no longer holds) may read as its source', () => {
    const failed = claim('Testing', 'failed', 'CHART_ROW');
    expect(failedTransferOf({ environment: 'Testing' }, [failed, claim('Staging', 'running')], chain)).toBeUndefined();
    expect(failedTransferOf({ environment: 'Testing' }, [failed, claim('Production', 'succeeded')], chain)).toBeUndefined();
    expect(failedTransferOf({ environment: 'Testing' }, [failed, claim('Staging', 'failed', 'DEAD_LETTERED')], chain)).toBeUndefined();
    expect(failedTransferOf({ environment: 'Testing' }, [failed, claim('Staging', 'running')], ['Development', 'Staging', 'Production'])).toBeUndefined();
    expect(failedTransferOf({ environment: 'Testing' }, [failed, claim('Sandbox', 'running')], chain)).toBeUndefined();
  });
});
