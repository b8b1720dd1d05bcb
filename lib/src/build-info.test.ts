import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT } from '../../test/helpers/source-files.js';
import { buildInfo, readBuildInfo, UNKNOWN_BUILD } from './build-info.js';

const COMMIT = '36a92d526b8a8f5ddaeb67bceba96403556c83f0';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A folder with a root package.json, and with `commitDate` a git checkout of one commit made at that date. */
function checkout(version = '0.1.0', commitDate?: string): { root: string; commit?: string } {
  const root = mkdtempSync(join(tmpdir(), 'orbit-build-'));
  folders.push(root);
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'orbit', version }));
  if (commitDate === undefined) return { root };
  const git = (...args: string[]): string => execFileSync('git', ['-C', root, '-c', 'user.name=Ada', '-c', 'user.email=ada@example.com', ...args], {
    encoding: 'utf8', env: { ...process.env, GIT_COMMITTER_DATE: commitDate, GIT_AUTHOR_DATE: commitDate },
  }).trim();
  git('init', '-q');
  git('add', 'package.json');
  git('commit', '-q', '-m', 'release');
  return { root, commit: git('rev-parse', 'HEAD') };
}

describe('readBuildInfo', () => {
  it('takes ORBIT_BUILD_COMMIT and ORBIT_BUILD_DATE over the checkout (a container build sets them)', () => {
    const { root } = checkout('0.2.0', '2025-12-07T10:39:22+01:00');
    const env = { ORBIT_BUILD_COMMIT: ` ${COMMIT} `, ORBIT_BUILD_DATE: '2026-12-07T09:39:22+00:00' };
    expect(readBuildInfo({ env, root })).toEqual({ version: '0.2.0', commit: COMMIT, commitDate: '2026-12-07T09:39:22+00:00' });
  });

  it('leaves the date unknown when only the commit is set, rather than take the checkout\'s (another commit\'s) date', () => {
    const { root } = checkout('0.1.0', '2025-12-07T10:39:22+01:00');
    expect(readBuildInfo({ env: { ORBIT_BUILD_COMMIT: COMMIT }, root })).toEqual({ version: '0.1.0', commit: COMMIT, commitDate: UNKNOWN_BUILD });
  });

  it('reads the checkout\'s HEAD and its committer date with the committer\'s offset when the variables are blank', () => {
    const { root, commit } = checkout('0.1.0', '2025-12-07T10:39:22+01:00');
    expect(readBuildInfo({ env: { ORBIT_BUILD_COMMIT: ' ', ORBIT_BUILD_DATE: '' }, root })).toEqual({ version: '0.1.0', commit, commitDate: '2025-12-07T10:39:22+01:00' });
  });

  it('says unknown in a folder inside another repository, and whatever GIT_DIR the service inherited (found by a reread: the outer repository\'s commit)', () => {
    const { root: outer } = checkout('0.1.0', '2025-12-07T10:39:22+01:00');
    const inner = join(outer, 'orbit');
    mkdirSync(inner);
    writeFileSync(join(inner, 'package.json'), JSON.stringify({ name: 'orbit', version: '0.3.0' }));
    expect(readBuildInfo({ env: {}, root: inner })).toEqual({ version: '0.3.0', commit: UNKNOWN_BUILD, commitDate: UNKNOWN_BUILD });
    const { root, commit } = checkout('0.1.0', '2024-01-02T03:04:05Z');
    vi.stubEnv('GIT_DIR', join(outer, '.git'));
    try {
      expect(readBuildInfo({ env: {}, root })).toEqual({ version: '0.1.0', commit, commitDate: '2024-01-02T03:04:05+00:00' });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('says unknown without a checkout or package.json, and when git is absent', () => {
    const bare = mkdtempSync(join(tmpdir(), 'orbit-build-'));
    folders.push(bare);
    expect(readBuildInfo({ env: {}, root: bare })).toEqual({ version: UNKNOWN_BUILD, commit: UNKNOWN_BUILD, commitDate: UNKNOWN_BUILD });
    const { root } = checkout('0.1.0', '2025-12-07T10:39:22+01:00');
    vi.stubEnv('PATH', '');
    try {
      expect(readBuildInfo({ env: {}, root })).toEqual({ version: '0.1.0', commit: UNKNOWN_BUILD, commitDate: UNKNOWN_BUILD });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('gives this checkout\'s HEAD and date as git log does, and the root package.json\'s version', () => {
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    let git: string[] | undefined;
    try {
      git = execFileSync('git', ['-C', REPO_ROOT, 'log', '-1', '--format=%H%n%cI'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    } catch {
      git = undefined; // no git here: nothing to compare with
    }
    const info = readBuildInfo({ env: {} });
    expect(info.version).toBe(version);
    if (git !== undefined) expect([info.commit, info.commitDate]).toEqual(git);
    expect(buildInfo()).toBe(buildInfo());
  });
});
