/** `npm run --silent token -- <username> [--role R]...`: prints a token the local gateway accepts. */
import { environmentEnv, failPlainly, parseCommandLine, readConfig } from '@orbit/lib';
import { issueLocalToken } from './auth.js';
import { localTokenSettings } from './config.js';
import { TOKEN_USAGE, tokenRolesOf, tokenUserOf } from './token-arguments.js';

failPlainly('token');

const { positionals, values } = parseCommandLine({ allowPositionals: true, options: { role: { type: 'string', multiple: true } } }, `${TOKEN_USAGE}   (prints a token the local gateway accepts, for that user with the roles named)`);
const user = tokenUserOf(positionals);
if ('refused' in user) refuse(user.refused);
// Read as the gateway reads them, so the roles the command knows are the ones the gateway started with.
const environments = readConfig(environmentEnv);
const roles = tokenRolesOf(values.role ?? [], { chain: environments.ORBIT_ENVIRONMENT_CHAIN, roles: environments.ORBIT_TRANSFER_ROLES });
if ('refused' in roles) refuse(roles.refused);
process.stdout.write(`${await issueLocalToken(localTokenSettings(), user.username, roles.roles)}\n`);

function refuse(reason: string): never {
  process.stderr.write(`${reason}\n`);
  process.exit(2);
}
