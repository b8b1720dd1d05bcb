import { callerOf, UnauthorizedError } from './auth.js';
import type { TransferPolicy } from './transfer-rules.js';

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

/**
 * The roles a token may carry, those some environment of the chain needs to be promoted into (the only roles the
 * gateway reads), or why not: a misspelt `--role release-manger` signed a token the gateway then answered with
 * ROLE_REQUIRED, far from the typo.
 */
export function tokenRolesOf(asked: readonly string[], policy: TransferPolicy): { readonly roles: readonly string[] } | { readonly refused: string } {
  const known = rolesThePolicyReads(policy);
  const unknown = [...new Set(asked.filter((role) => !known.includes(role)))];
  if (unknown.length === 0) return { roles: [...new Set(asked)] };
  const named = unknown.map((role) => JSON.stringify(role)).join(', ');
  const existing = known.length > 0
    ? `the roles that exist are ${known.join(', ')}`
    : 'no environment of the chain needs a role';
  return { refused: `no environment of the chain (ORBIT_ENVIRONMENT_CHAIN, ORBIT_TRANSFER_ROLES) needs the role ${named}: ${existing}` };
}

/** Roles of the chain's targets, in chain order; the first environment's is never read, as nothing is promoted into it. */
function rolesThePolicyReads(policy: TransferPolicy): string[] {
  const roles = policy.chain.slice(1).map((target) => policy.roles.get(target)).filter((role): role is string => role !== undefined);
  return [...new Set(roles)];
}
