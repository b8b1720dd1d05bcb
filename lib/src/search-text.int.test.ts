import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../test/helpers/index.js';
import { createMysqlPool } from './mysql.js';
import { searchDescription, searchQuery, unsearchableReason } from './search-text.js';
import { ZERO_WEIGHT_RANGES } from './zero-weight.js';

const pool = createMysqlPool(testConfig.MYSQL_URL, 1);

afterAll(async () => {
  await pool.end();
});

/** Whether the gateway's comparison (LIKE under utf8mb4_unicode_ci, search-text.ts's q) finds `q` in `text`. */
async function likeFinds(text: string, q: string): Promise<boolean> {
  const [[row]] = await pool.query<RowDataPacket[]>(
    "SELECT CONVERT(? USING utf8mb4) LIKE CONCAT('%', CONVERT(? USING utf8mb4), '%') COLLATE utf8mb4_unicode_ci AS found", [text, searchQuery(q)]);
  return Number(row?.['found']) === 1;
}

describe('the characters utf8mb4_unicode_ci gives no weight', () => {
  it('are the ones zero-weight.ts lists, of the BMP (beyond it every character weighs U+FFFD)', async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT seq FROM seq_0_to_65535 WHERE (seq < 0xD800 OR seq > 0xDFFF)
         AND LENGTH(WEIGHT_STRING(CONVERT(CHAR(seq USING utf32) USING utf8mb4) COLLATE utf8mb4_unicode_ci)) = 0 ORDER BY seq`);
    const listed = ZERO_WEIGHT_RANGES.flatMap(([first, last]) => Array.from({ length: last - first + 1 }, (_, offset) => first + offset));
    expect(rows.map((row) => Number(row['seq']))).toEqual(listed);
    const [[beyond]] = await pool.query<RowDataPacket[]>(
      "SELECT HEX(WEIGHT_STRING(CONVERT(CHAR(0x1F600 USING utf32) USING utf8mb4) COLLATE utf8mb4_unicode_ci)) AS weight");
    expect(beyond?.['weight']).toBe('FFFD');
  });

  it('match one another under LIKE, so a q refused for one would have found a text without it; a mark on a letter finds that letter with any mark', async () => {
    const described = 'we \u2764\ufe0f tea';
    for (const q of ['\u06de', 'tea \ufe0f']) {
      expect(unsearchableReason(q), q).toBeDefined();
    }
    // A spacing accent (U+00B4, NFKC a space and U+0301) is taken as typed, and finds the description that holds it.
    expect(unsearchableReason('don\u00b4t')).toBeUndefined();
    expect(await likeFinds(searchDescription('we don\u00b4t panic'), 'don\u00b4t')).toBe(true);
    expect(await likeFinds(described, '\u06de')).toBe(true);
    expect(await likeFinds(described, '\u2764\u06de')).toBe(true);
    expect(unsearchableReason('\u2764\u06de')).toBeDefined();
    // Taken: the letter must be there, its mark stands for any.
    expect(unsearchableReason('\u2764\ufe0f tea')).toBeUndefined();
    expect(await likeFinds(described, '\u2764\ufe0f tea')).toBe(true);
    expect(await likeFinds('plain tea', '\u2764\ufe0f tea')).toBe(false);
    expect(await likeFinds('\u0e44\u0e21\u0e49', '\u0e44\u0e21\u0e48')).toBe(true);
  });
});
