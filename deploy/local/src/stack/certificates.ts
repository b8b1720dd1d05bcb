import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCompletePem, partialOf, publish } from './atomic-file.js';
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
  const caKey = join(localCaDir(), 'ca-key.pem');
  const caComplete = isCompletePem(localCaFile()) && isCompletePem(caKey);
  if (caComplete && isCompletePem(issued.cert) && isCompletePem(issued.key)) return issued;
  const [openssl = 'openssl'] = ensureAptPackage(service, 'openssl', ['openssl']);
  const dir = localCaDir();
  mkdirSync(dir, { recursive: true });
  const run = (args: readonly string[]): void => {
    const result = spawnSync(openssl, [...args], { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) {
      throw new StackError('ORBIT_ERR_STACK_START', service, `openssl ${args[0] ?? ''} failed`, { log: logFile(service), tail: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim() });
    }
  };
  // openssl writes beside each file and the finished one is renamed into place, the key before its certificate.
  if (!caComplete) {
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=orbit-local-ca', '-keyout', partialOf(caKey), '-out', partialOf(localCaFile())]);
    publish(caKey);
    publish(localCaFile());
  }
  const request = join(dir, `${name}.csr`);
  const extensionFile = join(dir, `${name}.ext`);
  writeFileSync(extensionFile, `${extensions.join('\n')}\n`);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', partialOf(issued.key), '-out', request]);
  run(['x509', '-req', '-days', '3650', '-in', request, '-CA', localCaFile(), '-CAkey', caKey, '-CAcreateserial', '-extfile', extensionFile, '-out', partialOf(issued.cert)]);
  publish(issued.key);
  publish(issued.cert);
  return issued;
}
