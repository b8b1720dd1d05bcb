import { reject } from './rejections.js';

export interface ValidationLimits {
  /** Bytes of the upload as received (before any decompression). */
  readonly maxArchiveBytes: number;
  /** Tar bytes (after the upload's own gzip or zstd) plus the output of every gzip or zstd layer. */
  readonly maxDecompressedBytes: number;
  /** Tar entries of the outer archive, directories and links included. */
  readonly maxEntries: number;
  /** Largest JSON entry (manifest, index, config) kept in memory. */
  readonly maxJsonBytes: number;
}

const GIB = 1024 ** 3;

/** Defaults matching the gateway's 10 GiB upload limit. */
export const DEFAULT_VALIDATION_LIMITS: ValidationLimits = {
  maxArchiveBytes: 10 * GIB,
  maxDecompressedBytes: 40 * GIB,
  maxEntries: 100_000,
  maxJsonBytes: 4 * 1024 * 1024,
};

/**
 * All JSON-looking entries together may use this many times maxJsonBytes:
 * every small JSON entry is kept until the end (its role is known only once
 * the manifest, which may come last, is read), so a flood of them must stop
 * too. JSON that has none of the keys a manifest, index, config or oci-layout
 * needs (attestations, SBOMs, signature bundles) is let go at its end: nothing
 * reads it as JSON, and BuildKit writes one of a few MB per platform.
 */
export const RETAINED_JSON_FACTOR = 4;

/** What the JSON documents an archive keeps may add up to with the default limits (a pull's referrers keep within part of it). */
export const DEFAULT_RETAINED_JSON_BYTES = DEFAULT_VALIDATION_LIMITS.maxJsonBytes * RETAINED_JSON_FACTOR;

/**
 * zstd-compressed entries one archive may hold. Each is decoded by a zstd
 * child process as it streams past (about 3 ms each, whether a manifest names
 * it or not), so 100 000 tiny ones in an 841 KB upload kept a validator busy
 * for five minutes. Docker stops an image at about 125 layers; this leaves
 * room for seven such platforms and their referrers.
 */
export const MAX_ZSTD_ENTRIES = 1_000;

/** A running total that rejects with TOO_LARGE the moment it passes its limit. */
export class ByteBudget {
  private used = 0;
  constructor(readonly limit: number, private readonly what: string) {}

  get total(): number {
    return this.used;
  }

  /** False once over the limit, for callbacks that must not throw (stream handlers). */
  tryAdd(bytes: number): boolean {
    this.used += bytes;
    return this.used <= this.limit;
  }

  add(bytes: number): void {
    if (!this.tryAdd(bytes)) this.exceeded();
  }

  /** Gives back what was charged for something no longer held. */
  release(bytes: number): void {
    this.used -= bytes;
  }

  exceeded(): never {
    return reject('TOO_LARGE', `${this.what} exceed the limit of ${this.limit} bytes`);
  }
}
