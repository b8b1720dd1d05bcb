/** Which manifest of a multi-platform image index Orbit validates and stores. */

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
  /** Windows images name the build they run on (10.0.20348.3692): a runtime takes the one of its host's build. */
  readonly 'os.version'?: string | undefined;
}

export interface IndexEntry {
  readonly platform?: Platform | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

/** The platform Kubernetes nodes run most often; taken whenever an index offers it. */
export const PREFERRED_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/**
 * BuildKit (docker buildx, the default since Docker 24) adds provenance and
 * SBOM documents to an image index as manifests for the platform
 * unknown/unknown, marked `vnd.docker.reference.type: attestation-manifest`.
 * They are not images: nothing could run them.
 */
export function isAttestation(entry: IndexEntry): boolean {
  return entry.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'
    || (entry.platform?.os === 'unknown' && entry.platform.architecture === 'unknown');
}

/**
 * The variant every CPU of an architecture runs: amd64/v2, v3 and v4 need
 * newer instructions (v3: AVX2, Haswell on), which older x86-64 nodes lack,
 * so an index listing v3 first must not have v3 taken for plain amd64.
 */
const BASELINE_VARIANTS: Readonly<Record<string, string>> = { amd64: 'v1', arm64: 'v8' };

/** Whether an entry runs on every CPU of its architecture: no variant, or the baseline one. */
const runsOnAnyCpu = (entry: IndexEntry): boolean => entry.platform?.variant === undefined || entry.platform.variant === BASELINE_VARIANTS[entry.platform.architecture];

/**
 * The wanted platform if offered (its baseline variant first), else the first
 * runnable entry (attestations only when nothing else is there).
 */
export function choosePlatform<T extends IndexEntry>(entries: readonly T[], wanted: Platform = PREFERRED_PLATFORM): T | undefined {
  const runnable = entries.filter((entry) => !isAttestation(entry));
  const pool = runnable.length > 0 ? runnable : entries;
  const offered = pool.filter((entry) => isPlatform(entry, wanted));
  return offered.find(runsOnAnyCpu) ?? offered[0] ?? pool[0];
}

/** Whether an entry is of `wanted`'s os and architecture (any variant): linux/amd64 unless told. */
export function isPlatform(entry: IndexEntry, wanted: Platform = PREFERRED_PLATFORM): boolean {
  return entry.platform?.os === wanted.os && entry.platform.architecture === wanted.architecture;
}

/** How an index entry is named in messages and notes: `linux/arm64/v8`, `windows/amd64 10.0.20348.3692`, `an attestation`, or `unknown platform`. */
export function platformName(entry: IndexEntry): string {
  if (isAttestation(entry)) return 'an attestation';
  const platform = entry.platform;
  if (!platform) return 'unknown platform';
  const osVersion: unknown = platform['os.version'];
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}${typeof osVersion === 'string' && osVersion !== '' ? ` ${osVersion}` : ''}`;
}

/**
 * A note naming each platform an index lists for two different images, as
 * runtimes resolve it (the first listed), or undefined when none is: such an
 * index is valid, but which image a node runs is easy to get wrong. The
 * os.version is part of the platform: a Windows image is listed once per
 * build (ltsc2025, ltsc2022, 1809), and a node runs the one of its own.
 */
export function platformsListedTwice(entries: readonly (IndexEntry & { readonly digest: string })[], where: string): string | undefined {
  const byPlatform = new Map<string, string[]>();
  for (const entry of entries) {
    if (isAttestation(entry) || entry.platform === undefined) continue;
    const digests = byPlatform.get(platformName(entry)) ?? [];
    if (!digests.includes(entry.digest)) digests.push(entry.digest);
    byPlatform.set(platformName(entry), digests);
  }
  const twice = [...byPlatform].filter(([, digests]) => digests.length > 1);
  if (twice.length === 0) return undefined;
  return `${where} lists ${twice.map(([platform, digests]) => `${platform} for ${digests.length} different images (${digests.join(', ')})`).join('; ')}: a runtime runs the first one listed`;
}

/**
 * Why an index entry's listed platform is not the one its config says, in the words of a refusal, or undefined when
 * they agree (or nothing is listed): a node picks the entry by the listing and runs what the config says. One wording
 * for the whole index's check and a single platform's pull.
 */
export function platformMismatch(role: string, listed: Platform | undefined, config: Platform): string | undefined {
  if (!listed || (listed.os === config.os && listed.architecture === config.architecture)) return undefined;
  return `${role} is listed as ${listed.os}/${listed.architecture} but its config says ${config.os}/${config.architecture}`;
}
