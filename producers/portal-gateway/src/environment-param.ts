import { ENVIRONMENT_NAMES, parseEnvironmentName, type EnvironmentName } from '@orbit/lib';
import { badRequest } from './errors.js';

/** An environment named in a path or query, in any letter case; an unknown name is a 400 naming `field` and the names there are. */
export function environmentOrThrow(asked: string, field: string): EnvironmentName {
  const environment = parseEnvironmentName(asked);
  if (!environment) throw badRequest(`unknown environment ${JSON.stringify(asked)}: use ${ENVIRONMENT_NAMES.join(', ')}`, field);
  return environment;
}
