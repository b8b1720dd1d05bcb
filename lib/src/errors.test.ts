import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runningSourceFiles } from '../../test/helpers/source-files.js';
import { ERROR_CODES } from './errors.js';

/** docs/errors.md and the exported codes must agree both ways. */
describe('error catalogue', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/`(ORBIT_ERR_[A-Z_]+)`/g)].map((match) => match[1]));

  it('documents every exported code', () => {
    for (const code of ERROR_CODES) expect(documented, `${code} missing from docs/errors.md`).toContain(code);
  });

  it('documents every code the portal gateway answers with, also those it writes as literals (ORBIT_ERR_INTERNAL was missing)', () => {
    const sources = new URL('../../producers/portal-gateway/src/', import.meta.url);
    // Its own code, not tests nor the stubs route tests build gateways with.
    const files = readdirSync(sources, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.split('/').includes('testing'));
    expect(files.length).toBeGreaterThan(20);
    const answered = new Set(files.flatMap((file) => [...readFileSync(new URL(file, sources), 'utf8').matchAll(/['"`](ORBIT_ERR_[A-Z_]+)['"`]/g)].map((match) => match[1])));
    expect(answered).toContain('ORBIT_ERR_INTERNAL');
    for (const code of answered) expect(documented, `${code} missing from docs/errors.md`).toContain(code);
    // A row of its own, with its retriable flag and what to do, not a mention in another code's row (ORBIT_ERR_REGISTRY_NOT_ALLOWED had none).
    const rows = new Set([...doc.matchAll(/^\| `(ORBIT_ERR_[A-Z_]+)` \|/gm)].map((match) => match[1]));
    for (const code of answered) expect(rows, `${code} has no row of its own in docs/errors.md`).toContain(code);
  });

  it('documents every code any service, CLI or the local stack writes, and names none that no code writes (ORBIT_ERR_PUSH_REFUSED, ORBIT_ERR_STORED_JSON and ORBIT_ERR_REPLAY_END had no line)', () => {
    const written = codesWrittenIn(serviceSourceFiles());
    expect(written).toContain('ORBIT_ERR_PUSH_REFUSED');
    expect([...written].filter((code) => !documented.has(code)), 'written in the source, missing from docs/errors.md').toEqual([]);
    const named = new Set([...doc.matchAll(/ORBIT_ERR_[A-Z_]+/g)].map((match) => match[0]));
    expect([...named].filter((code) => !written.has(code)), 'in docs/errors.md, written by no source').toEqual([]);
  });

  it('exports every documented lib code', () => {
    const libSection = doc.split('## Runtime (lib)')[1]?.split('\n## ')[0] ?? '';
    const libCodes = [...libSection.matchAll(/`(ORBIT_ERR_[A-Z_]+)`/g)].map((match) => match[1]);
    expect(libCodes.length).toBeGreaterThan(0);
    for (const code of libCodes) expect(ERROR_CODES as readonly string[]).toContain(code);
  });
});

/** The source folders of what runs: lib, every producer and consumer, the local stack, the schemas; not tests, their stubs (`testing/`) or dist. */
function serviceSourceFiles(): string[] {
  const files = runningSourceFiles();
  expect(files.length).toBeGreaterThan(300);
  return files;
}

/** Codes written as string literals: those an error is constructed with or an answer carries; a code a comment mentions is not one. */
function codesWrittenIn(files: readonly string[]): Set<string> {
  return new Set(files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/['"`](ORBIT_ERR_[A-Z_]+)['"`]/g)].map((match) => match[1] ?? '')));
}
