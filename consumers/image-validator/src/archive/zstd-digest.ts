import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { StoreUnavailableError } from '@orbit/lib';
import type { Decoded, LayerDecoder } from './layer-decoder.js';
import type { ByteBudget } from './limits.js';

/**
 * Largest window a zstd frame may make the decoder reserve: zstd's own
 * default decoding limit. A hostile frame header can ask for 2 GiB; above
 * this the frame is refused instead of allocated.
 */
export const ZSTD_MAX_WINDOW = '128MB';

/** zstd's own words (its first two lines: what failed and why), without the "/*stdin*\\ :" it names the input by. */
export function zstdReason(stderr: string): string | null {
  const lines = stderr.split('\n').map((text) => text.replace(/^(?:zstd:\s*)?(?:\/\*stdin\*\\\s*:\s*)?/, '').trim()).filter((text) => text.length > 0);
  return lines.length > 0 ? lines.slice(0, 2).join('; ') : null;
}

/** The decoder, found on PATH (Debian's `zstd` package; the local stack installs it). */
export const ZSTD_COMMAND = 'zstd';

/**
 * Unzstds a layer as its bytes stream past, keeping only the sha256 and the
 * length of the output, like GunzipDigest. Node 20 has no zstd in zlib and the
 * pure-JS decoders copy their whole window per block (minutes for a layer with
 * a large window), so the reference decoder runs as a child process: libzstd
 * is fuzzed continuously and refuses oversized windows itself. Every output
 * byte is charged to the shared decompression budget; a bomb kills the child
 * within one pipe chunk of the limit.
 */
export class ZstdDigest implements LayerDecoder {
  private readonly child;
  private readonly hash = createHash('sha256');
  private size = 0;
  private failure: string | null = null;
  private decoderMissing = false;
  /** Why the decoder could not judge the bytes for a reason that may pass (no process slot, killed from outside). */
  private transient: unknown = null;
  private overBudget = false;
  private discarded = false;
  private stderr = '';
  private exited = false;
  private readonly settled: Promise<void>;

  constructor(private readonly budget: ByteBudget, command: string = ZSTD_COMMAND) {
    this.child = spawn(command, ['-d', '-c', '-q', `--memory=${ZSTD_MAX_WINDOW}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => {
      if (this.overBudget) return;
      this.hash.update(chunk);
      this.size += chunk.length;
      if (!this.budget.tryAdd(chunk.length)) {
        this.overBudget = true;
        this.child.kill('SIGKILL');
      }
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 4_096) this.stderr += chunk.toString('utf8');
    });
    // zstd stops reading at the first bad frame; the write then fails with EPIPE and its exit status says why.
    this.child.stdin.on('error', () => undefined);
    this.settled = new Promise((resolve) => {
      this.child.on('error', (error: NodeJS.ErrnoException) => {
        this.exited = true;
        if (error.code === 'ENOENT') {
          this.decoderMissing = true;
          this.failure ??= `no zstd decoder is installed (${command} is not on PATH)`;
        } else {
          this.transient ??= error;
        }
        resolve();
      });
      this.child.on('close', (code, signal) => {
        this.exited = true;
        if (this.overBudget || this.discarded) return resolve();
        // zstd reports bad input with an exit status; a signal came from outside (the OOM killer, an operator).
        if (signal !== null) this.transient ??= new Error(`zstd was killed by ${signal}`);
        else if (code !== 0) this.failure ??= zstdReason(this.stderr) ?? `zstd exited ${code}`;
        resolve();
      });
    });
  }

  /** Every failure is recorded when the child exits; only a spent budget stops it earlier. */
  private get stopped(): boolean {
    return this.exited || this.overBudget;
  }

  /** Resolves when the decoder can take more; rejects with TOO_LARGE once the budget is spent. */
  async write(chunk: Buffer): Promise<void> {
    if (!this.stopped && !this.child.stdin.write(chunk)) {
      await Promise.race([new Promise((resolve) => this.child.stdin.once('drain', resolve)), this.settled]);
    }
    if (this.overBudget) this.budget.exceeded();
  }

  /** Rejects with a retriable StoreUnavailableError when the decoder failed for a reason other than the bytes. */
  async end(): Promise<Decoded> {
    if (!this.stopped) this.child.stdin.end();
    await this.settled;
    if (this.overBudget) this.budget.exceeded();
    if (this.transient !== null) throw new StoreUnavailableError('the zstd decoder', this.transient);
    if (this.failure !== null) return { ok: false, why: this.failure, decoderMissing: this.decoderMissing };
    return { ok: true, sha256: this.hash.digest('hex'), size: this.size };
  }

  /** Stops the child when the archive is abandoned part-way. */
  discard(): void {
    this.discarded = true;
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/**
 * True when the bytes start as a zstd stream does: a frame's magic, or a
 * skippable frame's (RFC 8878 §3.1.2: 0x184D2A50 to 0x184D2A5F), which pzstd
 * and zstd:chunked writers put first and every decoder steps over.
 */
export function startsLikeZstd(head: Buffer): boolean {
  if (head.length < 4) return false;
  const magic = head.readUInt32LE(0);
  return magic === 0xfd2fb528 || (magic & 0xfffffff0) >>> 0 === 0x184d2a50;
}
