import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-file.js';
import { issuedFiles, issuedOnce, localCaFile } from './certificates.js';
import { certificateOnce } from './services/kafka.js';
import { kmsKey } from './services/s3.js';
import { useTemporaryStackDir } from '../../../../test/helpers/stack-dir.js';

describe('writeFileAtomic', () => {
  it('leaves the file and nothing beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orbit-atomic-'));
    writeFileAtomic(join(dir, 'f'), 'x', 0o600);
    expect(readdirSync(dir)).toEqual(['f']);
  });

  it('leaves neither file nor leftover when the write fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orbit-atomic-'));
    expect(() => writeFileAtomic(join(dir, 'missing-folder', 'f'), 'x')).toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('files the stack makes once, left empty by a full disk', () => {
  const stackDir = useTemporaryStackDir('orbit-once');

  it('MinIO\'s KMS key is made anew rather than passed on empty', () => {
    mkdirSync(join(stackDir(), 'data'));
    writeFileSync(join(stackDir(), 'data', 's3-kms.key'), '');
    const key = kmsKey();
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(kmsKey()).toBe(key);
  });

  it('a TLS certificate is issued anew', () => {
    const first = issuedOnce('mysql', 'mysql-client', '/CN=orbit_x509', ['extendedKeyUsage=clientAuth']);
    writeFileSync(first.cert, '');
    const again = issuedOnce('mysql', 'mysql-client', '/CN=orbit_x509', ['extendedKeyUsage=clientAuth']);
    expect(readFileSync(again.cert, 'utf8')).toContain('-----END CERTIFICATE-----');
    expect(readFileSync(issuedFiles('mysql-client').key, 'utf8')).toContain('-----END PRIVATE KEY-----');
    expect(readFileSync(localCaFile(), 'utf8')).toContain('-----END CERTIFICATE-----');
    expect(readdirSync(join(stackDir(), 'data', 'tls')).filter((file) => file.includes('.partial-'))).toEqual([]);
  });

  it('the Kafka broker\'s keystore is made anew, and its certificate exported again', () => {
    const kafka = join(stackDir(), 'data', 'kafka');
    mkdirSync(kafka, { recursive: true });
    writeFileSync(join(kafka, 'broker.p12'), '');
    writeFileSync(join(kafka, 'broker-ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIC');
    const { keystore, certificate } = certificateOnce(kafka, 'orbitlocal');
    expect(readFileSync(keystore).length).toBeGreaterThan(1000);
    expect(readFileSync(certificate, 'utf8')).toContain('-----END CERTIFICATE-----');
  });
});
