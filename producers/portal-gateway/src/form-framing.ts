/**
 * Most a form may carry after its closing delimiter (RFC 2046's epilogue). Clients send none or a line break;
 * more is a part's content read past a `--boundary--` that stood inside it.
 */
export const MAX_EPILOGUE_BYTES = 1024;

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

  constructor(readonly boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  feed(chunk: Buffer): void {
    this.bodyBytes += chunk.length;
    const data = Buffer.concat([this.carry, chunk]);
    let from = 0;
    for (let at = data.indexOf(this.delimiter); at >= 0; at = data.indexOf(this.delimiter, from)) {
      const after = at + this.delimiter.length;
      if (this.epilogueFrom !== undefined) {
        this.delimitersInEpilogue += 1;
        from = after;
        continue;
      }
      // Whether it closes the form is told by the two bytes after it: wait for them.
      if (after + 2 > data.length) break;
      if (data[after] === 0x2d && data[after + 1] === 0x2d) {
        this.epilogueFrom = this.carryOffset + after + 2;
      } else {
        this.opened += 1;
      }
      from = after;
    }
    // Bytes not yet looked at whole: a delimiter may start among the last few and end in the next chunk.
    const keep = Math.max(from, data.length - this.delimiter.length - 1);
    this.carry = Buffer.from(data.subarray(keep));
    this.carryOffset += keep;
  }

  /**
   * What is wrong with the framing, given the parts the reader handed over, or undefined. Call once the body has
   * been read to its end.
   */
  problem(partsRead: number): string | undefined {
    const inside = `the boundary ${JSON.stringify(this.boundary)} appears inside a part's content`;
    const advice = 'send the form again with a boundary that does not occur in the data (clients pick a long random one); nothing was accepted';
    if (this.opened > partsRead) return `${inside}: the body holds ${this.opened} parts, ${this.opened - partsRead} of them without a Content-Disposition (RFC 7578 §4.2 requires one); ${advice}`;
    const epilogueBytes = this.epilogueFrom === undefined ? 0 : this.bodyBytes - this.epilogueFrom;
    if (this.delimitersInEpilogue > 0 || epilogueBytes > MAX_EPILOGUE_BYTES) {
      return `${inside}: ${epilogueBytes} bytes follow the form's closing "--${this.boundary}--"; ${advice}`;
    }
    return undefined;
  }
}
