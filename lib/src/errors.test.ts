import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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

  it('exports every documented lib code', () => {
    const libSection = doc.split('## Runtime (lib)')[1]?.split('\n## ')[0] ?? '';
    const libCodes = [...libSection.matchAll(/`(ORBIT_ERR_[A-Z_]+)`/g)].map((match) => match[1]);
    expect(libCodes.length).toBeGreaterThan(0);
    for (const code of libCodes) expect(ERROR_CODES as readonly string[]).toContain(code);
  });
});
