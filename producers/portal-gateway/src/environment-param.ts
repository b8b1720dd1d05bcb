import { ENVIRONMENT_NAMES, parseEnvironmentName, type EnvironmentName } from '@orbit/lib';
import { RequestRefusedError } from './errors.js';

/**
 * An environment named in a path or query, in any letter case. A name no
 * environment has is refused as a transfer's is (400 UNKNOWN_ENVIRONMENT,
 * "<name> must be one of …"), not as a malformed request: the same mistake
 * had two codes. `problems` names `field` (`querystring.environment`,
 * `params.environment`).
 */
export function environmentOrThrow(asked: string, field: string): EnvironmentName {
  const environment = parseEnvironmentName(asked);
  if (!environment) {
    const message = `environment must be one of ${ENVIRONMENT_NAMES.join(', ')}, not ${JSON.stringify(asked.slice(0, 64))}`;
    throw new RequestRefusedError(400, 'UNKNOWN_ENVIRONMENT', message, [{ field, message }]);
  }
  return environment;
}
