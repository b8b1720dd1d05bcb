import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { SslOptions } from 'mysql2';
import { env } from './config.js';
import { ConfigError } from './errors.js';
import { readTlsFiles } from './tls-files.js';

/**
 * How every Orbit process reaches ViewPort's database: plain TCP on the local
 * stack's loopback; TLS for a server elsewhere (RDS, Aurora, a managed or
 * in-cluster MySQL), checked against the system's CAs or the ones given.
 */
export const mysqlConnectionEnv = {
  /** TLS to MySQL, trusting the system's CAs unless MYSQL_TLS_CA_FILE names others; on by itself when a MYSQL_TLS_*_FILE is set. @default false */
  MYSQL_TLS: env.bool(false),
  /** PEM file of the CAs the server's certificate is checked against (a private CA; RDS's global-bundle.pem). */
  MYSQL_TLS_CA_FILE: env.optionalString(),
  /** PEM client certificate for a user that must present one (REQUIRE X509), with MYSQL_TLS_KEY_FILE. */
  MYSQL_TLS_CERT_FILE: env.optionalString(),
  /** PEM private key of MYSQL_TLS_CERT_FILE. */
  MYSQL_TLS_KEY_FILE: env.optionalString(),
};

export interface MysqlConnectionConfig {
  readonly MYSQL_URL: string;
  readonly MYSQL_TLS?: boolean | undefined;
  readonly MYSQL_TLS_CA_FILE?: string | undefined;
  readonly MYSQL_TLS_CERT_FILE?: string | undefined;
  readonly MYSQL_TLS_KEY_FILE?: string | undefined;
}

/** The database and how to reach it: what every pool and connection Orbit opens is made from. */
export interface MysqlTarget {
  readonly url: string;
  readonly ssl?: SslOptions;
}

/** Spellings of "use TLS" from other drivers' URLs, which mysql2 would ignore (and connect in the clear). */
const TLS_LOOKALIKE = /ssl|tls/i;

/**
 * MYSQL_URL and the MYSQL_TLS_* variables, checked together at start, one line
 * per problem. The URL carries no options: mysql2 reads any `?name=value` as
 * one of its own and ignores (with a console line) those it does not know, so
 * `?sslmode=require` would connect without TLS, and its own `?ssl=` does not
 * check the server's name. TLS is asked for with the variables instead, and
 * always checks the certificate's chain and name.
 */
export function mysqlTarget(config: MysqlConnectionConfig, readFile: (path: string) => Buffer = readFileSync): MysqlTarget {
  const problems: string[] = [];
  const url = new URL(config.MYSQL_URL);
  if (url.protocol !== 'mysql:') problems.push(`MYSQL_URL: must be mysql://user:password@host:port/database (got a ${url.protocol}// URL)`);
  if (url.pathname.replace(/^\//, '') === '') problems.push('MYSQL_URL: names no database; add it as the path, as in mysql://user:password@host:3306/viewport');
  for (const name of new Set(url.searchParams.keys())) {
    problems.push(TLS_LOOKALIKE.test(name)
      ? `MYSQL_URL: ?${name} is not read (the driver would connect without TLS or without checking the server's name); set MYSQL_TLS=true, or MYSQL_TLS_CA_FILE for a private CA`
      : `MYSQL_URL: ?${name} is not read; Orbit sets the connection's options itself, so leave the URL without a query`);
  }
  const { requested: tls, ca, clientCertificate } = readTlsFiles('MYSQL_TLS', config, problems, { asked: config.MYSQL_TLS, certificateNeeds: 'a client certificate', readFile });
  // mysql2 sends no name for an address, and Node then checks the certificate as if the host were "localhost":
  // one that names the address is refused, and one that names localhost passes wherever it is served from.
  const host = hostAsDriverReadsIt(url.hostname);
  if (host === undefined) problems.push(`MYSQL_URL: the host ${url.hostname} is not valid percent-encoding`);
  else if (tls && isIP(host) !== 0) {
    problems.push(`MYSQL_URL: with TLS, give the host by a name its certificate carries, not the address ${url.hostname}: the driver cannot check an address against the certificate`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (!tls) return { url: config.MYSQL_URL };
  // mysql2 checks the certificate's name against the host only when asked (verifyIdentity).
  return { url: config.MYSQL_URL, ssl: { rejectUnauthorized: true, verifyIdentity: true, ...(ca ? { ca } : {}), ...clientCertificate } };
}

/**
 * The host mysql2 connects to: the URL's, without an IPv6 address's brackets and percent-decoded (a mysql: URL's
 * host is left encoded by the URL parser, so 127%2E0%2E0%2E1 is an address to the driver). Undefined when not decodable.
 */
function hostAsDriverReadsIt(hostname: string): string | undefined {
  try {
    return decodeURIComponent(hostname.replace(/^\[(.*)\]$/, '$1'));
  } catch {
    return undefined;
  }
}
