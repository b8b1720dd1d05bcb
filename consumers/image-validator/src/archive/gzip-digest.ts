import { createHash } from 'node:crypto';
import { createGunzip, type Gunzip } from 'node:zlib';
import type { Decoded, LayerDecoder } from './layer-decoder.js';
import type { ByteBudget } from './limits.js';

/**
 * zlib's output chunk for every gunzip here. Node's default (16 KiB) costs a
 * thread-pool round trip and a stream event per 16 KiB: a 1 GiB upload took
 * 6.3 s to gunzip and hash, 256 KiB 2.0 s (`gzip -dc | sha256sum`: 6.4 s).
 * A bomb still stops within one such chunk of the budget.
 */
export const GUNZIP_CHUNK_BYTES = 256 * 1024;

/**
 * Gunzips a layer as its bytes stream past, keeping only the sha256 and the
 * length of the output (its diff_id). Every output byte is charged to the
 * shared decompression budget as it appears, so a gzip bomb stops within one
 * zlib chunk of the limit. A broken gzip is a fact about the entry, not an
 * error: it only matters if a manifest later names the entry as a layer.
 */
export class GunzipDigest implements LayerDecoder {
  private readonly gunzip: Gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  private readonly hash = createHash('sha256');
  private size = 0;
  /** Compressed bytes handed to zlib; it counts in bytesWritten those it used. */
  private fed = 0;
  private failure: string | null = null;
  private overBudget = false;
  private readonly settled: Promise<void>;

  constructor(private readonly budget: ByteBudget) {
    this.gunzip.on('data', (chunk: Buffer) => {
      this.hash.update(chunk);
      this.size += chunk.length;
      if (!this.budget.tryAdd(chunk.length)) {
        this.overBudget = true;
        this.gunzip.destroy();
      }
    });
    this.settled = new Promise((resolve) => {
      this.gunzip.on('error', (error: Error) => {
        this.failure ??= error.message;
        resolve();
      });
      this.gunzip.on('end', resolve);
      this.gunzip.on('close', resolve);
    });
  }

  private get stopped(): boolean {
    return this.failure !== null || this.overBudget || this.gunzip.destroyed;
  }

  /** Resolves when zlib can take more; rejects with TOO_LARGE once the budget is spent. */
  async write(chunk: Buffer): Promise<void> {
    if (!this.stopped) this.fed += chunk.length;
    if (!this.stopped && !this.gunzip.write(chunk)) {
      await Promise.race([new Promise((resolve) => this.gunzip.once('drain', resolve)), this.settled]);
    }
    if (this.overBudget) this.budget.exceeded();
  }

  async end(): Promise<Decoded> {
    if (!this.stopped) this.gunzip.end();
    await this.settled;
    if (this.overBudget) this.budget.exceeded();
    if (this.failure !== null) return { ok: false, why: this.failure };
    // Node's zlib stops at the end of the last gzip member and drops what follows (zero padding, say); Go's gzip
    // reader, which containerd pulls with, reads it as the next member's header and fails: such a layer cannot be pulled.
    const after = this.fed - this.gunzip.bytesWritten;
    if (after > 0) return { ok: false, why: `${after} bytes follow the end of the gzip stream, which Go's gzip reader (containerd's) refuses as an invalid header` };
    return { ok: true, sha256: this.hash.digest('hex'), size: this.size };
  }

  /** Frees zlib when the archive is abandoned part-way. */
  discard(): void {
    this.gunzip.destroy();
  }
}
