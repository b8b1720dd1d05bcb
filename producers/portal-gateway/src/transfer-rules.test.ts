import { describe, expect, it } from 'vitest';
import type { ImageView } from './ports.js';
import { decideTransfer, differingAsk, promotionAwaited, type TransferPolicy } from './transfer-rules.js';

const policy: TransferPolicy = { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Production', 'release-manager']]) };
const dev = { username: 'dev1', roles: [] as string[] };

function image(environments: string[], status = 'ready', owner = 'dev1'): ImageView {
  return { imageUID: 'U'.repeat(60), owner, imageName: 'billing', description: '', environments, versions: [{ imageVersion: 'v1-0-00', status, environments }] };
}

describe('decideTransfer', () => {
  it('promotes a ready Development version to Testing', () => {
    expect(decideTransfer(image(['Development']), dev, { imageVersion: 'v1-0-00', transferEnvironment: 'testing' }, policy)).toEqual({ kind: 'transfer', source: 'Development', target: 'Testing' });
  });

  it('answers 404 for an unknown or foreign image and an unknown version', () => {
    expect(decideTransfer(undefined, dev, { imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, policy)).toMatchObject({ status: 404, code: 'IMAGE_NOT_FOUND' });
    expect(decideTransfer(image(['Development'], 'ready', 'mallory'), dev, { imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, policy)).toMatchObject({ status: 404, code: 'IMAGE_NOT_FOUND' });
    expect(decideTransfer(image(['Development']), dev, { imageVersion: 'v2', transferEnvironment: 'Testing' }, policy)).toMatchObject({ status: 404, code: 'VERSION_NOT_FOUND' });
  });

  it('says "not yet" (409) for the caller\'s own version still being uploaded, new image or new version, and 404 for anyone else', () => {
    const uploading = { requestId: 'a0000000-0000-4000-8000-0000000000aa' };
    const ask = { imageVersion: 'v2-0-00', transferEnvironment: 'Testing' };
    for (const found of [undefined, image(['Development'])]) {
      const decision = decideTransfer(found, dev, ask, policy, uploading);
      expect(decision).toMatchObject({ status: 409, code: 'NOT_IN_SOURCE_ENVIRONMENT' });
      expect(decision.kind === 'refused' && decision.message).toContain(uploading.requestId);
    }
    // The other rules still come first: the target is checked as for any version.
    expect(decideTransfer(undefined, dev, { ...ask, transferEnvironment: 'Narnia' }, policy, uploading)).toMatchObject({ status: 400, code: 'UNKNOWN_ENVIRONMENT' });
    expect(decideTransfer(undefined, dev, { ...ask, transferEnvironment: 'Production' }, policy, uploading)).toMatchObject({ status: 403, code: 'ROLE_REQUIRED' });
    // Someone else's image stays unknown to the caller.
    expect(decideTransfer(image(['Development'], 'ready', 'mallory'), dev, ask, policy, uploading)).toMatchObject({ status: 404, code: 'IMAGE_NOT_FOUND' });
  });

  it('names the upload under way for a version ViewPort holds but whose upload has not finished (found by a probe: the 409 named it, then named nothing once the version was validated)', () => {
    const uploading = { requestId: 'a0000000-0000-4000-8000-0000000000ab' };
    const ask = { imageVersion: 'v1-0-00', transferEnvironment: 'Testing' };
    for (const notReady of [image(['Development'], 'stored'), image([], 'validated')]) {
      const decision = decideTransfer(notReady, dev, ask, policy, uploading);
      expect(decision).toMatchObject({ status: 409, code: 'NOT_IN_SOURCE_ENVIRONMENT' });
      expect(decision.kind === 'refused' && decision.message).toContain(`still being uploaded (request ${uploading.requestId})`);
    }
    // Another upload of a version ready already (it will fail ALREADY_STORED) holds nothing up.
    expect(decideTransfer(image(['Development']), dev, ask, policy, uploading)).toEqual({ kind: 'transfer', source: 'Development', target: 'Testing' });
    // Past the first environment the upload is not what the promotion waits for.
    expect(decideTransfer(image(['Development'], 'stored'), dev, { ...ask, transferEnvironment: 'Staging' }, policy, uploading)).toMatchObject({ code: 'SKIPS_ENVIRONMENT' });
  });

  it('refuses a version not ready in the source (409), a skipped environment (409) and an unknown one (400)', () => {
    expect(decideTransfer(image(['Development'], 'stored'), dev, { imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, policy)).toMatchObject({ status: 409, code: 'NOT_IN_SOURCE_ENVIRONMENT' });
    expect(decideTransfer(image(['Development']), dev, { imageVersion: 'v1-0-00', transferEnvironment: 'Staging' }, policy)).toMatchObject({ status: 409, code: 'SKIPS_ENVIRONMENT' });
    expect(decideTransfer(image(['Development']), dev, { imageVersion: 'v1-0-00', transferEnvironment: 'Narnia' }, policy)).toMatchObject({
      status: 400, code: 'UNKNOWN_ENVIRONMENT', message: 'transferEnvironment must be one of Testing, Staging, Production, not "Narnia"',
    });
    expect(decideTransfer(image(['Development']), dev, { imageVersion: 'v1-0-00', transferEnvironment: 'Development' }, policy)).toMatchObject({ status: 409, code: 'NOT_A_PROMOTION' });
  });

  it('needs the target role (403) and says a done promotion is done', () => {
    const staged = image(['Development', 'Testing', 'Staging']);
    expect(decideTransfer(staged, dev, { imageVersion: 'v1-0-00', transferEnvironment: 'Production' }, policy)).toMatchObject({ status: 403, code: 'ROLE_REQUIRED' });
    expect(decideTransfer(staged, { username: 'dev1', roles: ['release-manager'] }, { imageVersion: 'v1-0-00', transferEnvironment: 'Production' }, policy)).toEqual({ kind: 'transfer', source: 'Staging', target: 'Production' });
    expect(decideTransfer(staged, dev, { imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, policy)).toEqual({ kind: 'done', target: 'Testing', requestId: null });
  });

  it('names, for a done promotion, the request ViewPort records as having promoted it into that target', () => {
    const first = 'a0000000-0000-4000-8000-0000000000d1';
    const promoted: ImageView = {
      ...image(['Development', 'Testing']),
      versions: [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing'], promotions: { Testing: { requestId: first, promotedBy: 'dev1' } } }],
    };
    expect(decideTransfer(promoted, dev, { imageVersion: 'v1-0-00', transferEnvironment: 'testing' }, policy)).toEqual({ kind: 'done', target: 'Testing', requestId: first });
  });

  it('lets a holder of the target\'s role promote another user\'s image into that target, and nowhere else', () => {
    const staged = image(['Development', 'Testing', 'Staging']);
    const releaseManager = { username: 'rm1', roles: ['release-manager'] };
    expect(decideTransfer(staged, releaseManager, { imageVersion: 'v1-0-00', transferEnvironment: 'Production' }, policy)).toEqual({ kind: 'transfer', source: 'Staging', target: 'Production' });
    // No role opens Testing: someone else's image stays unknown there, as it does to a plain developer for Production.
    expect(decideTransfer(image(['Development']), releaseManager, { imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, policy)).toMatchObject({ status: 404, code: 'IMAGE_NOT_FOUND' });
    expect(decideTransfer(staged, { username: 'dev2', roles: [] }, { imageVersion: 'v1-0-00', transferEnvironment: 'Production' }, policy)).toMatchObject({ status: 404, code: 'IMAGE_NOT_FOUND' });
    // An image the release manager reads (it is in Staging) is no unknown image for a target no role opens: 403, saying who may (found by a probe).
    for (const transferEnvironment of ['Staging', 'testing']) {
      expect(decideTransfer(staged, releaseManager, { imageVersion: 'v1-0-00', transferEnvironment }, policy)).toMatchObject({ status: 403, code: 'ROLE_REQUIRED', message: expect.stringMatching(/^only the owner of .* promotes it into (Staging|Testing)/) as unknown });
    }
    // A name no environment has is the ask's fault for them as for the owner: 400, not "no such image" (found by a review).
    expect(decideTransfer(staged, releaseManager, { imageVersion: 'v1-0-00', transferEnvironment: 'Prod' }, policy)).toMatchObject({ status: 400, code: 'UNKNOWN_ENVIRONMENT' });
    // Into the chain's first environment no one promotes, the owner neither: the owner's answer, not "only the owner promotes it" (found by a review).
    const intoDevelopment = { imageVersion: 'v1-0-00', transferEnvironment: 'development' };
    expect(decideTransfer(staged, releaseManager, intoDevelopment, policy)).toEqual(decideTransfer(staged, dev, intoDevelopment, policy));
    expect(decideTransfer(staged, releaseManager, intoDevelopment, policy)).toEqual({
      kind: 'refused', status: 409, code: 'NOT_A_PROMOTION', message: 'Development is where images start; transfer to Testing',
    });
    // A version still in Development is unknown to the release manager, as it is to their reads: 404, not 409.
    const twoVersions: ImageView = { ...staged, versions: [...staged.versions, { imageVersion: 'v1-0-01', status: 'ready', environments: ['Development'] }] };
    expect(decideTransfer(twoVersions, releaseManager, { imageVersion: 'v1-0-01', transferEnvironment: 'Production' }, policy)).toMatchObject({ status: 404, code: 'VERSION_NOT_FOUND' });
  });

  it('tells a caller who reads another user\'s image through a role (qa, Staging) that promoting it into Production needs the release-manager role (403), not that there is no such image', () => {
    const guarded: TransferPolicy = { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Staging', 'qa'], ['Production', 'release-manager']]) };
    const staged = image(['Development', 'Testing', 'Staging']);
    const tester = { username: 'qa1', roles: ['qa'] };
    expect(decideTransfer(staged, tester, { imageVersion: 'v1-0-00', transferEnvironment: 'Production' }, guarded)).toEqual({
      kind: 'refused', status: 403, code: 'ROLE_REQUIRED', message: 'promoting into Production needs the release-manager role',
    });
    // Into Staging, which their role opens, they promote it; someone reading nothing of it is still told it is unknown.
    expect(decideTransfer(image(['Development', 'Testing']), tester, { imageVersion: 'v1-0-00', transferEnvironment: 'Staging' }, guarded)).toEqual({ kind: 'transfer', source: 'Testing', target: 'Staging' });
    expect(decideTransfer(staged, { username: 'dev2', roles: [] }, { imageVersion: 'v1-0-00', transferEnvironment: 'Production' }, guarded)).toMatchObject({ status: 404, code: 'IMAGE_NOT_FOUND' });
  });

  it('tells a holder of the target\'s role of the promotion under way into its source, for a version it sees only once that lands (found by a README walk: 404 "has no version")', () => {
    const manager = { username: 'rm1', roles: ['release-manager'] };
    const promoting = { requestId: 'a0000000-0000-4000-8000-0000000000ac', environment: 'Staging' as const };
    const ask = { imageVersion: 'v2-0-00', transferEnvironment: 'Production' };
    // As imageToDecide hands another owner's image over: the versions the caller sees (none here), the owner kept.
    const hidden = { ...image(['Staging'], 'ready', 'dev1'), versions: [] };
    const decision = decideTransfer(hidden, manager, ask, policy, undefined, promoting);
    expect(decision).toMatchObject({ status: 409, code: 'NOT_IN_SOURCE_ENVIRONMENT' });
    expect(decision.kind === 'refused' && decision.message).toBe(`v2-0-00 is still being promoted into Staging (request ${promoting.requestId}); it can be promoted into Production once that request succeeds`);
    expect(promotionAwaited({ kind: 'refused', status: 404, code: 'IMAGE_NOT_FOUND', message: '' }, hidden, manager, ask, policy)).toBe('Staging');
    // Into another environment than the source, to someone without the role, or asked into a target the role is not for: as before.
    expect(decideTransfer(hidden, manager, ask, policy, undefined, { ...promoting, environment: 'Testing' })).toMatchObject({ status: 404, code: 'IMAGE_NOT_FOUND' });
    expect(decideTransfer(hidden, { username: 'qa1', roles: [] }, ask, policy, undefined, promoting)).toMatchObject({ status: 404, code: 'IMAGE_NOT_FOUND' });
    expect(promotionAwaited({ kind: 'refused', status: 404, code: 'IMAGE_NOT_FOUND', message: '' }, hidden, { username: 'qa1', roles: [] }, ask, policy)).toBeUndefined();
    expect(promotionAwaited({ kind: 'refused', status: 404, code: 'VERSION_NOT_FOUND', message: '' }, hidden, manager, { ...ask, transferEnvironment: 'Staging' }, policy)).toBeUndefined();
    // The owner sees every version: a 404 of theirs is a version that does not exist, with nothing to look up.
    expect(promotionAwaited({ kind: 'refused', status: 404, code: 'VERSION_NOT_FOUND', message: '' }, image(['Staging']), { username: 'dev1', roles: ['release-manager'] }, ask, policy)).toBeUndefined();
  });

  it('follows a configured chain', () => {
    const short: TransferPolicy = { chain: ['Development', 'Production'], roles: new Map() };
    expect(decideTransfer(image(['Development']), dev, { imageVersion: 'v1-0-00', transferEnvironment: 'Production' }, short)).toEqual({ kind: 'transfer', source: 'Development', target: 'Production' });
    expect(decideTransfer(image(['Development']), dev, { imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }, short)).toMatchObject({ status: 400 });
  });
});

describe('differingAsk', () => {
  const ask = { imageUID: 'U'.repeat(60), imageVersion: 'v1-0-00', targetEnvironment: 'Testing', notes: 'rc1' };

  it('names each field a transfer sent again under one key asks for otherwise, and none for the same ask', () => {
    expect(differingAsk(ask, { ...ask })).toEqual([]);
    expect(differingAsk(ask, { ...ask, imageVersion: 'v2-0-00', targetEnvironment: 'Staging' })).toEqual(['imageVersion', 'transferEnvironment']);
    expect(differingAsk(ask, { ...ask, imageUID: 'V'.repeat(60), notes: null })).toEqual(['imageUID', 'notes']);
  });
});
