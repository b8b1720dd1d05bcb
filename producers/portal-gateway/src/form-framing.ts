import { FORM_CUT_SHORT } from './errors.js';

/**
 * Most a form may carry after its closing delimiter (RFC 2046's epilogue). Clients send none or a line break;
 * more is a part's content read past a `--boundary--` that stood inside it.
 */
export const MAX_EPILOGUE_BYTES = 1024;

/** Most of a part's header block kept to read its name and Content-Type; clients send a few hundred bytes. */
const MAX_HEADER_BYTES = 16 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

/** What a part's header block says that the multipart reader does not hand over: it drops a file part's Content-Type parameters. */
export interface PartHead {
  /** Content-Disposition's name, when the block names one. */
  readonly name: string | undefined;
  /** The Content-Type header as sent, parameters (charset) and all. */
  readonly contentType: string | undefined;
}

/** The name and Content-Type of a part's header block (read as latin1: header bytes are not text to decode). */
export function partHeadOf(block: string): PartHead {
  let name: string | undefined;
  let contentType: string | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const field = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (field === 'content-type') contentType = value;
    if (field === 'content-disposition') {
      // `(^|;)` before it: filename="…" is not the name.
      const named = /(?:^|;)\s*name\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(value);
      name = named?.[1] ?? named?.[2];
    }
  }
  return { name, contentType };
}

/**
 * Counts the delimiters of a multipart body as they stream by, where the multipart reader says nothing: it skips a
 * part without Content-Disposition and ignores whatever follows a close delimiter. A boundary that also occurs in
 * an image's bytes makes either happen, and the image is cut short without a word.
 */
export class FormFraming {
  private readonly delimiter: Buffer;
  /** The body's last bytes, which may hold the start of a delimiter; a body may begin with one, without a line break. */
  private carry = Buffer.from('\r\n');
  /** Where in the body `carry` begins (the line break put before it is not the body's). */
  private carryOffset = -2;
  /** Delimiters that began a part, before the close delimiter. */
  private opened = 0;
  /** Where in the body the epilogue begins, once the close delimiter came. */
  private epilogueFrom: number | undefined;
  private delimitersInEpilogue = 0;
  private bodyBytes = 0;
  /** Each part's header block, in the order the parts came. */
  private readonly heads: PartHead[] = [];
  /** A header block begun and not yet ended: its bytes so far, and the body offset its next byte has. */
  private pendingHead: { bytes: Buffer; nextOffset: number } | undefined;

  constructor(readonly boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  feed(chunk: Buffer): void {
    this.bodyBytes += chunk.length;
    const seamBytes = this.delimiter.length + 2;
    let data: Buffer;
    let from: number;
    let dataOffset: number;
    if (chunk.length < 2 * seamBytes) {
      // A small chunk: joined to the carried tail, which costs next to nothing.
      data = Buffer.concat([this.carry, chunk]);
      dataOffset = this.carryOffset;
      from = this.scan(data, dataOffset, 0, data.length);
    } else {
      // A delimiter that starts in the carried tail ends in this chunk's first bytes: only those are joined to it, so
      // the body's bytes are not copied on their way to the multipart reader (that was most of this scan's cost).
      const seam = Buffer.concat([this.carry, chunk.subarray(0, seamBytes)]);
      const seamFrom = this.scan(seam, this.carryOffset, 0, this.carry.length);
      data = chunk;
      dataOffset = this.carryOffset + this.carry.length;
      from = this.scan(data, dataOffset, Math.max(0, seamFrom - this.carry.length), data.length);
    }
    // Bytes not yet looked at whole: a delimiter may start among the last few and end in the next chunk.
    const keep = Math.max(from, data.length - this.delimiter.length - 1);
    this.carry = Buffer.from(data.subarray(keep));
    this.carryOffset = dataOffset + keep;
  }

  /**
   * Counts the delimiters of `data` (whose first byte is the body's `dataOffset`th) that start at `from` or after
   * and before `startsBefore`; answers where to look next. One whose two following bytes have not come yet is left.
   */
  private scan(data: Buffer, dataOffset: number, from: number, startsBefore: number): number {
    this.continueHead(data, dataOffset);
    let next = from;
    for (let at = data.indexOf(this.delimiter, next); at >= 0 && at < startsBefore; at = data.indexOf(this.delimiter, next)) {
      const after = at + this.delimiter.length;
      if (this.epilogueFrom !== undefined) {
        this.delimitersInEpilogue += 1;
        next = after;
        continue;
      }
      // Whether it closes the form is told by the two bytes after it: wait for them.
      if (after + 2 > data.length) break;
      if (data[after] === 0x2d && data[after + 1] === 0x2d) {
        this.epilogueFrom = dataOffset + after + 2;
      } else {
        this.opened += 1;
        this.pendingHead = { bytes: Buffer.alloc(0), nextOffset: dataOffset + after };
        this.continueHead(data, dataOffset);
      }
      next = after;
    }
    return next;
  }

  /** Adds the bytes of `data` (the body's from `dataOffset`) that a header block begun and not ended has not had yet. */
  private continueHead(data: Buffer, dataOffset: number): void {
    const pending = this.pendingHead;
    if (pending === undefined) return;
    const start = pending.nextOffset - dataOffset;
    if (start < 0 || start >= data.length) return;
    const bytes = Buffer.concat([pending.bytes, data.subarray(start, start + MAX_HEADER_BYTES)]);
    const end = bytes.indexOf(HEADER_END);
    if (end >= 0 || bytes.length >= MAX_HEADER_BYTES) {
      // Too long a block is the reader's to refuse; it is kept as far as it went.
      this.heads.push(partHeadOf(bytes.toString('latin1', 0, end >= 0 ? end : bytes.length)));
      this.pendingHead = undefined;
      return;
    }
    this.pendingHead = { bytes, nextOffset: dataOffset + data.length };
  }

  /** The header block of the first part named `name` that has come so far. */
  headOf(name: string): PartHead | undefined {
    return this.heads.find((head) => head.name === name);
  }

  /**
   * What is wrong with the framing, given the parts the reader handed over, or undefined. Call once the body has
   * been read to its end.
   */
  problem(partsRead: number): string | undefined {
    const inside = `the boundary ${JSON.stringify(this.boundary)} appears inside a part's content`;
    const advice = 'send the form again with a boundary that does not occur in the data (clients pick a long random one); nothing was accepted';
    if (this.opened > partsRead) {
      // The reader skips such a part without a word: a boundary inside the data made it, or a header other than form-data.
      return `the body holds ${this.opened} parts, ${this.opened - partsRead} of them not read as form fields: either ${inside}, or a part is not headed \`Content-Disposition: form-data; name="…"\` (RFC 7578 §4.2); send the form again with a boundary that does not occur in the data (clients pick a long random one) and each part headed so; nothing was accepted`;
    }
    // The reader takes a body that stops right after a delimiter, the final `--` missing, as whole: refused as
    // errors.md says, since the same cut one byte earlier is (found by a review).
    if (this.epilogueFrom === undefined) return FORM_CUT_SHORT;
    const epilogueBytes = this.bodyBytes - this.epilogueFrom;
    if (this.delimitersInEpilogue > 0 || epilogueBytes > MAX_EPILOGUE_BYTES) {
      return `${inside}: ${epilogueBytes} bytes follow the form's closing "--${this.boundary}--"; ${advice}`;
    }
    return undefined;
  }
}
