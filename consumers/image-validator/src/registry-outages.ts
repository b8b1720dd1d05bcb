/**
 * Registries that stayed away for a whole patience lately. An upload naming
 * one is refused at once while the outage is fresh: each would otherwise wait
 * out the patience (30 s) again, and every upload behind it on its partition
 * with it; a hundred references to one dead registry held uploads for 25 min.
 */
export class RegistryOutages {
  private readonly lastSeen = new Map<string, number>();

  constructor(private readonly windowMs: number, private readonly now: () => number = Date.now) {}

  /** The registry stayed away for a whole patience, just now. */
  record(registry: string): void {
    this.lastSeen.set(registry, this.now());
    // Bounded by the registries seen away within one window; forgotten ones go.
    for (const [name, at] of this.lastSeen) if (this.now() - at > this.windowMs) this.lastSeen.delete(name);
  }

  /** When the registry was last seen away, if that is within the window. */
  recentOutage(registry: string): Date | undefined {
    const at = this.lastSeen.get(registry);
    return at !== undefined && this.now() - at <= this.windowMs ? new Date(at) : undefined;
  }

  /** A pull from the registry answered: the outage is over. */
  clear(registry: string): void {
    this.lastSeen.delete(registry);
  }
}
