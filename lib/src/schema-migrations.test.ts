import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import {
  BUNDLED_MIGRATIONS, checkSchemaCurrent, missingMigrations, SchemaBehindError, waitForCurrentSchema, waitingWhileSchemaBehind, type MigrationsReader,
} from './schema-migrations.js';

/** A database whose schema_migrations answers what `answer` says at each ask. */
function databaseAnswering(answer: () => string[] | Error): MigrationsReader & { asked: number } {
  const reader = {
    asked: 0,
    query: async (): Promise<unknown> => {
      reader.asked += 1;
      const now = answer();
      if (now instanceof Error) throw now;
      return [now.map((version) => ({ version })), []];
    },
  };
  return reader;
}

const versionsOf = (files: readonly string[]): string[] => files.map((file) => file.slice(0, 4));
const allBut = (...left: string[]): string[] => versionsOf(BUNDLED_MIGRATIONS).filter((version) => !left.includes(version));

interface LoggedLine { readonly level: string; readonly msg: string; readonly [field: string]: unknown }

/** A service's logger, its lines kept in memory. */
function recordingLogger(): { logger: Logger; lines: () => LoggedLine[] } {
  const chunks: string[] = [];
  const destination = new Writable({ write(chunk: Buffer, _encoding, done) { chunks.push(chunk.toString()); done(); } });
  const lines = (): LoggedLine[] => chunks.join('').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as LoggedLine);
  return { logger: createLogger({ service: 'schema-wait-test', destination }), lines };
}

describe('missingMigrations', () => {
  it('names the bundled migrations schema_migrations does not record', async () => {
    expect(await missingMigrations(databaseAnswering(() => allBut('0008', '0016')))).toEqual(['0008_viewport_requests_target.sql', '0016_transfer_idempotency_keys.sql']);
    expect(await missingMigrations(databaseAnswering(() => versionsOf(BUNDLED_MIGRATIONS)))).toEqual([]);
  });

  it('takes versions a newer build applied as no concern of this one', async () => {
    expect(await missingMigrations(databaseAnswering(() => [...versionsOf(BUNDLED_MIGRATIONS), '9999']))).toEqual([]);
  });

  it('finds all of them missing in a database never provisioned', async () => {
    const noTable = Object.assign(new Error("Table 'orbit.schema_migrations' doesn't exist"), { code: 'ER_NO_SUCH_TABLE', errno: 1146 });
    expect(await missingMigrations(databaseAnswering(() => noTable))).toEqual([...BUNDLED_MIGRATIONS]);
  });
});

describe('checkSchemaCurrent', () => {
  it('fails naming the missing migration and the command that applies it', async () => {
    const failure = await checkSchemaCurrent(databaseAnswering(() => allBut('0008'))).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SchemaBehindError);
    expect(failure).toMatchObject({ code: 'ORBIT_ERR_SCHEMA_BEHIND', retriable: true, missing: ['0008_viewport_requests_target.sql'] });
    expect((failure as Error).message).toBe('the MySQL database lacks migration 0008_viewport_requests_target.sql of this build: run `npm run provision`');
  });
});

describe('waitForCurrentSchema', () => {
  // 1. behind twice (said once), 2. MySQL away (said, a new reason), 3. migrated: goes on, said once.
  it('waits while a migration is missing, says so once per reason, and goes on by itself once it is applied', async () => {
    const answers: (string[] | Error)[] = [allBut('0016'), allBut('0016'), new StoreUnavailableError('mysql', new Error('connect ECONNREFUSED')), versionsOf(BUNDLED_MIGRATIONS)];
    const database = databaseAnswering(() => answers.shift() ?? versionsOf(BUNDLED_MIGRATIONS));
    const { logger, lines } = recordingLogger();
    const reasons: string[] = [];
    await waitForCurrentSchema(database, { logger, pollMs: 1, onWaiting: (reason) => reasons.push(reason) });
    expect(database.asked).toBe(4);
    expect(lines().map((line) => line.level)).toEqual(['warn', 'warn', 'info']);
    expect(lines()[0]?.['missing']).toEqual(['0016_transfer_idempotency_keys.sql']);
    expect(reasons[0]).toContain('0016_transfer_idempotency_keys.sql');
    expect(reasons[0]).toContain('npm run provision');
    expect(reasons).toHaveLength(2);
  });

  it('returns at once, saying nothing, when the schema is current', async () => {
    const { logger, lines } = recordingLogger();
    await waitForCurrentSchema(databaseAnswering(() => versionsOf(BUNDLED_MIGRATIONS)), { logger, pollMs: 1 });
    expect(lines()).toEqual([]);
  });

  it('ends with an error no later attempt can mend', async () => {
    const typo = Object.assign(new Error('You have an error in your SQL syntax'), { code: 'ER_PARSE_ERROR', errno: 1064, sqlState: '42000' });
    await expect(waitForCurrentSchema(databaseAnswering(() => typo), { logger: recordingLogger().logger, pollMs: 1 })).rejects.toBe(typo);
  });
});

describe('waitingWhileSchemaBehind', () => {
  const unknownColumn = (): Error => Object.assign(new Error("Unknown column 'target_env' in 'field list'"), { code: 'ER_BAD_FIELD_ERROR', errno: 1054, sqlState: '42S22' });

  it('makes an unknown column a retriable wait, naming the migration, while one is missing', async () => {
    const failure = unknownColumn();
    const handler = waitingWhileSchemaBehind(databaseAnswering(() => allBut('0008')), async (_message: string) => { throw failure; });
    const thrown = await handler('m').catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(SchemaBehindError);
    expect(thrown).toMatchObject({ retriable: true, missing: ['0008_viewport_requests_target.sql'], cause: failure });
  });

  it('leaves it the statement\'s own mistake when every migration is there', async () => {
    const failure = unknownColumn();
    const handler = waitingWhileSchemaBehind(databaseAnswering(() => versionsOf(BUNDLED_MIGRATIONS)), async () => { throw failure; });
    await expect(handler()).rejects.toBe(failure);
  });

  it('waits while MySQL cannot say, and passes other failures and successes through untouched', async () => {
    const away = new StoreUnavailableError('mysql', new Error('connect ECONNREFUSED'));
    await expect(waitingWhileSchemaBehind(databaseAnswering(() => away), async () => { throw unknownColumn(); })()).rejects.toBe(away);
    const duplicate = Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY', errno: 1062 });
    const database = databaseAnswering(() => allBut('0008'));
    await expect(waitingWhileSchemaBehind(database, async () => { throw duplicate; })()).rejects.toBe(duplicate);
    await expect(waitingWhileSchemaBehind(database, async () => undefined)()).resolves.toBeUndefined();
    expect(database.asked).toBe(0);
  });
});
