/** `npm run --silent token -- <username> [--role R]...`: prints a token the local gateway accepts. */
import { failPlainly, parseCommandLine, readConfig } from '@orbit/lib';
import { issueLocalToken } from './auth.js';
import { gatewayEnv } from './config.js';
import { TOKEN_USAGE, tokenUserOf } from './token-arguments.js';

failPlainly('token');

const { positionals, values } = parseCommandLine({ allowPositionals: true, options: { role: { type: 'string', multiple: true } } }, TOKEN_USAGE);
const user = tokenUserOf(positionals);
if ('refused' in user) {
  process.stderr.write(`${user.refused}\n`);
  process.exit(2);
}
const config = readConfig({ JWT_SECRET: gatewayEnv.JWT_SECRET, JWT_ISSUER: gatewayEnv.JWT_ISSUER, JWT_AUDIENCE: gatewayEnv.JWT_AUDIENCE });
process.stdout.write(`${await issueLocalToken({ secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE }, user.username, values.role ?? [])}\n`);
