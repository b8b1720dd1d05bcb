import { describe, expect, it } from 'vitest';
import { BUNDLED_MIGRATIONS } from '@orbit/lib';
import { createHash } from 'node:crypto';
import { isRecordedAs, loadMigrations, statementsOf, tableOf } from './migrations.js';

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

describe('isRecordedAs', () => {
  const outboxSent = loadMigrations().find((migration) => migration.version === '0006');
  if (!outboxSent) throw new TypeError('migration 0006 is bundled');

  // Installs made at ac81eb6 or 9cfa6ad recorded 0006 as it read before a2dd93f, and every provision since failed
  // with ORBIT_ERR_MIGRATION_CHANGED.
  it('takes 0006 as recorded by the installs made before its edit', () => {
    const before = 'ALTER TABLE viewport_outbox\n  ADD COLUMN IF NOT EXISTS sent_at DATETIME(3) NULL,\n  ADD KEY IF NOT EXISTS ix_viewport_outbox_sent (sent_at, id);';
    const earlierText = outboxSent.sql.replace(/-- Plain ALTER[^\n]*\n/, '').replace(/ALTER TABLE viewport_outbox[\s\S]*$/, `${before}\n`);
    const earlierChecksum = createHash('sha256').update(earlierText).digest('hex');
    expect(earlierChecksum).toBe('2dd03b1bc0add464a9cbfebd0445775d78846d73c49fef2eb1a77f3e759c17b0');
    expect(isRecordedAs(outboxSent, earlierChecksum)).toBe(true);
    expect(isRecordedAs(outboxSent, outboxSent.checksum)).toBe(true);
  });

  it('still refuses any other text of it, and that earlier text for another migration', () => {
    expect(isRecordedAs(outboxSent, 'e'.repeat(64))).toBe(false);
    const other = loadMigrations().find((migration) => migration.version === '0007');
    expect(other && isRecordedAs(other, '2dd03b1bc0add464a9cbfebd0445775d78846d73c49fef2eb1a77f3e759c17b0')).toBe(false);
  });
});

describe('BUNDLED_MIGRATIONS', () => {
  // The services refuse to start on a database lacking one of that list; a migration left out of it would let a
  // service built with it run before `npm run provision` applied it.
  it('names every migration file, in order, and nothing else', () => {
    expect(BUNDLED_MIGRATIONS).toEqual(loadMigrations().map((migration) => migration.file));
  });
});

describe('tableOf', () => {
  // Named in ORBIT_ERR_MIGRATION_BLOCKED, and the table whose metadata locks it looks up.
  it('finds the table each bundled migration statement changes', () => {
    const tables = loadMigrations().flatMap((migration) => statementsOf(migration.sql).map(tableOf));
    expect(tables).not.toContain(undefined);
    expect(tables).toEqual(expect.arrayContaining(['wp_posts', 'viewport_requests', 'viewport_swap_gate', 'reference_uploads']));
  });

  it('reads CREATE INDEX … ON, quoted names and IF NOT EXISTS', () => {
    expect(tableOf('CREATE INDEX ix_viewport_requests_user ON viewport_requests (user_login)')).toBe('viewport_requests');
    expect(tableOf('CREATE TABLE IF NOT EXISTS `image_names` (a INT)')).toBe('image_names');
    expect(tableOf('INSERT IGNORE INTO viewport_swap_gate (id) VALUES (1)')).toBe('viewport_swap_gate');
    expect(tableOf('/* a comment */ ALTER TABLE t ADD COLUMN a INT')).toBeUndefined();
  });
});
