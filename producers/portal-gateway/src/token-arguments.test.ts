import { describe, expect, it } from 'vitest';
import { tokenRolesOf, tokenUserOf } from './token-arguments.js';
import type { TransferPolicy } from './transfer-rules.js';

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

describe('tokenRolesOf', () => {
  const defaults: TransferPolicy = { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Production', 'release-manager']]) };

  it('takes the roles some environment of the chain needs, and none', () => {
    expect(tokenRolesOf(['release-manager'], defaults)).toEqual({ roles: ['release-manager'] });
    expect(tokenRolesOf([], defaults)).toEqual({ roles: [] });
    const guarded: TransferPolicy = { ...defaults, roles: new Map([['Staging', 'qa'], ['Production', 'release-manager']]) };
    expect(tokenRolesOf(['qa', 'release-manager'], guarded)).toEqual({ roles: ['qa', 'release-manager'] });
  });

  it('refuses a role no environment needs, naming the roles that exist (found by a review: --role release-manger signed a token the gateway answered ROLE_REQUIRED)', () => {
    expect(tokenRolesOf(['release-manger'], defaults)).toEqual({ refused: 'no environment of the chain (ORBIT_ENVIRONMENT_CHAIN, ORBIT_TRANSFER_ROLES) needs the role "release-manger": the roles that exist are release-manager' });
    expect(tokenRolesOf(['release-manager', 'admin'], defaults)).toEqual({ refused: expect.stringContaining('needs the role "admin"') });
  });

  it('refuses the role of an environment the chain leaves out, as the gateway never reads it', () => {
    const noStaging: TransferPolicy = { chain: ['Development', 'Testing', 'Production'], roles: new Map([['Staging', 'qa']]) };
    expect(tokenRolesOf(['qa'], noStaging)).toEqual({ refused: expect.stringContaining('"qa": no environment of the chain needs a role') });
  });
});
