import { describe, expect, it } from 'vitest';
import { loadMigrations, statementsOf } from './migrations.js';

describe('statementsOf', () => {
  // Run one by one, so a re-run after a crash between two of them can pass over the first.
  it('splits a migration at its semicolons, not at those in comments or quotes', () => {
    const sql = "-- one; two\nALTER TABLE t ADD COLUMN a CHAR(3) DEFAULT ';', ADD COLUMN `b;c` INT; /* x; y */\nALTER TABLE t ADD COLUMN d TEXT COMMENT 'it''s; fine';\n";
    expect(statementsOf(sql)).toEqual([
      "ALTER TABLE t ADD COLUMN a CHAR(3) DEFAULT ';', ADD COLUMN `b;c` INT",
      "/* x; y */\nALTER TABLE t ADD COLUMN d TEXT COMMENT 'it''s; fine'",
    ]);
  });

  it('gives each ALTER of a migration that has two its own statement', () => {
    const claims = loadMigrations().find((migration) => migration.version === '0013');
    expect(statementsOf(claims?.sql ?? '').map((statement) => statement.split('\n')[0])).toEqual([
      'ALTER TABLE upload_idempotency_keys', 'ALTER TABLE upload_completions',
    ]);
  });
});
