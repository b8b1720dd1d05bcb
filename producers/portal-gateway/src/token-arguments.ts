import { callerOf, UnauthorizedError } from './auth.js';

export const TOKEN_USAGE = 'npm run --silent token -- <username> [--role ROLE]...';

/**
 * The user a local token is for, or why there is none to print (a one-line
 * reason): no name or more than one, or a name the gateway would refuse in
 * the token (white space at an end, a control character…), checked by the
 * gateway's own rule, so the command never prints a token it refuses.
 */
export function tokenUserOf(positionals: readonly string[]): { readonly username: string } | { readonly refused: string } {
  const [username, ...extra] = positionals;
  if (username === undefined) return { refused: `usage: ${TOKEN_USAGE}` };
  if (extra.length > 0) return { refused: `one user name at a time, not ${positionals.map((name) => JSON.stringify(name)).join(' ')}\nusage: ${TOKEN_USAGE}` };
  if (username === '') return { refused: 'the user name is empty; the gateway takes a token only for a named user' };
  try {
    callerOf({ preferred_username: username, sub: username }, []);
  } catch (error) {
    if (error instanceof UnauthorizedError) return { refused: `the gateway would refuse that token: ${error.message}` };
    throw error;
  }
  return { username };
}
