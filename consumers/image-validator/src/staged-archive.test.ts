import { describe, expect, it } from 'vitest';
import { checksumMismatch } from './staged-archive.js';

describe('checksumMismatch', () => {
  it('says a streamed archive differs from what the gateway hashed, and a presigned one from what its completion pinned, and what to do', () => {
    expect(checksumMismatch({ source: 'ARCHIVE', sha256: 'a'.repeat(64) }, 'b'.repeat(64))).toBe(`the staged archive hashes to ${'b'.repeat(64)} but the upload hashed to ${'a'.repeat(64)}`);
    const presigned = checksumMismatch({ source: 'PRESIGNED', sha256: 'a'.repeat(64) }, 'b'.repeat(64));
    expect(presigned).toMatch(new RegExp(`^the staged archive hashes to sha256 b{64}, but the completion gave sha256 a{64}`));
    expect(presigned).toMatch(/PUT the archive again \(an upload in parts, whose parts were put together: presign it under a new Idempotency-Key\), or complete with its sha256$/);
  });
});
