import type { Socket } from 'node:net';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { answerWithin } from './deadline.js';
import { MysqlSilentError } from './mysql.js';

/** A MySQL named lock (GET_LOCK) held on a connection of its own. */
export interface NamedLock {
  /** Fails with `lost(cause)` unless the lock is still this holder's (the server closed its connection, a KILL, a network cut). */
  assertHeld(lost: (cause?: unknown) => Error): Promise<void>;
  release(): Promise<void>;
}

/** How often the lock's otherwise idle connection is pinged: a proxy or NAT in between may close an idle socket too. */
const LOCK_PING_MS = 10_000;

/** Every statement on the lock's connection is answered at once by a server that answers at all (GET_LOCK waits 0 s). */
const LOCK_ANSWER_TIMEOUT_MS = 10_000;

/**
 * How long a release waits for RELEASE_LOCK and the goodbye, in all, before it drops the connection: the command's
 * work is done, and a dropped connection frees the lock on the server as surely (it did not, until a silent server
 * held transfers:reconcile after its report for ever, its session made to wait a year).
 */
const LOCK_RELEASE_TIMEOUT_MS = 3_000;

/** The socket under a mysql2 connection, to drop it outright. */
const socketOf = (connection: Connection): Socket => (connection as unknown as { connection: { stream: Socket } }).connection.stream;

/**
 * Takes `name` at once or throws `refused()`: one operations command of a kind
 * at a time (viewport:rebuild, transfers:reconcile), and MySQL frees the lock
 * when the process dies. `connection` is the lock's alone and idles for as
 * long as the command runs, so its session waits as long as the server allows
 * (a year) and it is pinged meanwhile; `onPingFailed` hears a ping that failed.
 */
export async function takeNamedLock(connection: Connection, name: string, refused: () => Error, onPingFailed: (error: unknown) => void = () => undefined): Promise<NamedLock> {
  let pinger: NodeJS.Timeout | undefined;
  // A silent server fails the statement (and the connection is dropped, which frees any lock it held).
  const answered = <T>(what: string, answer: Promise<T>): Promise<T> =>
    answerWithin(answer, LOCK_ANSWER_TIMEOUT_MS, () => new MysqlSilentError(what, LOCK_ANSWER_TIMEOUT_MS, false), () => socketOf(connection).destroy());
  try {
    // 31536000 s (a year) is the most both MariaDB and MySQL take.
    await answered('the lock\'s session', connection.query('SET SESSION wait_timeout = 31536000'));
    const [rows] = await answered(`the lock ${name}`, connection.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS taken', [name]));
    if (Number(rows[0]?.['taken']) !== 1) throw refused();
    pinger = setInterval(() => { connection.ping().catch(onPingFailed); }, LOCK_PING_MS);
    pinger.unref();
  } catch (error) {
    socketOf(connection).destroy();
    throw error;
  }
  return {
    assertHeld: async (lost) => {
      const [rows] = await answered(`the lock ${name}`, connection.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS held', [name]))
        .catch((error: unknown) => { throw lost(error); });
      if (Number(rows[0]?.['held']) !== 1) throw lost();
    },
    release: async () => {
      clearInterval(pinger);
      // mysql2's end resolves once QUIT is sent, and its destroy only half-closes: either way the socket stays open,
      // holding the process, until the server closes its side. Waited for a while, then dropped.
      const socket = socketOf(connection);
      const closed = new Promise((resolve) => { if (socket.destroyed) resolve(undefined); else socket.once('close', resolve); });
      const politely = async (): Promise<void> => {
        await connection.query('SELECT RELEASE_LOCK(?)', [name]);
        await connection.end();
        await closed;
      };
      await answerWithin(politely(), LOCK_RELEASE_TIMEOUT_MS, () => new Error('the lock\'s connection did not close')).catch(() => undefined);
      socket.destroy();
    },
  };
}
