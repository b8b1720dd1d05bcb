/**
 * What the validator remembers of the registries uploads name: which stayed
 * away lately, and which answered lately.
 *
 * An upload naming a registry that stayed away is refused at once while the
 * outage is fresh: each would otherwise wait out the patience (30 s) again,
 * and every upload behind it on its partition with it; a hundred references
 * to one dead registry held uploads for 25 min.
 *
 * Only a registry that answered lately is waited for when nothing answers
 * (a registry restarting): one never seen answering is refused at the first
 * refused or unanswered connection, as `docker pull` refuses it, so that each
 * new dead name costs its partition one connection attempt, not the patience.
 *
 * While an outage is remembered, one upload every probeIntervalMs still tries
 * the registry (once, without waiting): a registry back up is found within
 * seconds instead of after the window (found by a review: the docs said it was
 * forgiven at once, but nothing asked it), and a dead one costs its partitions
 * one attempt per interval.
 *
 * Registries are named as parseImageReference names them, in one spelling
 * (`[0:0::1]:5050` and `[::1]:5050` are one registry, found by a review: they
 * were two outages), so every spelling of a registry away is refused at once.
 */
/** The longest a registry's Retry-After holds its uploads back: a registry asking for days is asked again sooner. */
const MAX_RATE_LIMIT_MS = 3_600_000;

export class RegistryOutages {
  private readonly away = new Map<string, number>();
  private readonly lastAnswer = new Map<string, number>();
  private readonly limits = new Map<string, { readonly until: number; readonly why: string }>();
  private readonly probes = new Map<string, number>();
  /** Names a probe is trying right now: a silent registry holds each for its answer timeout (30 s), not the 5 s. */
  private readonly probing = new Set<string>();

  /**
   * @param windowMs how long an outage refuses uploads at once
   * @param answeredWindowMs how long an answer counts as lately @default 1 hour
   * @param probeIntervalMs how often an upload may try a registry whose outage is remembered @default 5 s
   */
  constructor(private readonly windowMs: number, private readonly now: () => number = Date.now, private readonly answeredWindowMs = 3_600_000, readonly probeIntervalMs = 5_000) {}

  /** The registry stayed away (a whole patience, or at first contact), just now; or `registry/repository` kept failing. */
  record(registry: string): void {
    this.away.set(registry, this.now());
    forgetOlder(this.away, this.now() - this.windowMs);
    forgetOlder(this.probes, this.now() - this.windowMs);
  }

  /**
   * Whether an upload naming a remembered registry (or `registry/repository`)
   * may try it now, taking the turn when it may (end it with probeEnded): not within probeIntervalMs
   * of the outage being seen, nor of the last upload that tried.
   */
  takeProbeTurn(registry: string): boolean {
    // One probe at a time (found by a review): a registry that takes connections and never answers held each probe
    // 30 s, so a turn every 5 s had six in flight, every partition the validator consumes at once.
    if (this.probing.has(registry)) return false;
    const last = Math.max(this.away.get(registry) ?? -Infinity, this.probes.get(registry) ?? -Infinity);
    if (this.now() - last < this.probeIntervalMs) return false;
    this.probes.set(registry, this.now());
    this.probing.add(registry);
    return true;
  }

  /** The probe takeProbeTurn let through has ended, however it ended: the next turn may be given. */
  probeEnded(registry: string): void {
    this.probing.delete(registry);
  }

  /** `registry/repository` served again: its outage is over. */
  recovered(repository: string): void {
    this.away.delete(repository);
    this.probes.delete(repository);
  }

  /** A pull from `repository` of `registry` was served (or refused: an answer all the same): both outages are over. */
  served(registry: string, repository: string): void {
    this.answered(registry);
    this.recovered(repository);
  }

  /** When the registry was last seen away, if that is within the window. */
  recentOutage(registry: string): Date | undefined {
    const at = this.away.get(registry);
    return at !== undefined && this.now() - at <= this.windowMs ? new Date(at) : undefined;
  }

  /**
   * The registry answered 429: it limits this client as a whole (Docker Hub
   * counts pulls per address), so every repository of it waits until the
   * time it named, else for the window.
   */
  rateLimited(registry: string, why: string, retryAfterMs: number | undefined): void {
    this.limits.set(registry, { until: this.now() + Math.min(retryAfterMs ?? this.windowMs, MAX_RATE_LIMIT_MS), why });
    for (const [name, limit] of this.limits) if (limit.until < this.now()) this.limits.delete(name);
  }

  /** Until when, and why, the registry limits this client; undefined once that has passed. */
  rateLimit(registry: string): { until: Date; why: string } | undefined {
    const limit = this.limits.get(registry);
    return limit !== undefined && limit.until > this.now() ? { until: new Date(limit.until), why: limit.why } : undefined;
  }

  /** The registry answered (a pull, or a refusal of one): any outage is over. */
  answered(registry: string): void {
    this.recovered(registry);
    this.lastAnswer.set(registry, this.now());
    forgetOlder(this.lastAnswer, this.now() - this.answeredWindowMs);
  }

  /** True when the registry answered within the last answeredWindowMs: worth waiting for when it goes quiet. */
  answeredLately(registry: string): boolean {
    const at = this.lastAnswer.get(registry);
    return at !== undefined && this.now() - at <= this.answeredWindowMs;
  }
}

/** Bounded by the registries seen within one window: older ones go. */
function forgetOlder(seen: Map<string, number>, before: number): void {
  for (const [name, at] of seen) if (at < before) seen.delete(name);
}
