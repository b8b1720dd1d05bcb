import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REJECTION_CODES } from './archive/rejections.js';
import { UPLOAD_REJECTION_CODES } from './handle.js';

/** docs/errors.md's image section and the exported reason codes must agree both ways. */
describe('image rejection reason codes', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const section = doc.split('## Image rejection reason codes')[1]?.split('\n## ')[0] ?? '';
  const tableCodes = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);

  it('documents every code, each once', () => {
    expect(tableCodes.length).toBeGreaterThan(0);
    expect([...tableCodes].sort()).toEqual(Object.keys(UPLOAD_REJECTION_CODES).sort());
  });

  it('has a one-line meaning for every archive code', () => {
    for (const [code, meaning] of Object.entries(REJECTION_CODES)) expect(meaning, code).toMatch(/^\S.*\.$/);
  });

  it('documents the internal error codes', () => {
    for (const code of ['ORBIT_ERR_IMAGE_REJECTED', 'ORBIT_ERR_NOT_STAGED']) expect(section).toContain(`\`${code}\``);
  });
});
