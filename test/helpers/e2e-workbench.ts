/**
 * The setup of an e2e file that builds images with other tools (buildah,
 * crane, Jib, oras, regctl): the pipeline, a registry of its own for those
 * tools to push to and pull from, and a scratch folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, stopPipeline } from '@orbit/local-stack';
import { afterAll, beforeAll } from 'vitest';
import { startRegistry, type TestRegistry } from './registry.js';

export interface Workbench {
  readonly registry: TestRegistry;
  /** A folder of the file's own, removed after its tests. */
  readonly work: string;
}

/**
 * Starts the pipeline, a registry and a scratch folder before the tests of
 * the calling file or describe block (then `prepare`, e.g. a build all its
 * tests use), and stops and removes them after, whatever of it had started.
 * Read the workbench's fields inside hooks and tests, not at collection time.
 */
export function useWorkbench(name: string, prepare?: (bench: Workbench) => void | Promise<void>, timeoutMs = 300_000): Workbench {
  let registry: TestRegistry | undefined;
  let work: string | undefined;
  const bench: Workbench = {
    get registry(): TestRegistry {
      if (registry === undefined) throw new Error('the workbench registry is read before its beforeAll ran');
      return registry;
    },
    get work(): string {
      if (work === undefined) throw new Error('the workbench folder is read before its beforeAll ran');
      return work;
    },
  };
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), `orbit-${name}-`));
    await startPipeline(() => undefined);
    registry = await startRegistry();
    await prepare?.(bench);
  }, timeoutMs);
  afterAll(async () => {
    await stopPipeline();
    await registry?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });
  return bench;
}
