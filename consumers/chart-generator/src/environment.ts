import { ChartEnvironmentError } from './errors.js';

export const ENVIRONMENTS = ['Development', 'Testing', 'Staging', 'Production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Events carry the environment as free text; accept any letter case so `production` and `Production` agree. */
export function parseEnvironment(text: string): Environment {
  const found = ENVIRONMENTS.find((name) => name.toLowerCase() === text.trim().toLowerCase());
  if (found === undefined) throw new ChartEnvironmentError(text);
  return found;
}
