import { z } from 'zod';
import { env } from './config.js';
import { namesRegistryRepository } from './registry/access.js';
import type { BucketNames, TableKey } from './stores.js';

/** The environments an image moves through, in the design's order. */
export const ENVIRONMENT_NAMES = ['Development', 'Testing', 'Staging', 'Production'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

const environmentName = z.enum(ENVIRONMENT_NAMES);

/**
 * The promotion chain and who may promote into each step. Configuration, so a
 * platform with no Staging (or more guarded Testing) says so without code.
 */
export const environmentEnv = {
  /** Environments in promotion order; a transfer goes one step along it. @default Development,Testing,Staging,Production */
  ORBIT_ENVIRONMENT_CHAIN: env.list('Development,Testing,Staging,Production').pipe(z.array(environmentName)
    .min(2, { message: 'must list at least two environments' })
    // Every upload is stored in Development: a chain starting elsewhere could never promote anything.
    .refine((chain) => chain[0] === 'Development', { message: 'must start with Development, where uploads are stored' })
    .refine((chain) => new Set(chain).size === chain.length, { message: 'must name each environment once' })),
  /** Role a caller needs to promote INTO an environment, as Env=role pairs; unlisted targets need no role. @default Production=release-manager */
  ORBIT_TRANSFER_ROLES: z.string().default('Production=release-manager').transform(environmentPairs('role')),
};

/** Parses `Env=value,Env=value` (names in any case), each environment at most once, each value passing `check`. */
function environmentPairs(what: string, check?: { test(value: string): boolean; message: string }) {
  return (text: string, context: z.RefinementCtx): ReadonlyMap<EnvironmentName, string> => {
    const values = new Map<EnvironmentName, string>();
    for (const pair of text.split(',').map((part) => part.trim()).filter(Boolean)) {
      const at = pair.indexOf('=');
      const [name, value] = at < 0 ? [pair, ''] : [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      const parsed = parseEnvironmentName(name);
      if (!parsed || !value) {
        context.addIssue({ code: 'custom', message: `"${pair}" is not Environment=${what} with an environment of ${ENVIRONMENT_NAMES.join(', ')}` });
        return z.NEVER;
      }
      if (values.has(parsed)) {
        context.addIssue({ code: 'custom', message: `${parsed} is named twice` });
        return z.NEVER;
      }
      if (check && !check.test(value)) {
        context.addIssue({ code: 'custom', message: `${parsed}: "${value}" ${check.message}` });
        return z.NEVER;
      }
      values.set(parsed, value);
    }
    return values;
  };
}

/**
 * Where each environment's images are pulled from, when environments have
 * registries (or registry projects) of their own, as Harbor and ECR setups
 * often do: a transfer then copies the image into the target's registry and
 * the promoted chart pulls it from there. Unlisted environments use
 * ORBIT_IMAGE_REGISTRY, where uploads are pushed.
 */
export const environmentRegistryEnv = {
  /** `Env=registry/path` pairs, e.g. `Production=prod.registry.example/orbit`. @default none */
  ORBIT_ENVIRONMENT_REGISTRIES: z.string().default('').transform(environmentPairs('registry/path', {
    test: namesRegistryRepository,
    message: 'is not a registry host and a path like registry.example.com/orbit',
  })).refine((registries) => !registries.has('Development'), {
    // Uploads are pushed to ORBIT_IMAGE_REGISTRY and their charts pin it: a second name for Development's would disagree with them.
    message: 'cannot name Development, which pulls from ORBIT_IMAGE_REGISTRY, where uploads are pushed',
  }),
};

/** The registry path (the chart name is appended) an environment's charts pull images from. */
export function imageRegistryOf(environment: EnvironmentName, config: { readonly ORBIT_IMAGE_REGISTRY: string; readonly ORBIT_ENVIRONMENT_REGISTRIES: ReadonlyMap<EnvironmentName, string> }): string {
  return config.ORBIT_ENVIRONMENT_REGISTRIES.get(environment) ?? config.ORBIT_IMAGE_REGISTRY;
}

export function parseEnvironmentName(text: string): EnvironmentName | undefined {
  return ENVIRONMENT_NAMES.find((name) => name.toLowerCase() === text.trim().toLowerCase());
}

/** The image bucket of each environment. */
export function imageBucketOf(environment: EnvironmentName, buckets: BucketNames): string {
  switch (environment) {
    case 'Development': return buckets.development;
    case 'Testing': return buckets.testing;
    case 'Staging': return buckets.stagingEnvironment;
    case 'Production': return buckets.production;
  }
}

/** The kustomize table (k8or-kustomize-*) of each environment. */
export function kustomizeTableKeyOf(environment: EnvironmentName): TableKey {
  switch (environment) {
    case 'Development': return 'kustomizeDevelopment';
    case 'Testing': return 'kustomizeTesting';
    case 'Staging': return 'kustomizeStaging';
    case 'Production': return 'kustomizeProduction';
  }
}

/** The environment after `from` in the chain, or undefined at its end. */
export function nextEnvironment(chain: readonly EnvironmentName[], from: EnvironmentName): EnvironmentName | undefined {
  const index = chain.indexOf(from);
  return index < 0 ? undefined : chain[index + 1];
}
