import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assertWipeable, markStackDir, wipeRefusal } from './wipe-guard.js';

const guarded = ['/root', '/work/main', '/root/.cache/orbit'];

describe('wipeRefusal', () => {
  it('allows a marked stack folder, an empty one and one that does not exist', () => {
    expect(wipeRefusal('/work/main/.stack', guarded, ['.orbit-stack', 'data', 'logs', 'run'])).toBeUndefined();
    expect(wipeRefusal('/tmp/orbit-stack', guarded, [])).toBeUndefined();
    expect(wipeRefusal('/tmp/orbit-stack', guarded, undefined)).toBeUndefined();
  });

  it('allows a stack folder made before the marker, which holds only what the stack writes', () => {
    expect(wipeRefusal('/work/main/.stack', guarded, ['data', 'logs', 'run', 'test-results.json'])).toBeUndefined();
  });

  it('refuses a folder that is not a stack folder', () => {
    expect(wipeRefusal('/etc', guarded, ['passwd', 'hosts', 'apt'])).toMatch(/not a stack folder.*passwd/);
    expect(wipeRefusal('/work/main/src', guarded, ['index.ts'])).toMatch(/not a stack folder/);
    expect(wipeRefusal('/root/Documents', guarded, ['data', 'thesis.odt'])).toMatch(/thesis\.odt/);
  });

  it('refuses the root, a protected folder or anything containing one, marker or not', () => {
    expect(wipeRefusal('/', guarded, ['.orbit-stack'])).toMatch(/root/);
    expect(wipeRefusal('/work/main/', guarded, ['.orbit-stack'])).toMatch(/is \/work\/main/);
    expect(wipeRefusal('/work', guarded, undefined)).toMatch(/contains \/work\/main/);
    expect(wipeRefusal('/root/.cache', guarded, [])).toMatch(/contains \/root\/.cache\/orbit/);
  });
});

describe('assertWipeable', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('accepts the folder up marked and refuses a folder of other files', () => {
    const stack = join(mkdtempSync(join(tmpdir(), 'orbit-wipe-')), 'stack');
    markStackDir(stack);
    mkdirSync(join(stack, 'data'));
    writeFileSync(join(stack, 'notes.txt'), 'mine');
    expect(() => assertWipeable(stack)).not.toThrow();
    const other = mkdtempSync(join(tmpdir(), 'orbit-wipe-'));
    writeFileSync(join(other, 'notes.txt'), 'mine');
    expect(() => assertWipeable(other)).toThrow(expect.objectContaining({ code: 'ORBIT_ERR_STACK_WIPE' }));
  });
});
