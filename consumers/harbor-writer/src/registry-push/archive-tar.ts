import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

export type ArchiveCompression = 'NONE' | 'GZIP' | 'ZSTD';

/**
 * The tar inside a stored archive, which is kept as it was uploaded (a tar,
 * or one gzip or zstd wrapped). The validator already bounded what it
 * decompresses to, so no budget is kept here. zstd is the reference decoder
 * the validator uses too. A failure of the source or the decoder destroys
 * the returned stream with it.
 */
export function archiveTar(source: Readable, compression: ArchiveCompression): Readable {
  if (compression === 'NONE') return source;
  const tar = new PassThrough();
  if (compression === 'GZIP') {
    pipeline(source, createGunzip(), tar).catch((error: unknown) => tar.destroy(error instanceof Error ? error : new Error(String(error))));
    return tar;
  }
  const zstd = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  zstd.stderr.on('data', (chunk: Buffer) => { if (stderr.length < 4_096) stderr += chunk.toString('utf8'); });
  const exited = new Promise<void>((resolve, reject) => {
    zstd.on('error', reject);
    zstd.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`zstd -d failed (${signal ?? `exit ${code ?? '?'}`}): ${stderr.trim()}`))));
  });
  Promise.all([pipeline(source, zstd.stdin), pipeline(zstd.stdout, tar, { end: false }), exited])
    .then(() => tar.end())
    .catch((error: unknown) => {
      zstd.kill('SIGKILL');
      tar.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  return tar;
}
