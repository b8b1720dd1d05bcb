import { defineConfig } from 'vitest/config';

/**
 * Three tiers, told apart by file name: `*.test.ts` needs nothing,
 * `*.int.test.ts` needs the local stack, `test/e2e/**` needs the running
 * pipeline. `npm test` starts what they need and runs them all.
 * Workspace packages resolve to their TypeScript sources (the @orbit/source
 * export condition), so tests never run against a stale dist/. Tests run in
 * Vite's server (ssr) environment, whose resolver reads `ssr.resolve`, not
 * `resolve`: with the top-level setting alone, `@orbit/lib` imported by a
 * consumer's code resolved to lib/dist (spawned services and CLIs use dist).
 */
const shared = {
  resolve: { conditions: ['@orbit/source'] },
  ssr: { resolve: { conditions: ['@orbit/source'] } },
};

export default defineConfig({
  ...shared,
  test: {
    globalSetup: ['test/global-setup.ts'],
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['**/src/**/*.test.ts', 'bench/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**', '**/dist/**'],
        },
      },
      {
        ...shared,
        test: {
          name: 'integration',
          // Tiers run one after another: integration tests restart real services under the e2e ones.
          sequence: { groupOrder: 1 },
          include: ['**/src/**/*.int.test.ts', 'test/int/**/*.int.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Tests that stop and start real services must not overlap.
          fileParallelism: false,
        },
      },
      {
        ...shared,
        test: {
          name: 'e2e',
          sequence: { groupOrder: 2 },
          include: ['test/e2e/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
