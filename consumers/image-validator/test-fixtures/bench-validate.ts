/**
 * Throughput of validateArchive against sha256sum on the same bytes, in one
 * run: a generated docker-archive with one big layer is written to a temp
 * file, then read by both (page cache warm for both), plain, gzip -1, and
 * as an OCI archive whose layer skopeo recompressed with zstd.
 *   npx tsx --conditions=@orbit/source consumers/image-validator/test-fixtures/bench-validate.ts [MiB]
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_VALIDATION_LIMITS } from '../src/archive/limits.js';
import { validateArchive } from '../src/archive/validate-archive.js';
import { bigDockerArchive } from './big-stream.js';

const MIB = 1024 * 1024;

async function timed<T>(work: () => Promise<T> | T): Promise<{ value: T; seconds: number }> {
  const began = performance.now();
  const value = await work();
  return { value, seconds: (performance.now() - began) / 1000 };
}

const mib = Number(process.argv[2] ?? 300);
const dir = mkdtempSync(join(tmpdir(), 'orbit-bench-'));
try {
  const plain = join(dir, 'image.tar');
  const generated = await timed(() => validateArchive(bigDockerArchive(mib * MIB), DEFAULT_VALIDATION_LIMITS));
  await pipeline(bigDockerArchive(mib * MIB), createWriteStream(plain));
  execFileSync('gzip', ['-1', '-k', plain]);
  const zstd = join(dir, 'image-zstd.tar');
  execFileSync('skopeo', ['copy', '--quiet', '--dest-compress-format', 'zstd', `docker-archive:${plain}`, `oci-archive:${zstd}:bench`]);
  const rows: string[] = [];
  const rate = (file: string, seconds: number) => `${(statSync(file).size / MIB / seconds).toFixed(0)} MiB/s`;
  rows.push(`generated stream (${mib} MiB layer), validateArchive incl. generation: ${(mib / generated.seconds).toFixed(0)} MiB/s, ok=${generated.value.ok}`);
  for (const file of [plain, `${plain}.gz`, zstd]) {
    const size = (statSync(file).size / MIB).toFixed(0);
    const sum = await timed(() => execFileSync('sha256sum', [file]));
    const validated = await timed(() => validateArchive(createReadStream(file), DEFAULT_VALIDATION_LIMITS));
    if (!validated.value.ok) throw new TypeError(`${file}: ${validated.value.reasonCode}: ${validated.value.message}`);
    rows.push(`${file.endsWith('.gz') ? 'gzip -1' : file === zstd ? 'zstd   ' : 'plain  '} ${size} MiB file: sha256sum ${rate(file, sum.seconds)} (${sum.seconds.toFixed(2)} s), validateArchive ${rate(file, validated.seconds)} (${validated.seconds.toFixed(2)} s, ${(mib / validated.seconds).toFixed(0)} MiB/s of uncompressed layer)`);
  }
  console.log(rows.join('\n'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
