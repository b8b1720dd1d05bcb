/**
 * Docker Hub goes by several names: people write `docker.io/…` (what
 * `docker inspect` and skopeo print) or `index.docker.io/…`, but its
 * distribution API answers only at registry-1.docker.io, and a one-part
 * repository there is an official image under `library/`. Every Docker
 * client applies these two rules; without them a Docker Hub reference fails.
 */
const DOCKER_HUB_NAMES: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export const DOCKER_HUB_API = 'registry-1.docker.io';

export interface DistributionAddress {
  /** Host[:port] the distribution API is asked at. */
  readonly registry: string;
  readonly repository: string;
}

export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_NAMES.has(registry.toLowerCase());
}

/** Where a reference's manifests and blobs are fetched from. */
export function distributionAddress(registry: string, repository: string): DistributionAddress {
  if (!isDockerHub(registry)) return { registry, repository };
  return { registry: DOCKER_HUB_API, repository: repository.includes('/') ? repository : `library/${repository}` };
}

/**
 * Credentials configured under the name the user wrote, else under any other
 * name of the same registry. `repository` (its distribution path) lets an
 * auth file keyed by namespace (`quay.io/org-a`) tell its robots apart.
 */
export function credentialsFor<C>(registry: string, credentials: { get(registry: string, repository?: string): C | undefined }, repository?: string): C | undefined {
  const written = credentials.get(registry, repository);
  if (written !== undefined || !isDockerHub(registry)) return written;
  for (const name of DOCKER_HUB_NAMES) {
    const found = credentials.get(name, repository);
    if (found !== undefined) return found;
  }
  return undefined;
}
