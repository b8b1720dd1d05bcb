import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Configuration comes only from environment variables. A service declares the
 * variables it reads as a zod shape keyed by variable name; `readConfig` checks
 * all of them at start and reports every problem at once, one line each.
 * Defaults point at the local stack (deploy/local).
 */
export type EnvShape = Record<string, z.ZodType>;
export type ConfigOf<S extends EnvShape> = { [K in keyof S]: z.output<S[K]> };

export function readConfig<S extends EnvShape>(shape: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const read = readVariables(shape, env);
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return read.values as ConfigOf<S>;
}

/** Checks of variables read together, by name: each returns what it makes of them or throws a ConfigError naming its problems. */
export type ConfigChecks<C> = Record<string, (config: C) => unknown>;

/**
 * readConfig, then every check of variables that only make sense together (MYSQL_URL with the MYSQL_TLS_* files, the
 * KAFKA_SASL_* variables), all in one pass: every problem of every variable and every check is reported at once, in
 * one ConfigError, one line each, not one round per fix. A check that reads a variable that is itself malformed is not
 * run (that variable's own line says what is wrong; a check on a value it never got would only add noise), and every
 * other check is. Returns the configuration and what each check made of it, under the check's name.
 */
export function readCheckedConfig<S extends EnvShape, K extends ConfigChecks<ConfigOf<S>>>(
  shape: S, checks: K, env: NodeJS.ProcessEnv = process.env,
): { config: ConfigOf<S>; checked: { [N in keyof K]: ReturnType<K[N]> } } {
  const read = readVariables(shape, env);
  const problems = [...read.problems];
  const malformed = new Set(read.malformed);
  // A check reading a malformed variable stops there (MalformedVariableRead), and is left out.
  const config = (malformed.size === 0 ? read.values : new Proxy(read.values, {
    get: (target, key, receiver) => {
      if (typeof key === 'string' && malformed.has(key)) throw new MalformedVariableRead(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
  })) as ConfigOf<S>;
  const checked: Record<string, unknown> = {};
  for (const [name, check] of Object.entries(checks)) {
    try {
      checked[name] = check(config);
    } catch (error) {
      if (error instanceof MalformedVariableRead) continue;
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error.problems) if (!problems.includes(problem)) problems.push(problem);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { config, checked: checked as { [N in keyof K]: ReturnType<K[N]> } };
}

/** What a check that read a malformed variable throws (see readCheckedConfig); never leaves it. */
class MalformedVariableRead extends Error {
  readonly variable: string;
  constructor(variable: string) {
    super(`${variable} is malformed`);
    this.variable = variable;
  }
}

/**
 * Each variable of `shape` from `env`, one by one: the values of those that parse, the names of those that do not
 * (present in `values`, as undefined), and one line per problem.
 */
function readVariables(shape: EnvShape, env: NodeJS.ProcessEnv): { values: Record<string, unknown>; malformed: string[]; problems: string[] } {
  const values: Record<string, unknown> = {};
  const malformed: string[] = [];
  const problems: string[] = [];
  for (const [name, schema] of Object.entries(shape)) {
    const value = env[name];
    // `PORT=` and `PORT= ` in an env file or a manifest both mean "not set": each takes the default, the same for every kind of variable.
    const given = value === undefined || value.trim() === '' ? undefined : value;
    const result = schema.safeParse(given);
    if (result.success) {
      values[name] = result.data;
      continue;
    }
    values[name] = undefined;
    malformed.push(name);
    const shown = given === undefined ? 'missing' : `got "${redactIfSecret(name, given)}"`;
    for (const issue of result.error.issues) problems.push(`${name}: ${issue.message} (${shown})`);
  }
  return { values, malformed, problems };
}

function redactIfSecret(name: string, value: string): string {
  return /SECRET|PASSWORD|TOKEN|KEY|CREDENTIAL/i.test(name) ? '[redacted]' : withoutUserinfo(value);
}

/**
 * A value as it may be echoed in a start-up error: whatever stands between a `//` and the last `@` after it (a URL's
 * user:password) is blanked. Read as text, not parsed, because the values echoed are the ones that failed to parse
 * (`mysql://orbit:pw@host:notaport/db`); the last `@`, so a password holding an unescaped `@` or `/` is blanked
 * whole, at the cost of hiding the host too when a later `@` sits in the path.
 */
export function withoutUserinfo(value: string): string {
  const start = value.indexOf('//');
  const at = value.lastIndexOf('@');
  return start === -1 || at <= start ? value : `${value.slice(0, start + 2)}[redacted]${value.slice(at)}`;
}

/** What a URL variable should look like, by its default's scheme: MySQL's has credentials and a database. */
export function urlExample(fallback: string | undefined): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(fallback ?? '')?.[1]?.toLowerCase() ?? 'http';
  return scheme === 'mysql' ? 'mysql://user:password@host:port/database' : `${scheme}://host:port`;
}

/** Field builders, so every service spells the same kind of variable the same way. */
export const env = {
  string: (fallback?: string) => (fallback === undefined ? z.string().min(1) : z.string().min(1).default(fallback)),
  optionalString: () => z.string().min(1).optional(),
  /** `example` is shown when the value is no URL; by default one of the fallback's scheme (see urlExample). */
  url: (fallback?: string, example: string = urlExample(fallback)) => {
    const url = z.string().url({ message: `must be a URL like ${example}` });
    return fallback === undefined ? url : url.default(fallback);
  },
  /** A URL that may be left unset. */
  optionalUrl: (example = 'https://host/path') => z.string().url({ message: `must be a URL like ${example}` }).optional(),
  // Digits only: Number() would take `1e3`, `0x50` or `Infinity` too, a value nobody means for a port or a count.
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    decimal(/^\d+$/, 'must be a whole number in decimal digits, like 8080').pipe(z.number().min(min).max(max)).default(fallback),
  number: (fallback: number, min = 0) =>
    decimal(/^\d+(\.\d+)?$/, 'must be a number in decimal digits, like 2 or 1.5').pipe(z.number().min(min)).default(fallback),
  /** An address to listen on: an IP address (`0.0.0.0`, `::`, `10.0.0.5`) or a host name. */
  host: (fallback: string) =>
    z.string().trim().refine((value) => isIP(value) !== 0 || HOST_NAME.test(value), { message: 'must be an address to listen on, like 0.0.0.0, :: or 127.0.0.1' }).default(fallback),
  // Helm values and .env files write True, TRUE or "true " as readily as true: none of them means anything else.
  bool: (fallback: boolean) =>
    z.string().trim().toLowerCase().pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }))
      .transform((value) => value === 'true' || value === '1' || value === 'yes')
      .default(fallback),
  list: (fallback: string) =>
    z.string().default(fallback).transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
      .refine((items) => items.length > 0, { message: 'must list at least one item' }),
  enumOf: <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) => z.enum(values).default(fallback),
};

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function decimal(pattern: RegExp, message: string) {
  return z.string().trim().regex(pattern, { message }).transform(Number);
}
