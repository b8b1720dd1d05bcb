/**
 * Versions an image shows (its newest, oldest first), alone and in a listing; every one is a page at a time on
 * /versions. An image's thousand versions were megabytes in one answer, and a listing page of such images a hundred
 * times that (found by a probe); Harbor and ECR list a repository's artifacts apart from the repository as well.
 */
export const VERSIONS_SHOWN = { image: 100, listing: 10 };

/** A version as an overview first knows it: its position (upload order) and the environments it is present in. */
export interface VersionReach {
  readonly at: number;
  readonly environments: readonly string[];
}

/** What an image's overview shows the caller, before any version's meta is read. */
export interface OverviewPlan {
  /** Positions of the newest versions shown, oldest first. */
  readonly shown: number[];
  /** Positions of every version the caller sees, oldest first: another owner's image's description is the newest upload's among them. */
  readonly seen: number[];
  /** Every version the caller sees. */
  readonly versionCount: number;
  /** Every environment one of those versions is present in, in upload order of first presence. */
  readonly environments: string[];
}

/**
 * Which versions an overview of an image shows: of the versions the caller
 * sees (all when they own it; of anyone else's, those present in an
 * environment they read, as visibleImage judges), the newest `newest`. Counts
 * and environments are over every version seen, so a bounded overview says
 * as much about the image as a whole one, only fewer versions' facts. Undefined
 * when the caller sees nothing of another owner's image (answered as unknown).
 */
export function planOverview(owned: boolean, versions: readonly VersionReach[], readable: readonly string[], newest: number): OverviewPlan | undefined {
  const seen = owned ? versions : versions.filter((version) => version.environments.some((environment) => readable.includes(environment)));
  if (!owned && seen.length === 0) return undefined;
  return {
    shown: seen.slice(Math.max(0, seen.length - newest)).map((version) => version.at),
    seen: seen.map((version) => version.at),
    versionCount: seen.length,
    environments: [...new Set(seen.flatMap((version) => version.environments))],
  };
}
