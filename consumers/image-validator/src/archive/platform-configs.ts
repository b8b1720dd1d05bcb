import type { ImageConfigFacts } from '@orbit/schemas';

/** One runnable platform of a kept index, with the config facts of its image. */
export interface PlatformConfig {
  /** Its manifest's digest. */
  readonly digest: string;
  /** As notes name it (platformName): `linux/arm64/v8`. */
  readonly platform: string;
  /** Whether it is linux/amd64 (any variant), the platform taken whenever an index has it. */
  readonly linuxAmd64: boolean;
  readonly facts: ImageConfigFacts;
  /** Its manifest's annotations. */
  readonly annotations: Readonly<Record<string, string>>;
}

/** How one fact the chart generator reads is shown per platform: the same text for the same value. */
interface ComparedFact {
  readonly name: string;
  readonly shown: (facts: ImageConfigFacts) => string;
}

const listed = (values: readonly string[]): string => (values.length === 0 ? 'none' : [...new Set(values)].sort().join(', '));
const orNone = (value: string | null | undefined): string => value ?? 'none';
const json = (value: unknown): string => (value === null || value === undefined ? 'none' : JSON.stringify(value));

/**
 * What the chart generator reads from a config (ports, the user it runs as, the probes from the healthcheck and
 * the SHELL it runs with, the environment it writes into a ConfigMap, the working directory and the writable
 * VOLUMEs): a difference in any of them is a chart that fits one platform's image and not another's. Entrypoint,
 * cmd, labels and the stop signal are left out: the chart does not set them, so each node runs its own image's.
 */
const COMPARED_FACTS: readonly ComparedFact[] = [
  { name: 'exposed ports', shown: (facts) => listed(facts.exposedPorts) },
  { name: 'user', shown: (facts) => orNone(facts.user) },
  { name: 'healthcheck', shown: (facts) => json(facts.healthcheck) },
  { name: 'shell', shown: (facts) => json(facts.shell) },
  { name: 'working directory', shown: (facts) => orNone(facts.workingDir) },
  { name: 'volumes', shown: (facts) => listed(facts.volumes) },
];

/** `NAME=value` entries by name, the last one winning as it does in a container. */
function envByName(env: readonly string[]): ReadonlyMap<string, string> {
  return new Map(env.map((entry) => {
    const eq = entry.indexOf('=');
    return eq === -1 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
  }));
}

/** The variables whose value (or presence) differs between the platforms: their values may be long or many, so only names are said. */
function differingVariables(configs: readonly PlatformConfig[]): string[] {
  const envs = configs.map((config) => envByName(config.facts.env));
  const names = new Set(envs.flatMap((env) => [...env.keys()]));
  return [...names].filter((name) => new Set(envs.map((env) => env.get(name) ?? '\0absent')).size > 1).sort();
}

/** `name (linux/amd64: 8080/tcp; linux/arm64, linux/s390x: 9090/tcp)`: the platforms grouped by the value they have. */
function differenceOf(fact: ComparedFact, configs: readonly PlatformConfig[]): string | undefined {
  const byValue = new Map<string, string[]>();
  for (const config of configs) {
    const value = fact.shown(config.facts);
    byValue.set(value, [...(byValue.get(value) ?? []), config.platform]);
  }
  if (byValue.size < 2) return undefined;
  return `${fact.name} (${[...byValue].map(([value, platforms]) => `${platforms.join(', ')}: ${value}`).join('; ')})`;
}

/**
 * A note when the platforms of a kept index have configs that differ in what the chart is made from, naming the
 * platform whose config the summary (and so the chart) takes, and each fact that differs; undefined when they
 * agree, or when there is one platform. The whole index is pushed and every node runs its own platform's image
 * under the one chart, so a port, user or probe of the described platform may not be the image's on another:
 * said whether the described one is linux/amd64 or, with no linux/amd64 in the index, the first platform.
 */
export function platformConfigsNote(configs: readonly PlatformConfig[], described: string, where: string): string | undefined {
  const chosen = configs.find((config) => config.digest === described);
  if (chosen === undefined || new Set(configs.map((config) => config.digest)).size < 2) return undefined;
  const differences = COMPARED_FACTS.map((fact) => differenceOf(fact, configs)).filter((difference) => difference !== undefined);
  const variables = differingVariables(configs);
  if (variables.length > 0) differences.push(`environment variables ${variables.slice(0, 10).join(', ')}${variables.length > 10 ? ` and ${variables.length - 10} more` : ''}`);
  if (differences.length === 0) return undefined;
  const which = configs.some((config) => config.linuxAmd64) ? chosen.platform : `${chosen.platform} (${where} has no linux/amd64)`;
  return `the platforms of ${where} differ in what the chart is made from: ${differences.join('; ')}; the chart's ports, user, probes and environment come from ${which}, and a node of another platform runs its own image with them`;
}
