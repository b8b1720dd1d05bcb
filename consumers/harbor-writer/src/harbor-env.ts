import { bucketEnv, env, environmentRegistryEnv, imageRegistryEnv, imageRegistryOf, registryAccessEnv, type EnvironmentName } from '@orbit/lib';

/** Whether the harbor-writer pushes images into registries, which decides where each environment's charts pull from. */
export const registryPushEnv = {
  /**
   * Push every stored image to ORBIT_IMAGE_REGISTRY before the request goes on, and every transferred one to its
   * target's registry when ORBIT_ENVIRONMENT_REGISTRIES gives it one (false: the charts pin images someone else pushes). @default true
   */
  ORBIT_IMAGE_REGISTRY_PUSH: env.bool(true),
};

export const harborEnv = {
  ...bucketEnv,
  ...imageRegistryEnv,
  ...environmentRegistryEnv,
  ...registryAccessEnv,
  ...registryPushEnv,
};

/**
 * The registry path each environment's promoted charts pull from: its own
 * when the harbor-writer pushes there, else the upload registry (nothing
 * pushed a copy anywhere else, so the promotion pins the upload's).
 */
export function pullRegistryOf(config: {
  readonly ORBIT_IMAGE_REGISTRY_PUSH: boolean; readonly ORBIT_IMAGE_REGISTRY: string; readonly ORBIT_ENVIRONMENT_REGISTRIES: ReadonlyMap<EnvironmentName, string>;
}): (environment: EnvironmentName) => string {
  return (environment) => (config.ORBIT_IMAGE_REGISTRY_PUSH ? imageRegistryOf(environment, config) : config.ORBIT_IMAGE_REGISTRY);
}
