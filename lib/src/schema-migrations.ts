import { setTimeout as sleep } from 'node:timers/promises';
import { OrbitError } from './errors.js';
import { causeChainOf, errorCodeOf } from './error-description.js';
import type { Logger } from './logger.js';
import { readinessReasonOf } from './health-server.js';
import { isRetriable } from './retry-classifier.js';

/**
 * The MySQL migrations (deploy/mysql/migrations) this build's code reads and writes through, by file name. Written
 * out here rather than read from deploy/mysql at run time: the services depend on @orbit/lib, not on
 * @orbit/local-stack, and need not ship deploy/. deploy/local's migrations test keeps this list equal to the files.
 */
export const BUNDLED_MIGRATIONS: readonly string[] = [
  '0001_viewport.sql',
  '0002_image_names.sql',
  '0003_transfers.sql',
  '0004_viewport_outbox.sql',
  '0005_gateway_outbox.sql',
  '0006_viewport_outbox_sent.sql',
  '0007_viewport_set_aside.sql',
  '0008_viewport_requests_target.sql',
  '0009_viewport_requests_notes.sql',
  '0010_viewport_requests_by_user.sql',
  '0011_upload_completions.sql',
  '0012_upload_idempotency_keys.sql',
  '0013_upload_claim_digests.sql',
  '0014_image_names_chart_name.sql',
  '0015_viewport_swap_gate.sql',
  '0016_transfer_idempotency_keys.sql',
  '0017_viewport_search_text.sql',
  '0018_reference_upload_limits.sql',
  '0019_reference_upload_registries.sql',
  '0020_viewport_owner_marks.sql',
  '0021_gateway_outbox_lease.sql',
];

/** The version of a migration file: its four leading digits, as schema_migrations records it. */
export const migrationVersionOf = (file: string): string => file.slice(0, 4);

/**
 * The database lacks migrations this build needs (new services started before `npm run provision`): its
 * statements would fail on a missing column or table, and a consumer would set its messages aside. Retriable: the
 * service waits, and goes on by itself once the migrations are applied.
 */
export class SchemaBehindError extends OrbitError {
  readonly missing: readonly string[];
  constructor(missing: readonly string[], cause?: unknown) {
    const shown = missing.length > 3 ? `${missing.slice(0, 3).join(', ')} and ${missing.length - 3} more` : missing.join(', ');
    super('ORBIT_ERR_SCHEMA_BEHIND', `the MySQL database lacks migration ${shown} of this build: run \`npm run provision\``, { retriable: true, cause });
    this.missing = missing;
  }
}

/** Just what the check asks of a mysql2 pool or connection. */
export interface MigrationsReader {
  query(sql: string): Promise<unknown>;
}

const NO_SUCH_TABLE = 'ER_NO_SUCH_TABLE';

/** The migrations of `bundled` that `schema_migrations` does not record; all of them in a database never provisioned. */
export async function missingMigrations(reader: MigrationsReader, bundled: readonly string[] = BUNDLED_MIGRATIONS): Promise<string[]> {
  const answer = await reader.query('SELECT version FROM schema_migrations').catch((error: unknown) => {
    if (errorCodeOf(error) === NO_SUCH_TABLE) return [[]];
    throw error;
  });
  const rows = (Array.isArray(answer) ? answer[0] : []) as readonly Record<string, unknown>[];
  const applied = new Set(rows.map((row) => String(row['version'])));
  return bundled.filter((file) => !applied.has(migrationVersionOf(file)));
}

/** Resolves when the database holds every migration of `bundled`; a SchemaBehindError naming them when it does not. */
export async function checkSchemaCurrent(reader: MigrationsReader, bundled: readonly string[] = BUNDLED_MIGRATIONS): Promise<void> {
  const missing = await missingMigrations(reader, bundled);
  if (missing.length > 0) throw new SchemaBehindError(missing);
}

export interface SchemaWaitOptions {
  /** Where the wait says it began and ended (warn, info). */
  readonly logger: Pick<Logger, 'warn' | 'info'>;
  /** How often the database is asked again. @default SCHEMA_POLL_MS */
  readonly pollMs?: number;
  /** @default BUNDLED_MIGRATIONS */
  readonly bundled?: readonly string[];
  /** Told each reason the wait goes on for, as it changes (a start's step on /readyz). */
  readonly onWaiting?: (reason: string) => void;
}

/** How often a service waiting for its migrations asks again: a provision takes seconds. */
export const SCHEMA_POLL_MS = 5_000;

/**
 * Waits until the database holds every migration this build needs, asking every `pollMs`. Said once when it starts
 * waiting (which migrations, and to run `npm run provision`), once per other reason (MySQL not answering), and once
 * when it goes on. An error no later attempt can mend ends the wait with it.
 */
export async function waitForCurrentSchema(reader: MigrationsReader, options: SchemaWaitOptions): Promise<void> {
  const pollMs = options.pollMs ?? SCHEMA_POLL_MS;
  let lastReason: string | undefined;
  for (;;) {
    try {
      await checkSchemaCurrent(reader, options.bundled);
      if (lastReason !== undefined) options.logger.info({ lastReason }, 'the MySQL schema is current; going on');
      return;
    } catch (error) {
      if (!isRetriable(error)) throw error;
      const reason = readinessReasonOf(error);
      if (reason !== lastReason) {
        const missing = error instanceof SchemaBehindError ? { missing: error.missing } : {};
        options.logger.warn({ err: error, ...missing }, 'waiting for the MySQL schema this build needs (asked again every few seconds)');
        options.onWaiting?.(reason);
        lastReason = reason;
      }
    }
    await sleep(pollMs);
  }
}

/** MySQL's answer to a statement naming a column the table does not have (errno 1054). */
const BAD_FIELD = 'ER_BAD_FIELD_ERROR';

/**
 * `work`, its unknown-column failures made a retriable SchemaBehindError while the database lacks a migration of this
 * build (put back from an older backup while the service runs): the message waits for the provision instead of
 * being set aside. With every migration there, the same failure is the statement's own mistake and stays as it is,
 * for the DLQ: a wait would hold the partition for ever on a misspelt column. (Until the schema is current a
 * service does not start consuming at all: waitForCurrentSchema.)
 */
export function waitingWhileSchemaBehind<A extends unknown[]>(reader: MigrationsReader, work: (...args: A) => Promise<void>, bundled: readonly string[] = BUNDLED_MIGRATIONS): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await work(...args);
    } catch (error) {
      if (!causeChainOf(error).some((link) => errorCodeOf(link) === BAD_FIELD)) throw error;
      const missing = await missingMigrations(reader, bundled).catch((checkFailed: unknown) => {
        // Not known either way: waited for while MySQL cannot say, the statement's error once it can.
        throw isRetriable(checkFailed) ? checkFailed : error;
      });
      throw missing.length > 0 ? new SchemaBehindError(missing, error) : error;
    }
  };
}
