import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import Negotiator from 'negotiator';

const gzipped = promisify(gzip);

/** An index.yaml as sent: its text, and the same gzip'd for a client that takes it. */
export interface RenderedIndex {
  readonly yaml: Buffer;
  readonly gzip: Buffer;
}

/**
 * Reads an owner's mark in ViewPort: it changes with every commit of the projector that changes what the owner's
 * images show, and with nothing else (`none` for an owner nothing was projected for).
 */
export type OwnerMark = (owner: string) => Promise<string>;

/**
 * What an index renders from besides the images it lists: the time its `generated` says when it lists none (helm
 * repo index writes the time it ran; 1970 read as a broken repository). The start of the day (UTC), not the time of
 * the ask, which would give every ask new bytes and a new ETag and a poller never a 304, nor when ViewPort last
 * changed, which moved with every other user's upload (found by a reread: a poller of an empty repository got a 200
 * each time, and learned when anyone was active). The same on every gateway; it moves once a day.
 */
export type IndexRender = (emptyGenerated: string) => Promise<string>;

/** Midnight UTC of `now`'s day. */
export function startOfUtcDay(now: Date): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())).toISOString();
}

const emptyGenerated = (): string => startOfUtcDay(new Date());

interface Kept {
  readonly mark: string;
  /** When it was rendered, on the cache's clock. */
  readonly at: number;
  readonly index: RenderedIndex;
  readonly bytes: number;
}

/** How many renderings are kept, and how many bytes they may take together. */
export interface HelmIndexCacheLimits {
  readonly maxBytes: number;
  readonly maxEntries: number;
  /**
   * Milliseconds a rendering is kept at most, its mark unmoved. A safety net, not the key: a commit that changed an
   * owner's images without moving the mark (a projector older than migration 0020 during a rolling upgrade) would
   * otherwise leave the index stale until the owner's next change. A rendering again of unchanged rows is the same
   * bytes (dates do not move), so pollers still get their 304.
   */
  readonly maxAgeMs?: number;
}

/** How long a rendering is kept at most (HelmIndexCacheLimits.maxAgeMs): one rendering per owner and five minutes while nothing changes. */
export const INDEX_MAX_AGE_MS = 5 * 60_000;

/**
 * What a kept rendering costs beside its YAML and gzip bytes: the two Buffers, their map entry and record. Measured
 * (found by a review) at about 1.1 KiB on and off the heap for an empty index; the rest of the 2 KiB is a deliberate
 * margin, for runtimes and allocators that spend more than the one measured. Counting only the YAML made an empty
 * index look like 150 bytes, and made-up owners filled 32 MiB's worth of budget with 270 MB.
 */
const ENTRY_OVERHEAD_BYTES = 2048;

/**
 * index.yaml renderings, kept while their owner's mark has not moved. A
 * repository's pollers (Flux, Argo CD, `helm repo update` in every CI job) ask
 * again and again; a thousand versions took every image's rows, 0.3–0.6 s and
 * a megabyte of YAML per ask, and an ETag's 304 cost as much as the 200 (found
 * by a probe: other users' reads slowed to a second meanwhile). Kept while
 * ViewPort as a whole had not changed, any upload by anyone had every polled
 * index rendered again (found by a scale review: seconds for an owner of
 * 10 000 charts); an index lists its owner's images alone, so their mark is
 * what it depends on. One rendering at a time per repository and mark:
 * askers at once share it.
 * Least recently asked first out past `maxBytes` (each counted with its key and
 * its overhead) or `maxEntries`.
 */
export class HelmIndexCache {
  private readonly kept = new Map<string, Kept>();
  private readonly rendering = new Map<string, Promise<RenderedIndex>>();
  private keptBytes = 0;

  /** Without an `ownerMark` (a gateway built for route tests) nothing is kept: every ask renders. */
  constructor(
    private readonly ownerMark: OwnerMark | undefined,
    private readonly limits: HelmIndexCacheLimits = { maxBytes: 32 * 1024 * 1024, maxEntries: 1000 },
    /** Milliseconds of a monotonic clock (tests pass their own). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** How many renderings are kept now. */
  get size(): number {
    return this.kept.size;
  }

  /**
   * The index of `repository` (a key naming it and what the caller may see of it), a repository of `owner`'s images,
   * rendered by `render` unless kept under the owner's mark as it is now.
   */
  async get(owner: string, repository: string, render: IndexRender): Promise<RenderedIndex> {
    if (!this.ownerMark) return renderedOf(await render(emptyGenerated()));
    // Read before rendering: a rendering is never filed under a mark older than what it read.
    const mark = await this.ownerMark(owner);
    const kept = this.kept.get(repository);
    if (kept?.mark === mark && this.now() - kept.at < (this.limits.maxAgeMs ?? INDEX_MAX_AGE_MS)) {
      this.kept.delete(repository);
      this.kept.set(repository, kept);
      return kept.index;
    }
    const flight = `${mark}\u0000${repository}`;
    const under = this.rendering.get(flight);
    if (under) return under;
    const at = this.now();
    const rendered = render(emptyGenerated()).then(renderedOf);
    this.rendering.set(flight, rendered);
    try {
      const index = await rendered;
      this.keep(repository, { mark, at, index, bytes: index.yaml.length + index.gzip.length + 2 * repository.length + ENTRY_OVERHEAD_BYTES });
      return index;
    } finally {
      this.rendering.delete(flight);
    }
  }

  /** An index rendered by `render` and kept nowhere (one the caller may see nothing of), dated as a kept one would be. */
  async unkept(render: IndexRender): Promise<RenderedIndex> {
    return renderedOf(await render(emptyGenerated()));
  }

  private keep(repository: string, entry: Kept): void {
    const before = this.kept.get(repository);
    if (before) {
      this.kept.delete(repository);
      this.keptBytes -= before.bytes;
    }
    if (entry.bytes > this.limits.maxBytes) return;
    this.kept.set(repository, entry);
    this.keptBytes += entry.bytes;
    for (const [oldest, kept] of this.kept) {
      if (this.keptBytes <= this.limits.maxBytes && this.kept.size <= this.limits.maxEntries) break;
      this.kept.delete(oldest);
      this.keptBytes -= kept.bytes;
    }
  }
}

/** An index rendered for sending, kept nowhere. */
export async function renderedOf(text: string): Promise<RenderedIndex> {
  const yaml = Buffer.from(text, 'utf8');
  return { yaml, gzip: await gzipped(yaml) };
}

/** Whether gzip is the coding an Accept-Encoding header prefers over none (negotiator reads its weights, as for Accept). */
export function acceptsGzip(header: string | undefined): boolean {
  return new Negotiator({ headers: header === undefined ? {} : { 'accept-encoding': header } }).encoding(['gzip', 'identity']) === 'gzip';
}
