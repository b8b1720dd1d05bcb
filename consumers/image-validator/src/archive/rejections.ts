import { OrbitError } from '@orbit/lib';

/**
 * Why an archive (or its upload) is refused. Each code ends the request with
 * an ImageRejected event; none is retried, because the same bytes would be
 * refused again. docs/errors.md lists them too (a test keeps both in step).
 */
export const REJECTION_CODES = {
  NOT_AN_ARCHIVE: 'The upload is empty, or neither a tar nor a gzip-compressed tar (another compression or a zip is named as such).',
  TRUNCATED: 'The tar, gzip or zstd stream ends part-way through, or its framing is corrupt after the first entry, or the archive\'s reader stopped making progress.',
  NO_MANIFEST: 'The archive has neither a docker manifest.json nor an OCI oci-layout with index.json.',
  BAD_MANIFEST: 'manifest.json, oci-layout, index.json or an image manifest is not JSON, has the wrong shape, an unknown media type, no layers, or names several images.',
  BAD_CONFIG: 'The image config is not JSON or lacks architecture, os or rootfs.diff_ids.',
  MISSING_BLOB: 'A manifest, config or layer that the manifest references is not in the archive.',
  DIGEST_MISMATCH: 'A blob\'s sha256 or size differs from the digest and size that reference it.',
  CONFIG_MISMATCH: 'The config\'s rootfs.diff_ids differ (count or value) from the sha256 of the uncompressed layers.',
  CORRUPT_LAYER: 'A layer is declared with one compression but stored with another, or its gzip or zstd does not decompress.',
  UNSUPPORTED_LAYER: 'A layer is foreign or of an unknown media type, or is zstd on a machine without the zstd decoder.',
  UNSAFE_PATH: 'An entry has an absolute path or a `..` segment, is a device or fifo, goes through or is a link leaving the archive, or is a link used as a blob.',
  UNSUPPORTED_ENTRY: 'An entry is a sparse file (GNU tar --sparse, bsdtar) or of a tar entry type Orbit does not read, or bytes follow the end of the tar or of its gzip or zstd stream, or tar tools would read the archive differently (a header field or PAX record Go\'s archive/tar refuses, among others).',
  DUPLICATE_ENTRY: 'The same path appears twice with different content.',
  TOO_LARGE: 'The upload, its decompressed bytes, its entry count, its count of zstd-compressed entries or a JSON entry is over the limit; or its metadata (128 KiB as JSON) or the image facts an image version carries (192 KiB) are larger than fits.',
} as const;

export type RejectionCode = keyof typeof REJECTION_CODES;

/** Raised inside the validator and turned into a rejected outcome; it never leaves validateArchive. */
export class ImageRejection extends OrbitError {
  readonly reasonCode: RejectionCode;
  constructor(reasonCode: RejectionCode, message: string) {
    super('ORBIT_ERR_IMAGE_REJECTED', message);
    this.reasonCode = reasonCode;
  }
}

export function reject(reasonCode: RejectionCode, message: string): never {
  throw new ImageRejection(reasonCode, message);
}
