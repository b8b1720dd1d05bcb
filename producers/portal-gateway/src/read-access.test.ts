import { describe, expect, it } from 'vitest';
import type { ImageView, TimelineEntry } from './ports.js';
import { newestDescriptionOf, readableEnvironments, seesRequest, visibleEvents, visibleImage } from './read-access.js';
import type { TransferPolicy } from './transfer-rules.js';

const policy: TransferPolicy = { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Production', 'release-manager']]) };
const image: ImageView = {
  imageUID: 'u'.repeat(60), owner: 'ada', imageName: 'billing-api', description: '', environments: ['Development', 'Testing', 'Staging'],
  versions: [
    { imageVersion: 'v1-0-00', environments: ['Development', 'Testing', 'Staging'] },
    { imageVersion: 'v1-0-01', environments: ['Development'] },
  ],
};
const event = (payload: unknown): TimelineEntry => ({ pid: 'p', eventType: 'e', at: '2026-12-01T00:00:00.000Z', correlationId: 'c', payload });

describe('reading other people\'s images', () => {
  it('lets a role holder read the environment their role promotes into and the one before it', () => {
    expect(readableEnvironments(['release-manager'], policy)).toEqual(['Staging', 'Production']);
    expect(readableEnvironments(['something-else'], policy)).toEqual([]);
    expect(readableEnvironments([], { ...policy, roles: new Map([['Testing', 'qa'], ['Production', 'release-manager']]) })).toEqual([]);
    expect(readableEnvironments(['qa', 'release-manager'], { ...policy, roles: new Map([['Testing', 'qa'], ['Production', 'release-manager']]) }).sort())
      .toEqual(['Development', 'Production', 'Staging', 'Testing']);
  });

  it('shows the owner everything, a role holder only the versions in environments they read, anyone else nothing', () => {
    expect(visibleImage(image, 'ada', [])).toBe(image);
    expect(visibleImage(image, 'rm', ['Staging', 'Production'])).toMatchObject({ versions: [{ imageVersion: 'v1-0-00' }], environments: ['Development', 'Testing', 'Staging'] });
    expect(visibleImage(image, 'bob', [])).toBeUndefined();
    expect(visibleImage(image, 'rm', ['Production'])).toBeUndefined();
    expect(visibleImage(undefined, 'ada', [])).toBeUndefined();
  });

  it('shows a role holder the description of the newest version they see, not the one of a version hidden from them (found by a probe)', () => {
    const described: ImageView = {
      ...image, description: 'dev notes of v1-0-01: db password rotation',
      versions: [
        { imageVersion: 'v1-0-00', environments: ['Development', 'Testing', 'Staging'], metadata: { imageVersion: 'v1-0-00', description: 'billing, first release' } },
        { imageVersion: 'v1-0-01', environments: ['Development'], metadata: { imageVersion: 'v1-0-01', description: 'dev notes of v1-0-01: db password rotation' } },
      ],
    };
    expect(visibleImage(described, 'rm', ['Staging', 'Production'])?.description).toBe('billing, first release');
    expect(visibleImage(described, 'ada', [])?.description).toBe('dev notes of v1-0-01: db password rotation');
    // A version uploaded without one has none to show.
    expect(visibleImage({ ...described, versions: [{ imageVersion: 'v1-0-00', environments: ['Staging'], metadata: { imageVersion: 'v1-0-00' } }, ...described.versions.slice(1)] }, 'rm', ['Staging'])?.description).toBe('');
  });

  it('shows a role holder the description of the newest version they see that was uploaded with one, as its owner sees the newest upload\'s that gave one (found by a review: an upload without one emptied it)', () => {
    const staged = (imageVersion: string, description?: string | null) => ({ imageVersion, environments: ['Staging'], metadata: { imageVersion, ...(description === undefined ? {} : { description }) } });
    const withVersions = (...versions: ImageView['versions']): ImageView => ({ ...image, versions });
    expect(visibleImage(withVersions(staged('v1-0-00', 'billing'), staged('v1-0-01'), staged('v1-0-02', null)), 'rm', ['Staging'])?.description).toBe('billing');
    // An empty one is one given: it clears the description, as for the owner.
    expect(visibleImage(withVersions(staged('v1-0-00', 'billing'), staged('v1-0-01', '')), 'rm', ['Staging'])?.description).toBe('');
  });

  it('gives a role holder the events of the versions they see, and nothing that names no version', () => {
    const events = [event({ metadata: { imageVersion: 'v1-0-00' } }), event({ imageVersion: 'v1-0-01' }), event({ imageVersion: 'v1-0-00' }), event(null)];
    const seen = visibleImage(image, 'rm', ['Staging', 'Production']);
    if (!seen) throw new Error('visible');
    expect(visibleEvents(seen, 'rm', events)).toEqual([events[0], events[2]]);
    expect(visibleEvents(image, 'ada', events)).toEqual(events);
  });

  it('shows a role holder a request whole: a refused transfer of a visible version with its ViewPort update, which names no version (found by a probe)', () => {
    const seen = visibleImage(image, 'rm', ['Staging', 'Production']);
    if (!seen) throw new Error('visible');
    const of = (correlationId: string, payload: unknown): TimelineEntry => ({ ...event(payload), correlationId });
    const refused = [of('r1', { imageVersion: 'v1-0-00', reasonCode: 'NOT_A_PROMOTION' }), of('r1', { status: 'failed', imageVersion: null })];
    const hidden = [of('r2', { imageVersion: 'v1-0-01', reasonCode: 'ROLE_REQUIRED' }), of('r2', { status: 'failed', imageVersion: null })];
    const nothing = [of('r3', { status: 'failed' })];
    expect(visibleEvents(seen, 'rm', [...refused, ...hidden, ...nothing])).toEqual(refused);
  });

  it('lets a caller read a request as the image\'s events show it: the requester and the owner always, a role holder every request about versions it sees, upload or promotion into any environment', () => {
    const seen = visibleImage(image, 'rm', ['Staging', 'Production']);
    const about = (...versions: string[]) => ({ requester: 'ada', versions });
    expect(seesRequest(image, 'ada', about())).toBe(true);
    expect(seesRequest(seen, 'rm', about('v1-0-00'))).toBe(true);
    // v1-0-01 is in Development only: neither its upload nor its promotions, nor a request naming it beside a seen version.
    expect(seesRequest(seen, 'rm', about('v1-0-01'))).toBe(false);
    expect(seesRequest(seen, 'rm', about('v1-0-00', 'v1-0-01'))).toBe(false);
    // One naming no version is its requester's and the owner's only.
    expect(seesRequest(seen, 'rm', about())).toBe(false);
    expect(seesRequest(seen, 'rm', { requester: 'rm', versions: ['v1-0-01'] })).toBe(true);
    expect(seesRequest(undefined, 'rm', { requester: 'rm', versions: [] })).toBe(true);
    expect(seesRequest(undefined, 'bob', about('v1-0-00'))).toBe(false);
    expect(seesRequest(seen, 'bob', { requester: undefined, versions: ['v1-0-00'] })).toBe(true);
  });

  it('shows a role holder its own request in the events, even about a version hidden from it, and no one else\'s by a step that names them', () => {
    const seen = visibleImage(image, 'rm', ['Staging', 'Production']);
    if (!seen) throw new Error('visible');
    const of = (correlationId: string, payload: Record<string, unknown>): TimelineEntry => ({ ...event(payload), correlationId });
    const asked = [of('mine', { actor: { username: 'rm' }, imageVersion: 'v1-0-01', reasonCode: 'VERSION_NOT_FOUND' }), of('mine', { actor: { username: 'rm' }, status: 'failed', imageVersion: null })];
    const theirs = [of('theirs', { actor: { username: 'ada' }, imageVersion: 'v1-0-01' })];
    // Steps that disagree on who asked name no requester: judged by the versions alone.
    const claimed = [of('claimed', { actor: { username: 'ada' }, imageVersion: 'v1-0-01' }), of('claimed', { actor: { username: 'rm' }, status: 'failed' })];
    expect(visibleEvents(seen, 'rm', [...asked, ...theirs, ...claimed])).toEqual(asked);
  });
});

describe('newestDescriptionOf', () => {
  /** A version, in upload order, uploaded with `description`, accepted at `requestedAt` (absent: before that was carried) and stored at `createdAt`. */
  const version = (description: string | null, createdAt: string, requestedAt?: string, requestId = `req-${createdAt}`) => ({
    imageVersion: createdAt, metadata: { description }, createdAt, requestId, ...(requestedAt === undefined ? {} : { requestedAt }),
  });

  it('is the description of the upload accepted last, as the projector orders uploads, not of the version stored last (found by a review: a set-aside letter re-driven after a newer one)', () => {
    // The older upload's version comes last in upload order: its ImageStored was set aside, then re-driven.
    expect(newestDescriptionOf([version('newer', '2026-11-22T11:00:00.000Z', '2026-11-22T10:59:00.000Z'), version('older', '2026-11-22T12:00:00.000Z', '2026-11-22T09:59:00.000Z')])).toBe('newer');
    // Versions stored before requestedAt was carried stand where their storing put them, beside those that carry it.
    expect(newestDescriptionOf([version('stored 10:00', '2026-11-22T10:00:00.000Z'), version('accepted 09:00', '2026-11-22T10:30:00.000Z', '2026-11-22T09:00:00.000Z')])).toBe('stored 10:00');
    expect(newestDescriptionOf([version('stored 10:00', '2026-11-22T10:00:00.000Z'), version('accepted 10:15', '2026-11-22T10:30:00.000Z', '2026-11-22T10:15:00.000Z')])).toBe('accepted 10:15');
  });

  it('takes the greater request id of two accepted in the same millisecond, as the projector does; the later version of two stored then; none of the versions that gave none', () => {
    const at = '2026-11-22T10:59:00.000Z';
    expect(newestDescriptionOf([version('by B', '2026-11-22T11:00:00.000Z', at, 'req-B'), version('by a', '2026-11-22T11:01:00.000Z', at, 'req-a')])).toBe('by B');
    expect(newestDescriptionOf([version('first', at), version('second', at)])).toBe('second');
    expect(newestDescriptionOf([version('given', '2026-11-22T10:00:00.000Z'), version(null, '2026-11-22T11:00:00.000Z', '2026-11-22T10:59:00.000Z')])).toBe('given');
    expect(newestDescriptionOf([])).toBe('');
  });
});
