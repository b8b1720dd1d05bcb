import { describe, expect, it } from 'vitest';
import { tokenUserOf } from './token-arguments.js';

describe('tokenUserOf', () => {
  it('takes one user name the gateway accepts', () => {
    expect(tokenUserOf(['dev1'])).toEqual({ username: 'dev1' });
    expect(tokenUserOf(['Ada Lovelace'])).toEqual({ username: 'Ada Lovelace' });
  });

  it('refuses a name the gateway would refuse in the token, by its own rule (found by a review: a token the gateway answered with 401)', () => {
    expect(tokenUserOf([' bad'])).toEqual({ refused: expect.stringContaining('with white space at an end') });
    expect(tokenUserOf(['bad\t'])).toEqual({ refused: expect.stringContaining('with white space at an end') });
    expect(tokenUserOf(['a\u0007b'])).toEqual({ refused: expect.stringContaining('control character') });
    expect(tokenUserOf(['x'.repeat(256)])).toEqual({ refused: expect.stringContaining('at most 255') });
    expect(tokenUserOf([''])).toEqual({ refused: expect.stringContaining('empty') });
    for (const name of [' bad', 'a\u0007b']) {
      const outcome = tokenUserOf([name]);
      expect('refused' in outcome && outcome.refused).not.toContain('\n');
    }
  });

  it('refuses no name and more than one, instead of dropping the rest', () => {
    expect(tokenUserOf([])).toEqual({ refused: expect.stringMatching(/^usage: /) });
    expect(tokenUserOf(['dev1', 'dev2'])).toEqual({ refused: expect.stringContaining('one user name at a time, not "dev1" "dev2"') });
  });
});
