/**
 * Decodes UTF-8 and throws on any byte sequence that is not UTF-8. A leading BOM is kept: the JSON readers after it
 * skip one (RFC 8259 §8.1 lets a reader ignore it), as they did before; dropped here as well, a second was lost too.
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text of bytes sent as UTF-8 (a leading BOM kept), or what is wrong with them: Buffer#toString and
 * `parseAs: 'string'` turn a stray byte (FF, an overlong C0 AF, a surrogate's ED A0 BD, a sequence cut short) into
 * U+FFFD, so the text stored was not the one sent, where the same surrogate spelt as a JSON escape is refused (found
 * by a review). The problem reads after a subject: "the body is not UTF-8 text: …".
 */
export function utf8TextOf(bytes: Uint8Array): { readonly text: string } | { readonly problem: string } {
  try {
    return { text: STRICT_UTF8.decode(bytes) };
  } catch {
    const at = firstInvalidByte(bytes);
    return { problem: `is not UTF-8 text: the byte${at.length > 1 ? 's' : ''} ${at.hex} at offset ${at.offset} do${at.length > 1 ? '' : 'es'} not form a UTF-8 character (no store can keep it as it was sent); send the text encoded in UTF-8` };
  }
}

/** Where the first ill-formed sequence of `bytes` begins, and up to 4 of its bytes, to name in a refusal. */
function firstInvalidByte(bytes: Uint8Array): { offset: number; hex: string; length: number } {
  // Decoded prefix by prefix would be quadratic; Buffer's lossy decoder marks the first bad sequence with U+FFFD,
  // and the bytes before it re-encode to the same length (they are valid UTF-8, or a real U+FFFD sent, both 3 bytes).
  const lossy = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let offset = 0;
  for (const character of lossy) {
    const width = Buffer.byteLength(character);
    if (character === '\ufffd' && !isEncodedReplacement(bytes, offset)) break;
    offset += width;
  }
  const end = Math.min(bytes.length, offset + 4);
  let length = 1;
  while (offset + length < end && (bytes[offset + length] ?? 0) >= 0x80 && (bytes[offset + length] ?? 0) < 0xc0) length += 1;
  const hex = Array.from(bytes.subarray(offset, offset + length), (byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(' ');
  return { offset, hex, length };
}

/** True when U+FFFD itself (EF BF BD) was sent at `offset`. */
function isEncodedReplacement(bytes: Uint8Array, offset: number): boolean {
  return bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd;
}
