import { describe, expect, it } from 'vitest';
import { environmentOrThrow } from './environment-param.js';
import { RequestRefusedError } from './errors.js';
import { decideTransfer } from './transfer-rules.js';

describe('environmentOrThrow', () => {
  it('takes an environment in any letter case', () => {
    expect(['testing', 'TESTING', 'Testing'].map((name) => environmentOrThrow(name, 'querystring.environment'))).toEqual(['Testing', 'Testing', 'Testing']);
  });

  it('refuses a name no environment has as a transfer does, 400 UNKNOWN_ENVIRONMENT, not ORBIT_ERR_BAD_REQUEST (found by a review)', () => {
    const refusal = (() => {
      try {
        environmentOrThrow('Moon', 'params.environment');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(RequestRefusedError);
    const message = 'environment must be one of Development, Testing, Staging, Production, not "Moon"';
    expect(refusal).toMatchObject({ statusCode: 400, code: 'UNKNOWN_ENVIRONMENT', message, problems: [{ field: 'params.environment', message }] });
    const transfer = decideTransfer(
      { imageUID: 'U'.repeat(60), owner: 'dev1', imageName: 'billing', description: '', environments: ['Development'], versions: [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development'] }] },
      { username: 'dev1', roles: [] }, { imageVersion: 'v1-0-00', transferEnvironment: 'Moon' },
      { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map() },
    );
    expect(transfer).toMatchObject({ status: 400, code: 'UNKNOWN_ENVIRONMENT', message: 'transferEnvironment must be one of Testing, Staging, Production, not "Moon"' });
  });
});
