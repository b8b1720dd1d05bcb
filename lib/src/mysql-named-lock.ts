import type { Connection, RowDataPacket } from 'mysql2/promise';

/** A MySQL named lock (GET_LOCK) held on a connection of its own. */
export interface NamedLock {
  /** Fails with `lost(cause)` unless the lock is still this holder's (the server closed its connection, a KILL, a network cut). */
  assertHeld(lost: (cause?: unknown) => Error): Promise<void>;
  release(): Promise<void>;
}

/** How often the lock's otherwise idle connection is pinged: a proxy or NAT in between may close an idle socket too. */
const LOCK_PING_MS = 10_000;

/**
 * Takes `name` at once or throws `refused()`: one operations command of a kind
 * at a time (viewport:rebuild, transfers:reconcile), and MySQL frees the lock
 * when the process dies. `connection` is the lock's alone and idles for as
 * long as the command runs, so its session waits as long as the server allows
 * (a year) and it is pinged meanwhile; `onPingFailed` hears a ping that failed.
 */
export async function takeNamedLock(connection: Connection, name: string, refused: () => Error, onPingFailed: (error: unknown) => void = () => undefined): Promise<NamedLock> {
  let pinger: NodeJS.Timeout | undefined;
  try {
    // 31536000 s (a year) is the most both MariaDB and MySQL take.
    await connection.query('SET SESSION wait_timeout = 31536000');
    const [rows] = await connection.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS taken', [name]);
    if (Number(rows[0]?.['taken']) !== 1) throw refused();
    pinger = setInterval(() => { connection.ping().catch(onPingFailed); }, LOCK_PING_MS);
    pinger.unref();
  } catch (error) {
    connection.destroy();
    throw error;
  }
  return {
    assertHeld: async (lost) => {
      const [rows] = await connection.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS held', [name])
        .catch((error: unknown) => { throw lost(error); });
      if (Number(rows[0]?.['held']) !== 1) throw lost();
    },
    release: async () => {
      clearInterval(pinger);
      await connection.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
      await connection.end().catch(() => connection.destroy());
    },
  };
}
