import { StoreUnavailableError } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { accessDeniedOf, MysqlAccessDeniedError } from './mysql-access.js';

const URL_OF_ADA = 'mysql://ada:secret@db.example:3306/viewport';

/** An error as mysql2 makes it from the server's answer. */
const serverError = (errno: number, code: string, message: string) => Object.assign(new Error(message), { errno, code, sqlState: '42000' });

describe('accessDeniedOf', () => {
  it('reads a refused login inside the pool\'s wrapper, naming the user and MYSQL_URL\'s database, never the password', () => {
    const wrapped = new StoreUnavailableError('MySQL', serverError(1045, 'ER_ACCESS_DENIED_ERROR', "Access denied for user 'ada'@'10.0.0.7' (using password: YES)"));
    const denied = accessDeniedOf(wrapped, URL_OF_ADA);
    expect(denied).toBeInstanceOf(MysqlAccessDeniedError);
    expect(denied?.code).toBe('ORBIT_ERR_MYSQL_ACCESS_DENIED');
    expect(denied?.message).toBe("MySQL denied user ada access to database viewport (ER_ACCESS_DENIED_ERROR: Access denied for user 'ada'@'10.0.0.7' (using password: YES)): check the user name and password MYSQL_URL holds, and that the account is not locked or expired");
    expect(denied?.message).not.toContain('secret');
  });

  it('reads a locked account, an expired password and a socket-only account as refused logins (they read as MySQL unavailable; a bug reread)', () => {
    for (const [errno, code] of [[4151, 'ER_ACCOUNT_HAS_BEEN_LOCKED'], [3118, 'ER_ACCOUNT_HAS_BEEN_LOCKED'], [1862, 'ER_MUST_CHANGE_PASSWORD_LOGIN'], [1820, 'ER_MUST_CHANGE_PASSWORD'], [1698, 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR']] as const) {
      const denied = accessDeniedOf(new StoreUnavailableError('MySQL', serverError(errno, code, `refused ${errno}`)), URL_OF_ADA);
      expect(denied?.message, String(errno)).toBe(`MySQL denied user ada access to database viewport (${code}: refused ${errno}): check the user name and password MYSQL_URL holds, and that the account is not locked or expired`);
    }
  });

  it('names the database the server refused, which may be one a rebuild creates beside MYSQL_URL\'s', () => {
    const shadow = accessDeniedOf(serverError(1044, 'ER_DBACCESS_DENIED_ERROR', "Access denied for user 'ada'@'%' to database 'viewport_rebuild'"), URL_OF_ADA);
    expect(shadow).toMatchObject({ user: 'ada', database: 'viewport_rebuild', errno: 1044 });
    expect(shadow?.message).toContain('grant ada what the command needs on viewport (a rebuild also creates and drops viewport_rebuild and viewport_previous)');
    const table = accessDeniedOf(serverError(1142, 'ER_TABLEACCESS_DENIED_ERROR', "SELECT command denied to user 'ada'@'%' for table `viewport`.`wp_posts`"), URL_OF_ADA);
    expect(table).toMatchObject({ database: 'viewport', errno: 1142 });
    expect(table?.message).toContain('(ER_TABLEACCESS_DENIED_ERROR: SELECT command denied');
  });

  it('leaves MySQL away, and statements refused for what they hold, to what they were', () => {
    expect(accessDeniedOf(new StoreUnavailableError('MySQL', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', errno: -111 })), URL_OF_ADA)).toBeUndefined();
    expect(accessDeniedOf(serverError(1146, 'ER_NO_SUCH_TABLE', "Table 'viewport.wp_posts' doesn't exist"), URL_OF_ADA)).toBeUndefined();
    expect(accessDeniedOf(new Error('plain'), URL_OF_ADA)).toBeUndefined();
  });

  it('reads a user name MYSQL_URL percent-encodes as the account is named', () => {
    const denied = accessDeniedOf(serverError(1045, 'ER_ACCESS_DENIED_ERROR', 'Access denied'), 'mysql://ops%40corp:x@db/viewport');
    expect(denied?.user).toBe('ops@corp');
  });
});
