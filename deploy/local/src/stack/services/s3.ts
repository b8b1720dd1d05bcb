import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { hasContent, writeFileAtomic } from '../atomic-file.js';
import { join } from 'node:path';
import { S3_ROOT_PASSWORD, S3_ROOT_USER } from '../endpoints.js';
import { ensureMinio } from '../install.js';
import { dataDir, stackDir } from '../paths.js';
import { readPorts } from '../ports.js';
import { httpOk } from '../probes.js';
import type { ServiceDefinition } from './types.js';

const NAME = 's3';

/**
 * SSE-S3 (bucket default encryption) needs a KMS key. One random key per
 * stack, kept beside the data it encrypts: a new key would make the objects unreadable.
 */
export function kmsKey(): string {
  const file = join(stackDir(), 'data', 's3-kms.key');
  // A key that is not 32 bytes never started MinIO, so no object is encrypted with it: made anew.
  if (!isKmsKey(file)) {
    mkdirSync(join(stackDir(), 'data'), { recursive: true });
    writeFileAtomic(file, randomBytes(32).toString('base64'), 0o600);
  }
  return readFileSync(file, 'utf8').trim();
}

const isKmsKey = (file: string): boolean => hasContent(file) && Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').length === 32;

export function s3Service(): ServiceDefinition {
  const ports = readPorts();
  return {
    name: NAME, kind: 'infrastructure', port: ports.s3, ports: [ports.s3, ports.s3Console], startTimeoutMs: 60_000,
    install: () => void ensureMinio(NAME),
    prepare: () => {
      const binary = ensureMinio(NAME);
      const dir = dataDir(NAME);
      mkdirSync(dir, { recursive: true });
      return {
        command: binary,
        args: ['server', '--quiet', '--address', `127.0.0.1:${ports.s3}`, '--console-address', `127.0.0.1:${ports.s3Console}`, dir],
        cwd: dir,
        env: {
          MINIO_ROOT_USER: S3_ROOT_USER,
          MINIO_ROOT_PASSWORD: S3_ROOT_PASSWORD,
          MINIO_KMS_SECRET_KEY: `orbit-local-key:${kmsKey()}`,
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
        },
      };
    },
    healthy: () => httpOk(`http://127.0.0.1:${ports.s3}/minio/health/ready`),
  };
}
