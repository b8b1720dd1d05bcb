/**
 * Which repository of a registry holds a blob, as this process last saw it.
 * Charts are repositories of their own, and most images share base layers:
 * a push asks the registry to mount such a blob from the repository that has
 * it (the distribution spec's cross-repository mount, as `docker push` does)
 * instead of sending the same bytes into every repository. Only a hint: a
 * registry that has since removed the blob, or refuses the mount, gets it
 * sent as usual.
 */
export class BlobSources {
  /** `registry digest` -> repository; Map keeps insertion order, so the first key is the least recently seen. */
  private readonly seen = new Map<string, string>();

  constructor(private readonly capacity = 20_000) {}

  remember(registry: string, digest: string, repository: string): void {
    const key = `${registry} ${digest}`;
    this.seen.delete(key);
    this.seen.set(key, repository);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.keys().next();
      if (oldest.done !== true) this.seen.delete(oldest.value);
    }
  }

  /** A repository other than `repository` that held `digest`, if one is known. */
  sourceOf(registry: string, digest: string, repository: string): string | undefined {
    const source = this.seen.get(`${registry} ${digest}`);
    return source === repository ? undefined : source;
  }

  /** The blob could not be mounted from `repository`: do not ask there again. */
  forget(registry: string, digest: string, repository: string): void {
    const key = `${registry} ${digest}`;
    if (this.seen.get(key) === repository) this.seen.delete(key);
  }

  get size(): number {
    return this.seen.size;
  }
}
