import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventLoggerEnv } from '../../consumers/event-logger/src/config.js';
import { validatorEnv } from '../../consumers/image-validator/src/config.js';
import { gatewayEnv } from '../../producers/portal-gateway/src/config.js';
import { REPO_ROOT, runningSourceFiles } from '../../test/helpers/source-files.js';
import { readConfig, type EnvShape } from './config.js';
import { runtimeEnv } from './runtime-config.js';

/** README's Configuration table against what start-up and the helper scripts really read. */
const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The variables start-up refuses outside a range, with that range; `max` absent: no ceiling. */
const BOUNDED: readonly { readonly variable: string; readonly shape: EnvShape; readonly min: number; readonly max?: number }[] = [
  { variable: 'KAFKA_REPLICATION_FACTOR', shape: runtimeEnv, min: 1, max: 7 },
  { variable: 'ORBIT_KAFKA_SESSION_TIMEOUT_MS', shape: runtimeEnv, min: 6000, max: 1_800_000 },
  { variable: 'ORBIT_CONSUMER_STALL_MS', shape: runtimeEnv, min: 15_000 },
  { variable: 'JWT_CLOCK_TOLERANCE_SECONDS', shape: gatewayEnv, min: 0, max: 600 },
  { variable: 'ORBIT_IDEMPOTENCY_KEY_TTL_HOURS', shape: gatewayEnv, min: 1, max: 8784 },
  { variable: 'ORBIT_MYSQL_ANSWER_TIMEOUT_SECONDS', shape: gatewayEnv, min: 1, max: 600 },
  { variable: 'ORBIT_S3_SILENCE_TIMEOUT_SECONDS', shape: gatewayEnv, min: 5, max: 600 },
  { variable: 'ORBIT_S3_SILENCE_TIMEOUT_SECONDS', shape: validatorEnv, min: 5, max: 600 },
  { variable: 'ORBIT_IDLE_TIMEOUT_SECONDS', shape: gatewayEnv, min: 60, max: 3600 },
  { variable: 'ORBIT_MIN_UPLOAD_BYTES_PER_SECOND', shape: gatewayEnv, min: 0, max: 1_048_576 },
  { variable: 'ORBIT_SHUTDOWN_GRACE_SECONDS', shape: gatewayEnv, min: 0, max: 3600 },
  { variable: 'ORBIT_MAX_PENDING_REFERENCE_UPLOADS', shape: gatewayEnv, min: 1, max: 64 },
  { variable: 'ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY', shape: gatewayEnv, min: 1, max: 64 },
  { variable: 'ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER', shape: gatewayEnv, min: 1, max: 64 },
  { variable: 'ORBIT_MAX_STREAMED_UPLOADS', shape: gatewayEnv, min: 1, max: 1024 },
  { variable: 'ORBIT_MAX_DETACHED_HANDLERS', shape: validatorEnv, min: 1, max: 64 },
  { variable: 'ORBIT_EVENT_LOG_RETENTION_DAYS', shape: eventLoggerEnv, min: 0, max: 36_500 },
];

/** One benchmark's knobs, each read beside its use in that benchmark's file: not the product's configuration. */
const BENCHMARK_KNOB = /^ORBIT_BENCH_/;

describe('README configuration', () => {
  it('gives the range start-up enforces for each bounded variable (KAFKA_REPLICATION_FACTOR, ORBIT_CONSUMER_STALL_MS, … gave none)', () => {
    for (const { variable, shape, min, max } of BOUNDED) {
      expect(takes(shape, variable, min), `${variable} takes ${min}`).toBe(true);
      if (min > 0) expect(takes(shape, variable, min - 1), `${variable} refuses ${min - 1}`).toBe(false);
      if (max !== undefined) {
        expect(takes(shape, variable, max), `${variable} takes ${max}`).toBe(true);
        expect(takes(shape, variable, max + 1), `${variable} refuses ${max + 1}`).toBe(false);
      }
      expect(rowOf(variable), `README's row of ${variable} states its range`).toContain(max === undefined ? `at least ${min}` : `${min} to ${max}`);
    }
  });

  it('says which requests ORBIT_IDEMPOTENCY_KEY_TTL_HOURS holds a key to, as the gateway hands it to their claims (the row named the upload alone; a transfer\'s key is held to it too)', () => {
    const main = readFileSync(join(REPO_ROOT, 'producers/portal-gateway/src/main.ts'), 'utf8');
    const heldBy = [...main.matchAll(/mysql(Upload|Transfer)Claims\([^\n]*\bORBIT_IDEMPOTENCY_KEY_TTL_HOURS\b/g)].map((match) => (match[1] ?? '').toLowerCase()).sort();
    expect(heldBy).toEqual(['transfer', 'upload']);
    const row = rowOf('ORBIT_IDEMPOTENCY_KEY_TTL_HOURS');
    for (const request of heldBy) expect(row, `the row names the ${request} a key names`).toContain(`the ${request} of \``);
  });

  it('names every variable the code reads from the environment by hand (ORBIT_STOP_GRACE_MS, ORBIT_MINIO_VERSION, ORBIT_GATEWAY_URL were not)', () => {
    const documented = sectionOf('Configuration') + sectionOf('The local stack');
    const read = variablesReadIn(runningSourceFiles(['bench'])).filter((variable) => !BENCHMARK_KNOB.test(variable));
    expect(read).toContain('ORBIT_STOP_GRACE_MS');
    expect(read.filter((variable) => !documented.includes(`\`${variable}\``)), 'read by the code, named in neither README section').toEqual([]);
  });
});

/** Whether start-up takes `value` for the variable. */
function takes(shape: EnvShape, variable: string, value: number): boolean {
  const schema = shape[variable];
  if (schema === undefined) throw new Error(`${variable} is not in the shape`);
  try {
    readConfig({ [variable]: schema }, { [variable]: String(value) });
    return true;
  } catch {
    return false;
  }
}

/** The text of a `## ` section of the README, up to the next one. */
function sectionOf(heading: string): string {
  const section = README.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0];
  if (section === undefined) throw new Error(`README has no section ${heading}`);
  return section;
}

/** The Configuration table's row whose first cell names the variable. */
function rowOf(variable: string): string {
  const rows = sectionOf('Configuration').split('\n').filter((line) => line.startsWith('| ') && (line.split(' | ')[0] ?? '').includes(`\`${variable}\``));
  expect(rows, `README's Configuration table has one row for ${variable}`).toHaveLength(1);
  return rows[0] ?? '';
}

/** Variables read straight from the environment (`process.env['X']`, `env['X']`, `env.X`), not through a config shape. */
function variablesReadIn(files: readonly string[]): string[] {
  const read = files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/(?:process\.env|\benv)(?:\[['"]([A-Z][A-Z0-9_]*)['"]\]|\.([A-Z][A-Z0-9_]*)\b)/g)]
    .map((match) => match[1] ?? match[2] ?? ''));
  return [...new Set(read)].sort();
}
