import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const STACK_CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const folders: string[] = [];

/** A stack folder of the test's own, with data worth keeping and no services: a wipe that ran anyway deletes only it. */
function throwAwayStack(): string {
  const dir = mkdtempSync(join(tmpdir(), 'orbit-stack-cli-'));
  folders.push(dir);
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, '.orbit-stack'), 'marker\n');
  writeFileSync(join(dir, 'data', 'keep.txt'), 'important\n');
  return dir;
}

const stack = (dir: string, ...args: string[]) =>
  spawnSync(process.execPath, [STACK_CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', ORBIT_STACK_DIR: dir }, encoding: 'utf8', timeout: 30_000 });

afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('npm run stack:<command>', () => {
  it.each(['--help', '-h'])('answers wipe %s with what wipe does, and deletes nothing (it wiped a whole stack before)', (flag) => {
    const dir = throwAwayStack();
    const help = stack(dir, 'wipe', flag);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run stack:wipe .*delete the stack folder/);
    expect(existsSync(join(dir, 'data', 'keep.txt'))).toBe(true);
  }, 40_000);

  it.each([['wipe', '--force'], ['down', 'now'], ['status', '--json']])('refuses %s %s (an option or word it does not take) with exit 2 and its usage, before doing anything', (command, extra) => {
    const dir = throwAwayStack();
    const wrong = stack(dir, command, extra);
    expect(wrong.status).toBe(2);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toContain(`usage: npm run stack:${command} `);
    expect(existsSync(join(dir, 'data', 'keep.txt'))).toBe(true);
  }, 40_000);

  it('refuses problems with a time that is not epoch milliseconds, instead of reporting since 1970', () => {
    const wrong = stack(throwAwayStack(), 'problems', 'yesterday');
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/^<since epoch ms> must be one whole number of milliseconds, got "yesterday"\nusage: node deploy\/local\/dist\/cli.js problems /);
  }, 40_000);
});
