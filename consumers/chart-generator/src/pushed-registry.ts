import { unusableEvent } from '@orbit/lib';

/** `host[:port]/path` with its host lower-cased (registry hosts are DNS names) and no trailing slash. */
function normalised(registryPath: string): string {
  const path = registryPath.replace(/\/+$/, '');
  const slash = path.indexOf('/');
  return slash === -1 ? path.toLowerCase() : `${path.slice(0, slash).toLowerCase()}${path.slice(slash)}`;
}

/** The registries this service's charts may be pushed to and pin: ORBIT_IMAGE_REGISTRY and every ORBIT_ENVIRONMENT_REGISTRIES one. */
export function configuredRegistriesOf(settings: { readonly registry: string; readonly environmentRegistries?: ReadonlyMap<string, string> | undefined }): string[] {
  return [settings.registry, ...(settings.environmentRegistries?.values() ?? [])];
}

/**
 * Why the chart-generator must not push beside, nor pin, the image an
 * ImageStored or ImageCopied names, if it must not: its repository lies under
 * none of `registries` (ORBIT_IMAGE_REGISTRY and ORBIT_ENVIRONMENT_REGISTRIES).
 * The harbor-writer pushes only there, so any other one is a forged event, and
 * acted on, it made this service contact whatever host the event named (a
 * ghost ImageStored naming registry.example.com: DNS ENOTFOUND, found by a
 * review; a forged ImageCopied had the Testing chart pushed there and pinning
 * it, found by the next one). No reference (not pushed) is no problem.
 */
export function unconfiguredRegistryProblem(imageReference: string | null | undefined, registries: readonly string[]): string | undefined {
  if (imageReference === null || imageReference === undefined) return undefined;
  const at = imageReference.lastIndexOf('@');
  const repository = normalised(at === -1 ? imageReference : imageReference.slice(0, at));
  if (registries.some((registry) => registry !== '' && repository.startsWith(`${normalised(registry)}/`))) return undefined;
  const shown = imageReference.length > 200 ? `${imageReference.slice(0, 200)}…` : imageReference;
  return `imageReference ${JSON.stringify(shown)} is not under a registry this service is configured for (ORBIT_IMAGE_REGISTRY or ORBIT_ENVIRONMENT_REGISTRIES: ${registries.filter((registry) => registry !== '').join(', ')}); no chart is pushed beside it or pins it`;
}

/**
 * Refuses, as an event no Orbit service writes (ORBIT_ERR_DECODE: the consume
 * loop dead-letters it, the request fails DEAD_LETTERED, and a re-drive sets
 * it aside unless named), an event read from `topic` whose image is in a
 * registry outside `registries`: the letter says which event was forged.
 */
export function assertConfiguredRegistry(imageReference: string | null | undefined, registries: readonly string[], topic: string): void {
  const problem = unconfiguredRegistryProblem(imageReference, registries);
  if (problem !== undefined) throw unusableEvent(topic, problem);
}
