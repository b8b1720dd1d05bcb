import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root, for tests that read its files. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The TypeScript that runs: lib, schemas, every producer's, consumer's and deploy tool's `src`, and the folders in
 * `extraRoots` (relative to the repository); not tests, declarations or test stubs (`testing/`).
 */
export function runningSourceFiles(extraRoots: readonly string[] = []): string[] {
  const packages = ['producers', 'consumers', 'deploy'].flatMap((group) =>
    readdirSync(join(REPO_ROOT, group), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => join(group, entry.name, 'src')));
  const roots = [join('lib', 'src'), join('schemas', 'src'), ...packages, ...extraRoots].map((root) => join(REPO_ROOT, root));
  return roots.flatMap((root) => sourceFilesUnder(root));
}

function sourceFilesUnder(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root, { recursive: true, encoding: 'utf8' });
  } catch {
    return []; // deploy/kafka and deploy/mysql hold no TypeScript
  }
  return names
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts') && !name.split('/').includes('testing'))
    .map((name) => join(root, name));
}
