import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { renderExports } from './endpoints.js';
import { javaMajorOf } from './install.js';

describe('stack:env output', () => {
  it('survives eval for values with quotes, spaces and dollars', () => {
    const env = { A: "it's $HOME and `x`", B: 'plain' };
    const script = `${renderExports(env)}\nprintf '%s|%s' "$A" "$B"`;
    expect(execFileSync('bash', ['-c', script], { encoding: 'utf8' })).toBe("it's $HOME and `x`|plain");
  });
});

describe('javaMajorOf', () => {
  it('reads modern and legacy version strings', () => {
    expect(javaMajorOf('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(javaMajorOf('openjdk version "25" 2025-09-16')).toBe(25);
    expect(javaMajorOf('java version "1.8.0_392"')).toBe(8);
    expect(javaMajorOf('command not found')).toBeUndefined();
  });
});
