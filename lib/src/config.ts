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
  const raw: Record<string, string | undefined> = {};
  for (const name of Object.keys(shape)) {
    const value = env[name];
    raw[name] = value === '' ? undefined : value;
  }
  const result = z.object(shape).safeParse(raw);
  if (result.success) return result.data as ConfigOf<S>;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '?');
    const given = raw[name];
    const shown = given === undefined ? 'missing' : `got "${redactIfSecret(name, given)}"`;
    return `${name}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(problems);
}

function redactIfSecret(name: string, value: string): string {
  return /SECRET|PASSWORD|TOKEN|KEY|CREDENTIAL/i.test(name) ? '[redacted]' : value;
}

/** Field builders, so every service spells the same kind of variable the same way. */
export const env = {
  string: (fallback?: string) => (fallback === undefined ? z.string().min(1) : z.string().min(1).default(fallback)),
  optionalString: () => z.string().min(1).optional(),
  url: (fallback?: string) => {
    const url = z.string().url({ message: 'must be a URL like http://host:port' });
    return fallback === undefined ? url : url.default(fallback);
  },
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int({ message: 'must be a whole number' }).min(min).max(max).default(fallback),
  number: (fallback: number, min = 0) => z.coerce.number().min(min).default(fallback),
  bool: (fallback: boolean) =>
    z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
      .transform((value) => value === 'true' || value === '1' || value === 'yes')
      .default(fallback),
  list: (fallback: string) =>
    z.string().default(fallback).transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
      .refine((items) => items.length > 0, { message: 'must list at least one item' }),
  enumOf: <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) => z.enum(values).default(fallback),
};
