import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from './errors.js';
import { ensureAptPackage } from './install.js';
import { dataDir, logFile } from './paths.js';

/** A PEM certificate and its unencrypted PEM key. */
export interface IssuedCertificate {
  readonly cert: string;
  readonly key: string;
}

/** The local stack's own CA: what MariaDB trusts client certificates by, and Kafka's mutual TLS listener too. */
export const localCaDir = (): string => dataDir('tls');
export const localCaFile = (): string => join(localCaDir(), 'ca.pem');

/** Where `issuedOnce(name)` keeps its certificate and key. */
export const issuedFiles = (name: string): IssuedCertificate => ({ cert: join(localCaDir(), `${name}-cert.pem`), key: join(localCaDir(), `${name}-key.pem`) });

/**
 * A certificate the local CA signs, made once with openssl (the CA too, the first time). `extensions` are
 * openssl's x509v3 lines: subjectAltName for a server, extendedKeyUsage for what it may do.
 */
export function issuedOnce(service: string, name: string, subject: string, extensions: readonly string[]): IssuedCertificate {
  const issued = issuedFiles(name);
  if (existsSync(issued.cert) && existsSync(issued.key)) return issued;
  const [openssl = 'openssl'] = ensureAptPackage(service, 'openssl', ['openssl']);
  const dir = localCaDir();
  mkdirSync(dir, { recursive: true });
  const run = (args: readonly string[]): void => {
    const result = spawnSync(openssl, [...args], { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) {
      throw new StackError('ORBIT_ERR_STACK_START', service, `openssl ${args[0] ?? ''} failed`, { log: logFile(service), tail: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim() });
    }
  };
  const caKey = join(dir, 'ca-key.pem');
  if (!existsSync(localCaFile()) || !existsSync(caKey)) {
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=orbit-local-ca', '-keyout', caKey, '-out', localCaFile()]);
  }
  const request = join(dir, `${name}.csr`);
  const extensionFile = join(dir, `${name}.ext`);
  writeFileSync(extensionFile, `${extensions.join('\n')}\n`);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', issued.key, '-out', request]);
  run(['x509', '-req', '-days', '3650', '-in', request, '-CA', localCaFile(), '-CAkey', caKey, '-CAcreateserial', '-extfile', extensionFile, '-out', issued.cert]);
  return issued;
}
