import { describe, expect, it } from 'vitest';
import { wipeRefusal } from './wipe-guard.js';

const guarded = ['/root', '/work/main', '/root/.cache/orbit'];

describe('wipeRefusal', () => {
  it('allows the stack folder inside the repo', () => {
    expect(wipeRefusal('/work/main/.stack', guarded)).toBeUndefined();
    expect(wipeRefusal('/tmp/orbit-stack', guarded)).toBeUndefined();
  });

  it('refuses the root, a protected folder or anything containing one', () => {
    expect(wipeRefusal('/', guarded)).toMatch(/root/);
    expect(wipeRefusal('/work/main/', guarded)).toMatch(/is \/work\/main/);
    expect(wipeRefusal('/work', guarded)).toMatch(/contains \/work\/main/);
    expect(wipeRefusal('/root/.cache', guarded)).toMatch(/contains \/root\/.cache\/orbit/);
  });
});
