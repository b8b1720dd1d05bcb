import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Which build a service runs: the root package.json's version, and the commit and its date. Every package says
 * 0.1.0 and no release is tagged, while README's upgrade notes name releases by date ("the release of 2026-12-06")
 * and by commit: an operator reads these (orbit_build_info, /healthz) to know which notes apply.
 */
export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
  /** The commit's committer date, ISO 8601 with its offset, as `git log --format=%cI` gives it. */
  readonly commitDate: string;
}

/** What a field of the build is when nothing says it. */
export const UNKNOWN_BUILD = 'unknown';

export interface BuildSources {
  /** ORBIT_BUILD_COMMIT and ORBIT_BUILD_DATE, which a container build (with no .git) sets. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The folder of the root package.json and of the checkout. @default this repository's root */
  readonly root?: string;
}

/** Two folders up from lib/src or lib/dist: where the root package.json and `.git` of a checkout are. */
const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A SHA-1 or SHA-256 object name. */
const OBJECT_NAME = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** `git log --format=%cI`'s form: seconds and an offset, no fraction. */
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)$/;

/** How long the one `git log` may take: it runs once, at start, and must not hold it. */
const GIT_TIMEOUT_MS = 2_000;

/** An environment value, blank counting as unset, as every other variable's. */
function setIn(env: NodeJS.ProcessEnv, name: 'ORBIT_BUILD_COMMIT' | 'ORBIT_BUILD_DATE'): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function versionIn(root: string): string {
  try {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof version === 'string' && version !== '' ? version : UNKNOWN_BUILD;
  } catch {
    return UNKNOWN_BUILD;
  }
}

/**
 * The checkout's HEAD and its committer date, from git itself (no reader of git's files by hand): once, bounded,
 * and undefined when git is absent, `root` is no checkout, or git refuses it (another user's: `safe.directory`).
 */
function gitHead(root: string): { commit: string; commitDate: string } | undefined {
  // Only `root`'s own checkout: git otherwise climbs to any repository above it (a release unpacked inside an ops
  // repository, a home directory under dotfile git) and obeys a GIT_DIR the service inherited (found by a reread).
  const { GIT_DIR: _dir, GIT_WORK_TREE: _tree, GIT_CEILING_DIRECTORIES: _ceiling, GIT_DISCOVERY_ACROSS_FILESYSTEM: _across, ...env } = process.env;
  try {
    const [commit = '', commitDate = ''] = execFileSync('git', ['-C', root, 'log', '-1', '--format=%H%n%cI'], {
      encoding: 'utf8', timeout: GIT_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'], env: { ...env, GIT_CEILING_DIRECTORIES: dirname(resolve(root)) },
    }).trim().split('\n');
    if (!OBJECT_NAME.test(commit)) return undefined;
    return { commit, commitDate: ISO_DATE.test(commitDate) ? commitDate : UNKNOWN_BUILD };
  } catch {
    return undefined;
  }
}

/**
 * The build: ORBIT_BUILD_COMMIT and ORBIT_BUILD_DATE when either is set (a container build, which has no .git; the
 * one not set is unknown, not taken from elsewhere, so the pair never mixes two commits); else the checkout's HEAD,
 * as git says it; else unknown.
 */
export function readBuildInfo(sources: BuildSources = {}): BuildInfo {
  const env = sources.env ?? process.env;
  const root = sources.root ?? REPOSITORY_ROOT;
  const version = versionIn(root);
  const commitSet = setIn(env, 'ORBIT_BUILD_COMMIT');
  const dateSet = setIn(env, 'ORBIT_BUILD_DATE');
  if (commitSet !== undefined || dateSet !== undefined) return { version, commit: commitSet ?? UNKNOWN_BUILD, commitDate: dateSet ?? UNKNOWN_BUILD };
  return { version, ...(gitHead(root) ?? { commit: UNKNOWN_BUILD, commitDate: UNKNOWN_BUILD }) };
}

let thisBuild: BuildInfo | undefined;

/** This process's build, read once: it cannot change while the process runs, whatever a checkout does meanwhile. */
export function buildInfo(): BuildInfo {
  thisBuild ??= readBuildInfo();
  return thisBuild;
}
