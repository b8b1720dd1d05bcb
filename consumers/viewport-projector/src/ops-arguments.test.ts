import { describe, expect, it } from 'vitest';
import { viewportCommandOf } from './ops-arguments.js';

describe('viewportCommandOf', () => {
  it('takes rebuild with or without --restore-requests, and checksum alone', () => {
    expect(viewportCommandOf(['rebuild'], {})).toEqual({ kind: 'rebuild', restoreRequests: false });
    expect(viewportCommandOf(['rebuild'], { 'restore-requests': true })).toEqual({ kind: 'rebuild', restoreRequests: true });
    expect(viewportCommandOf(['checksum'], {})).toEqual({ kind: 'checksum' });
  });

  it('refuses a word past the command and --restore-requests on checksum, saying which (found by a review: exit 0, or the usage line alone)', () => {
    expect(viewportCommandOf(['checksum', 'extra'], {})).toEqual({ refused: expect.stringMatching(/^Unexpected argument 'extra'\nusage: /) });
    expect(viewportCommandOf(['rebuild', 'now'], {})).toEqual({ refused: expect.stringContaining("Unexpected argument 'now'") });
    expect(viewportCommandOf(['checksum'], { 'restore-requests': true })).toEqual({ refused: expect.stringMatching(/^--restore-requests goes with viewport:rebuild only\nusage: /) });
    expect(viewportCommandOf([], {})).toEqual({ refused: expect.stringMatching(/^usage: /) });
    expect(viewportCommandOf(['purge'], {})).toEqual({ refused: expect.stringMatching(/^usage: /) });
  });
});
