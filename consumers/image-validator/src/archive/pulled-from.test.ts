import { describe, expect, it } from 'vitest';
import { PULLED_FROM, referrersListedBy } from './pulled-from.js';

describe('referrersListedBy', () => {
  const top = { digest: `sha256:${'1'.repeat(64)}`, size: 1 };
  it('names the reference a pulled archive came from, and index.json for any other', () => {
    expect(referrersListedBy({ ...top, annotations: { [PULLED_FROM]: 'registry.test/team/app:1' } })).toBe('registry.test/team/app:1 also has');
    expect(referrersListedBy({ ...top, annotations: { 'org.opencontainers.image.ref.name': '1' } })).toBe('index.json also lists');
    expect(referrersListedBy(top)).toBe('index.json also lists');
  });
});
