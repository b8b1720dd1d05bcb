import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../test/helpers/memory-logger.js';
import { logFailure } from './failure-log.js';

describe('logFailure', () => {
  it('logs a registry\'s or S3\'s refusal of Orbit itself at error, the operator\'s to mend', () => {
    for (const reasonCode of ['REGISTRY_PUSH_REFUSED', 'STORE_ACCESS_DENIED', 'BUCKET_MISSING']) {
      const { logger, lines } = memoryLogger();
      logFailure(logger, { reasonCode, message: 'refused' }, 'transfer failed');
      expect(lines).toEqual([expect.objectContaining({ level: 'error', msg: 'transfer failed', reasonCode, reason: 'refused' })]);
    }
  });

  it('warns of the user\'s or the data\'s fault', () => {
    for (const reasonCode of ['SOURCE_OBJECT_MISSING', 'CHECKSUM_MISMATCH', 'STAGING_NOT_OWNED', 'UNKNOWN_ENVIRONMENT']) {
      const { logger, lines } = memoryLogger();
      logFailure(logger, { reasonCode, message: 'why' }, 'upload failed at the store stage');
      expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'upload failed at the store stage', reasonCode, reason: 'why' })]);
    }
  });
});
