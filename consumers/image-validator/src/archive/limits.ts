import { reject } from './rejections.js';

export interface ValidationLimits {
  /** Bytes of the upload as received (before any decompression). */
  readonly maxArchiveBytes: number;
  /** Tar bytes after the outer gunzip plus the output of every layer gunzip. */
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
 * every small entry is kept until the end (its role is known only once the
 * manifest, which may come last, is read), so a flood of them must stop too.
 */
export const RETAINED_JSON_FACTOR = 4;

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
