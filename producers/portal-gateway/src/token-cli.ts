/** `npm run --silent token -- <username> [--role R]...`: prints a token the local gateway accepts. */
import { failPlainly, parseCommandLine } from '@orbit/lib';
import { issueLocalToken } from './auth.js';
import { localTokenSettings } from './config.js';
import { TOKEN_USAGE, tokenUserOf } from './token-arguments.js';

failPlainly('token');

const { positionals, values } = parseCommandLine({ allowPositionals: true, options: { role: { type: 'string', multiple: true } } }, `${TOKEN_USAGE}   (prints a token the local gateway accepts, for that user with the roles named)`);
const user = tokenUserOf(positionals);
if ('refused' in user) {
  process.stderr.write(`${user.refused}\n`);
  process.exit(2);
}
process.stdout.write(`${await issueLocalToken(localTokenSettings(), user.username, values.role ?? [])}\n`);
