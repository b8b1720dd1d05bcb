import type { Logger } from '@orbit/lib';

/**
 * Where blobs were seen beyond this process: a table every harbor-writer
 * shares, so a restarted or added one still knows which repository to mount
 * a shared layer from. Best effort on both sides: a lost write or a failed
 * read only means a blob is sent instead of mounted.
 */
export interface BlobLocationStore {
  /** The repository each of `digests` was last recorded in, for those recorded. */
  find(registry: string, digests: readonly string[]): Promise<Map<string, string>>;
  record(registry: string, digests: readonly string[], repository: string): Promise<void>;
  /** Removes the record of `digest`, if it still names `repository`. */
  drop(registry: string, digest: string, repository: string): Promise<void>;
}

/**
 * Which repository of a registry holds a blob. Charts are repositories of
 * their own, and most images share base layers: a push asks the registry to
 * mount such a blob from the repository that has it (the distribution spec's
 * cross-repository mount, as `docker push` does) instead of sending the same
 * bytes into every repository. Only a hint: a registry that has since removed
 * the blob, or refuses the mount, gets it sent as usual, and the hint is
 * forgotten. Held in memory (the last `capacity`), and in `store` when given,
 * so it outlives a restart.
 */
export class BlobSources {
  /** `registry digest` -> repository; Map keeps insertion order, so the first key is the least recently seen. */
  private readonly seen = new Map<string, string>();

  constructor(private readonly store?: BlobLocationStore, private readonly log?: Logger, private readonly capacity = 20_000) {}

  /**
   * Every blob of `digests` is in `repository` now (pushed there): recorded for later pushes of other repositories.
   * `log`, the message's own, puts the pid, correlationId and imageUID on a failure's line.
   */
  async remember(registry: string, digests: Iterable<string>, repository: string, log?: Logger): Promise<void> {
    const fresh = [...digests].filter((digest) => this.seen.get(`${registry} ${digest}`) !== repository);
    this.suggest(registry, fresh, repository);
    if (this.store === undefined || fresh.length === 0) return;
    await this.store.record(registry, fresh, repository).catch((error: unknown) => {
      (log ?? this.log)?.warn({ err: error, registry, repository, blobs: fresh.length }, 'could not record where the blobs are; a restarted harbor-writer sends them instead of mounting');
    });
  }

  /** A hint for this process only: what a push may try to mount from, known without being recorded (the repository an image was uploaded to). */
  suggest(registry: string, digests: Iterable<string>, repository: string): void {
    for (const digest of digests) {
      const key = `${registry} ${digest}`;
      this.seen.delete(key);
      this.seen.set(key, repository);
    }
    while (this.seen.size > this.capacity) {
      const oldest = this.seen.keys().next();
      if (oldest.done === true) break;
      this.seen.delete(oldest.value);
    }
  }

  /** For each of `digests` a repository other than `repository` known to hold it: memory first, then the store. */
  async sourcesOf(registry: string, digests: Iterable<string>, repository: string, log?: Logger): Promise<Map<string, string>> {
    const sources = new Map<string, string>();
    const unknown: string[] = [];
    for (const digest of digests) {
      const source = this.seen.get(`${registry} ${digest}`);
      if (source === undefined) unknown.push(digest);
      else if (source !== repository) sources.set(digest, source);
    }
    if (this.store === undefined || unknown.length === 0) return sources;
    const recorded = await this.store.find(registry, unknown).catch((error: unknown) => {
      (log ?? this.log)?.warn({ err: error, registry, blobs: unknown.length }, 'could not read where the blobs are; they are sent instead of mounted');
      return new Map<string, string>();
    });
    for (const [digest, source] of recorded) {
      this.suggest(registry, [digest], source);
      if (source !== repository) sources.set(digest, source);
    }
    return sources;
  }

  /** The blob could not be mounted from `repository`: do not ask there again. */
  async forget(registry: string, digest: string, repository: string, log?: Logger): Promise<void> {
    const key = `${registry} ${digest}`;
    if (this.seen.get(key) === repository) this.seen.delete(key);
    await this.store?.drop(registry, digest, repository).catch((error: unknown) => {
      (log ?? this.log)?.warn({ err: error, registry, digest, repository }, 'could not drop a stale blob location');
    });
  }

  get size(): number {
    return this.seen.size;
  }
}
