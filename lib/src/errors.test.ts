import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './errors.js';

/** docs/errors.md and the exported codes must agree both ways. */
describe('error catalogue', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/`(ORBIT_ERR_[A-Z_]+)`/g)].map((match) => match[1]));

  it('documents every exported code', () => {
    for (const code of ERROR_CODES) expect(documented, `${code} missing from docs/errors.md`).toContain(code);
  });

  it('exports every documented lib code', () => {
    const libSection = doc.split('## Runtime (lib)')[1]?.split('\n## ')[0] ?? '';
    const libCodes = [...libSection.matchAll(/`(ORBIT_ERR_[A-Z_]+)`/g)].map((match) => match[1]);
    expect(libCodes.length).toBeGreaterThan(0);
    for (const code of libCodes) expect(ERROR_CODES as readonly string[]).toContain(code);
  });
});
