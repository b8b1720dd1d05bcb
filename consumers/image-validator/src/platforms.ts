/** Which manifest of a multi-platform image index Orbit validates and stores. */

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
  /** Windows images name the build they run on (10.0.20348.3692): a runtime takes the one of its host's build. */
  readonly 'os.version'?: string | undefined;
  /** What the OS must offer beyond its version (win32k for Windows images that need it). */
  readonly 'os.features'?: readonly string[] | undefined;
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
 * The platform an image config names: its os and architecture, and the variant, OS version and features when it
 * states them (the OCI config's `variant`, `os.version`, `os.features`). A field of another type is left out: the
 * config is read loosely here, and its shape is checked where it is parsed.
 */
export function platformOfConfig(config: { readonly os: string; readonly architecture: string } & Readonly<Record<string, unknown>>): Platform {
  const variant = stated(config['variant']);
  const osVersion = stated(config['os.version']);
  const features: unknown = config['os.features'];
  const texts = Array.isArray(features) ? features.filter((feature): feature is string => typeof feature === 'string') : [];
  const osFeatures = Array.isArray(features) && texts.length === features.length ? texts : undefined;
  return {
    os: config.os,
    architecture: config.architecture,
    ...(variant === undefined ? {} : { variant }),
    ...(osVersion === undefined ? {} : { 'os.version': osVersion }),
    ...(osFeatures === undefined ? {} : { 'os.features': osFeatures }),
  };
}

/** An architecture and its variant as containerd reads them when it matches platforms (containerd/platforms, normalizeArch). */
interface CpuPlatform {
  readonly architecture: string;
  readonly variant: string;
}

/**
 * containerd's reading of an architecture and variant: other names of an architecture (x86_64, aarch64, armhf) are
 * it, other spellings of a variant (7, v8.0) are it, the baseline variant of amd64 (v1) and arm64 (v8) is no
 * variant, and arm without one is v7. Two platforms that read the same are one to every node.
 */
export function normalizedCpu(architecture: string, variant: string | undefined): CpuPlatform {
  const arch = architecture.toLowerCase();
  const given = (variant ?? '').toLowerCase();
  switch (arch) {
    case 'i386':
      return { architecture: '386', variant: '' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: given === 'v1' ? '' : given };
    case 'aarch64':
    case 'arm64':
      return { architecture: 'arm64', variant: ['8', 'v8', 'v8.0'].includes(given) ? '' : ['9', '9.0', 'v9.0'].includes(given) ? 'v9' : given };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      return { architecture: 'arm', variant: given === '' || given === '7' ? 'v7' : ['5', '6', '8'].includes(given) ? `v${given}` : given };
    default:
      return { architecture: arch, variant: given };
  }
}

const normalizedOs = (os: string): string => (os.toLowerCase() === 'macos' ? 'darwin' : os.toLowerCase());

/** A text field of a platform when it says something: descriptors and configs are read loosely, so anything else is nothing said. */
function stated(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The os.features a platform states, sorted (their order says nothing), or undefined when it states none. */
function statedFeatures(platform: Platform): readonly string[] | undefined {
  const features: unknown = platform['os.features'];
  if (!Array.isArray(features) || features.length === 0) return undefined;
  return features.filter((feature): feature is string => typeof feature === 'string').sort();
}

/**
 * Whether the listed platform and the config's differ, as containerd reads them: os and architecture always; the
 * variant when both name one (an entry without it claims any CPU of the architecture, as buildx and crane list
 * them; a config without it says nothing of its CPU: older arm images were listed as arm/v6 by `docker manifest
 * annotate --variant` over configs written before Docker recorded a variant in them); the OS version and features
 * when both state them.
 */
function differsFromConfig(listed: Platform, config: Platform): boolean {
  const listedCpu = normalizedCpu(listed.architecture, stated(listed.variant));
  const configCpu = normalizedCpu(config.architecture, stated(config.variant));
  if (normalizedOs(listed.os) !== normalizedOs(config.os) || listedCpu.architecture !== configCpu.architecture) return true;
  if (stated(listed.variant) !== undefined && stated(config.variant) !== undefined && listedCpu.variant !== configCpu.variant) return true;
  const listedVersion = stated(listed['os.version']);
  const configVersion = stated(config['os.version']);
  if (listedVersion !== undefined && configVersion !== undefined && listedVersion !== configVersion) return true;
  const listedFeatures = statedFeatures(listed);
  const configFeatures = statedFeatures(config);
  return listedFeatures !== undefined && configFeatures !== undefined && listedFeatures.join(',') !== configFeatures.join(',');
}

/** ` with os.features win32k` when a platform states any: the names would otherwise read the same. */
const featuresOf = (platform: Platform): string => {
  const features = statedFeatures(platform);
  return features === undefined ? '' : ` with os.features ${features.join(', ')}`;
};

/**
 * Why an index entry's listed platform is not the one its config says, in the words of a refusal, or undefined when
 * they agree (or nothing is listed): a node picks the entry by the listing and runs what the config says, so an
 * arm/v7 binary listed as arm/v6 reaches a CPU that cannot run it. One wording for the whole index's check and a
 * single platform's pull.
 */
export function platformMismatch(role: string, listed: Platform | undefined, config: Platform): string | undefined {
  if (!listed || !differsFromConfig(listed, config)) return undefined;
  return `${role} is listed as ${platformName({ platform: listed })}${featuresOf(listed)} but its config says ${platformName({ platform: config })}${featuresOf(config)}`;
}
