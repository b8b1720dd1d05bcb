import mysql from 'mysql2/promise';

/**
 * The stack's MariaDB root, over the server's own socket: only it can change
 * a server setting (wait_timeout, sql_mode), lock an account or KILL another
 * session. The socket is the stack's MYSQL_ADMIN_SOCKET.
 */
export async function asRoot<T>(work: (root: mysql.Connection) => Promise<T>): Promise<T> {
  const socketPath = process.env['MYSQL_ADMIN_SOCKET'];
  if (!socketPath) throw new Error('MYSQL_ADMIN_SOCKET is not set: run the tests with the stack\'s environment (npm run stack:env)');
  const root = await mysql.createConnection({ socketPath, user: 'root' });
  try {
    return await work(root);
  } finally {
    await root.end();
  }
}
