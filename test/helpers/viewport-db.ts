/**
 * A private copy of the ViewPort schema for a test: the projector's tests write
 * there instead of into the live `viewport` database the pipeline and other
 * tests read, and drop it afterwards.
 */
import { createMysqlPool, databaseOf } from '@orbit/lib';
import type { Pool } from 'mysql2/promise';
import { REBUILT_DATABASE_TABLES } from '../../consumers/viewport-projector/src/rebuild.js';
import { testConfig, uniqueSuffix } from './index.js';

export interface PrivateViewport {
  readonly database: string;
  readonly pool: Pool;
  drop(): Promise<void>;
}

/** Creates `<live>_t_<label>_<suffix>` (the user may create `viewport_*` databases) with the tables a rebuild needs, empty. */
export async function privateViewport(label: string, connections = 4): Promise<PrivateViewport> {
  const live = databaseOf(testConfig.MYSQL_URL);
  const database = `${live}_t_${label}_${uniqueSuffix()}`;
  const admin = createMysqlPool(testConfig.MYSQL_URL, 1);
  try {
    await admin.query(`CREATE DATABASE \`${database}\``);
    for (const table of REBUILT_DATABASE_TABLES) await admin.query(`CREATE TABLE \`${database}\`.\`${table}\` LIKE \`${live}\`.\`${table}\``);
  } finally {
    await admin.end();
  }
  const url = new URL(testConfig.MYSQL_URL);
  url.pathname = `/${database}`;
  const pool = createMysqlPool(url.toString(), connections);
  return {
    database, pool,
    async drop() {
      await pool.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await pool.end();
    },
  };
}
