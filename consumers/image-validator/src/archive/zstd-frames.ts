/** Frame magic numbers (RFC 8878 §3.1.1 and §3.1.2), read little-endian. */
const ZSTD_FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** Frame_Content_Size field bytes by FCS_Field_Size flag; flag 0 is 1 byte only in a single-segment frame. */
const FCS_BYTES = [0, 2, 4, 8] as const;
const DICTIONARY_ID_BYTES = [0, 1, 2, 4] as const;

type Field = 'magic' | 'descriptor' | 'block' | 'skippable-size';

/**
 * Where an upload's zstd frames end, found from their headers and block sizes
 * as the bytes pass (nothing is decoded). The zstd command reads on after a
 * frame as the start of another, and fails ("unsupported format") on bytes
 * that are none, which read as a stream corrupt after what it produced;
 * it even decodes a gzip, xz or lz4 stream found there as more of the
 * archive. So it is fed the frames alone, and what follows them is counted
 * here. Only the magic number a frame starts with is held back until it is
 * known; what the walk cannot follow (a reserved block type) goes to zstd
 * whole, which refuses it.
 */
export class ZstdFrameWalk {
  private field: Field = 'magic';
  private read: Buffer[] = [];
  private readLength = 0;
  private need = 4;
  /** Bytes of a frame passed on unread (a header's rest, a block, a checksum, a skippable frame), then the field after them. */
  private skip = 0;
  private afterSkip: Field = 'magic';
  private checksum = false;
  private opaque = false;
  private ended = false;
  /** Bytes that belong to the frames, and bytes after them. */
  streamBytes = 0;
  trailingBytes = 0;

  /** The part of chunk that belongs to the zstd stream (with a magic number held back from before); the rest is counted as trailing. */
  take(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.ended) {
        this.trailingBytes += chunk.length - at;
        break;
      }
      if (this.opaque) {
        out.push(chunk.subarray(at));
        break;
      }
      if (this.skip > 0) {
        const length = Math.min(this.skip, chunk.length - at);
        out.push(chunk.subarray(at, at + length));
        at += length;
        this.skip -= length;
        if (this.skip === 0) this.expect(this.afterSkip);
        continue;
      }
      const length = Math.min(this.need - this.readLength, chunk.length - at);
      const piece = chunk.subarray(at, at + length);
      this.read.push(piece);
      this.readLength += length;
      // A frame's magic is passed on only once it is one: bytes after the last frame never reach zstd.
      if (this.field !== 'magic') out.push(piece);
      at += length;
      if (this.readLength === this.need) this.onField(Buffer.concat(this.read), out);
    }
    const taken = Buffer.concat(out);
    this.streamBytes += taken.length;
    return taken;
  }

  /** At the end of the input: a magic number cut short (1 to 3 bytes) is no frame either. */
  end(): void {
    if (this.field === 'magic' && !this.opaque && !this.ended) this.trailingBytes += this.readLength;
    this.read = [];
    this.readLength = 0;
  }

  private expect(field: Field): void {
    this.field = field;
    this.read = [];
    this.readLength = 0;
    this.need = field === 'descriptor' ? 1 : field === 'block' ? 3 : 4;
  }

  private pass(bytes: number, then: Field): void {
    if (bytes === 0) return this.expect(then);
    this.skip = bytes;
    this.afterSkip = then;
    this.read = [];
    this.readLength = 0;
  }

  private onField(bytes: Buffer, out: Buffer[]): void {
    switch (this.field) {
      case 'magic': {
        const magic = bytes.readUInt32LE(0);
        if (magic === ZSTD_FRAME_MAGIC) {
          out.push(bytes);
          return this.expect('descriptor');
        }
        if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
          out.push(bytes);
          return this.expect('skippable-size');
        }
        this.ended = true;
        this.trailingBytes += bytes.length;
        this.read = [];
        this.readLength = 0;
        return;
      }
      case 'descriptor': {
        const descriptor = bytes[0] ?? 0;
        const fcsFlag = descriptor >> 6;
        const singleSegment = (descriptor >> 5) & 1;
        this.checksum = ((descriptor >> 2) & 1) === 1;
        const fcs = fcsFlag === 0 ? singleSegment : FCS_BYTES[fcsFlag] ?? 0;
        const windowDescriptor = singleSegment === 1 ? 0 : 1;
        return this.pass(windowDescriptor + (DICTIONARY_ID_BYTES[descriptor & 3] ?? 0) + fcs, 'block');
      }
      case 'block': {
        const header = bytes.readUIntLE(0, 3);
        const last = (header & 1) === 1;
        const type = (header >> 1) & 3;
        if (type === 3) {
          this.opaque = true;
          return;
        }
        // An RLE block holds its one byte, repeated Block_Size times when decoded.
        const content = type === 1 ? 1 : header >>> 3;
        if (!last) return this.pass(content, 'block');
        return this.pass(content + (this.checksum ? 4 : 0), 'magic');
      }
      case 'skippable-size':
        return this.pass(bytes.readUInt32LE(0), 'magic');
    }
  }
}
