/**
 * The fields of tar headers that tar-stream framed, as Go's archive/tar
 * (docker load, skopeo, containerd) reads them. tar-stream reads a number
 * from the leading digits of a field and goes on; Go refuses the whole
 * archive at a field that is not all a number, and at a PAX record that is
 * not framed as "%d %s=%s\n". Orbit stores and serves the archive as it
 * came, so one that only tar-stream reads would be accepted and then fail
 * wherever it is loaded. Rules from Go's reader.go and strconv.go
 * (parseNumeric, parseOctal, parsePAX, parsePAXRecord, mergePAX).
 */

/** Why the tar readers part ways at a header, with what it holds as written. */
export type HeaderProblem = string;

/** What every such refusal ends with. */
export const GO_REFUSES = 'Go\'s archive/tar (docker load, skopeo) refuses the archive there while tar-stream reads on, so tools would read it differently; no tar tool writes one: repack the archive';

/** Go reads a PAX or GNU long-name header's data up to 1 MiB (maxSpecialFileSize) and refuses a longer one. */
export const GO_MAX_SPECIAL_FILE_BYTES = 1024 * 1024;

const ustarMagic = Buffer.from('ustar\0', 'latin1');
const gnuMagic = Buffer.from('ustar  \0', 'latin1');
/** Where a header keeps its magic (USTAR's "ustar\0" + version, GNU's "ustar  \0"). */
const MAGIC_AT = 257;
/** star's trailer, in a header's last 4 bytes: with USTAR's magic, Go reads the header as star's format (reader.go, getFormat). */
const starTrailer = Buffer.from('tar\0', 'latin1');
const STAR_TRAILER_AT = 508;
/** Where USTAR keeps its 155-byte name prefix; star keeps 131 bytes of prefix there, then its access and change times. */
const PREFIX_AT = 345;
const STAR_PREFIX_BYTES = 131;
/** [name, offset, length] of the times Go reads from a star header. */
const STAR_TIME_FIELDS: readonly (readonly [string, number, number])[] = [['access time', 476, 12], ['change time', 488, 12]];
/** The typeflags tar-stream reads (toType in its headers.js): NUL and '0'-'7', PAX 'x' and 'g', GNU long names 'K', 'L' and 'N' (the last one tar-stream alone reads so: the block watch refuses it). */
const STREAM_TYPEFLAGS = new Set(['\0', ...'01234567xgKLN'].map((flag) => flag.charCodeAt(0)));
const TYPEFLAG_AT = 156;

/** [name, offset, length] of the numeric fields Go reads from every header. */
const NUMERIC_FIELDS: readonly (readonly [string, number, number])[] = [['mode', 100, 8], ['uid', 108, 8], ['gid', 116, 8], ['size', 124, 12], ['modification time', 136, 12]];
/** Read only from USTAR, PAX and GNU headers (Go's formats past V7). */
const DEVICE_FIELDS: readonly (readonly [string, number, number])[] = [['device major', 329, 8], ['device minor', 337, 8]];
const CHECKSUM: readonly [number, number] = [148, 8];

/** The bytes as written, quoted, those not printable ASCII as \xNN. */
const written = (bytes: Buffer): string => `"${[...bytes].map((byte) => (byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`)).join('')}"`;

/** Go's parseOctal: spaces and NULs trimmed at both ends, up to the first NUL left, octal digits only (64 bits). */
function goOctal(field: Buffer): bigint | undefined {
  const text = field.toString('latin1').replace(/^[ \0]+|[ \0]+$/g, '').split('\0')[0] ?? '';
  if (text === '') return 0n;
  if (!/^[0-7]+$/.test(text)) return undefined;
  const value = BigInt(`0o${text}`);
  return value >> 64n === 0n ? value : undefined;
}

/** Go's parseNumeric reads it: base-256 (high bit of the first byte set) within 63 bits, else octal. */
export function goReadsNumeric(field: Buffer): boolean {
  const first = field[0] ?? 0;
  if ((first & 0x80) === 0) return goOctal(field) !== undefined;
  const invert = (first & 0x40) !== 0 ? 0xff : 0x00;
  let value = BigInt((first ^ invert) & 0x7f);
  for (const byte of field.subarray(1)) {
    if (value >> 56n > 0n) return false;
    value = (value << 8n) | BigInt(byte ^ invert);
  }
  return value >> 63n === 0n;
}

/**
 * A GNU header Go's archive/tar reads with a path prefix tar-stream does not
 * see. GNU headers keep access and change times where USTAR keeps the
 * prefix; when those are not numbers, Go takes the header for one its old
 * writer got wrong and prepends them as a prefix (`zz/` + `layer.tar`), so
 * the two readers name the entry differently (reader.go, readHeader).
 */
export function goReadsGnuPrefix(block: Buffer): boolean {
  if (block.compare(gnuMagic, 0, gnuMagic.length, MAGIC_AT, MAGIC_AT + gnuMagic.length) !== 0) return false;
  const accessTime = block.subarray(345, 357);
  const changeTime = block.subarray(357, 369);
  if (accessTime[0] === 0) return false; // A prefix starting with NUL is empty: the name is read alike.
  const misread = !goReadsNumeric(accessTime) || (changeTime[0] !== 0 && !goReadsNumeric(changeTime));
  const prefix = block.subarray(345, 500);
  const end = prefix.indexOf(0);
  // Go takes the prefix only when it is ASCII; otherwise both read the bare name.
  return misread && prefix.subarray(0, end < 0 ? prefix.length : end).every((byte) => byte < 0x80);
}

/** A header Go's archive/tar reads as star's format: USTAR's magic and star's trailer. */
function isStar(block: Buffer): boolean {
  return block.compare(ustarMagic, 0, ustarMagic.length, MAGIC_AT, MAGIC_AT + ustarMagic.length) === 0
    && block.compare(starTrailer, 0, starTrailer.length, STAR_TRAILER_AT, STAR_TRAILER_AT + starTrailer.length) === 0;
}

/** The bytes of a string field up to its first NUL. */
function upToNul(field: Buffer): Buffer {
  const end = field.indexOf(0);
  return end < 0 ? field : field.subarray(0, end);
}

/**
 * The name Go's archive/tar gives a star header when tar-stream gives it
 * another; undefined when they agree. Go reads 131 bytes of prefix and
 * tar-stream (like GNU tar and Python) 155: a prefix filling all 131 runs on
 * into the access time for tar-stream, so one reader names the entry
 * `AAA…/../manifest.json` (manifest.json, an unchecked second image) and the
 * other names an extra file.
 */
export function goStarName(block: Buffer): string | undefined {
  if (!isStar(block)) return undefined;
  const goPrefix = upToNul(block.subarray(PREFIX_AT, PREFIX_AT + STAR_PREFIX_BYTES));
  if (goPrefix.length < STAR_PREFIX_BYTES || block[PREFIX_AT + STAR_PREFIX_BYTES] === 0) return undefined;
  return `${goPrefix.toString('utf8')}/${upToNul(block.subarray(0, 100)).toString('utf8')}`;
}

/** The typeflag of a header tar-stream frames but reports as type null (it knows no such entry), as written; undefined for one it knows. */
export function typeflagStreamLacks(block: Buffer): string | undefined {
  const flag = block[TYPEFLAG_AT] ?? 0;
  return STREAM_TYPEFLAGS.has(flag) ? undefined : written(block.subarray(TYPEFLAG_AT, TYPEFLAG_AT + 1));
}

/**
 * tar-stream's reading of an octal field: leading spaces skipped, up to the
 * next space, leading NULs skipped, then as many digits as parseInt takes.
 */
function streamOctal(field: Buffer): number {
  const text = field.toString('latin1');
  const start = text.length - text.replace(/^ +/, '').length;
  const end = text.indexOf(' ', start) < 0 ? text.length : text.indexOf(' ', start);
  const digits = text.slice(start, end).replace(/^\0+/, '');
  return digits === '' ? 0 : Number.parseInt(digits, 8);
}

/** The header's checksums as Go computes them: bytes summed unsigned and signed, the checksum field taken as spaces. */
function checksums(block: Buffer): [number, number] {
  // Every block of a small-entry archive passes here: one plain loop, the checksum field's bytes swapped for spaces after.
  let unsigned = 0;
  let high = 0;
  for (let at = 0; at < block.length; at += 1) {
    const byte = block[at] ?? 0;
    unsigned += byte;
    if (byte >= 0x80) high += 1;
  }
  for (let at = CHECKSUM[0]; at < CHECKSUM[0] + CHECKSUM[1]; at += 1) {
    const byte = block[at] ?? 0;
    unsigned += 0x20 - byte;
    if (byte >= 0x80) high -= 1;
  }
  return [unsigned, unsigned - 0x100 * high];
}

/** Bytes an octal field Go reads may start with (goOctal trims spaces and NULs first): a cheap test before reading one. */
const startsOctal = (byte: number): boolean => byte === 0 || byte === 0x20 || (byte >= 0x30 && byte <= 0x37);

/** Which tar reader takes a block for a header by its checksum: tar-stream (and so Go, or goHeaderProblem says why not), Go alone, or neither. */
export type ChecksumReader = 'tar-stream' | 'go-only' | undefined;

/**
 * Whether tar-stream reads the block as a header: its checksum field, read
 * as tar-stream reads it (octal as streamOctal, base-256 only after 0x80),
 * is the block's unsigned sum. Data blocks almost never are. 'go-only' is a
 * checksum summed over signed bytes (old Sun tars wrote them for names with
 * bytes past ASCII), which Go's archive/tar and GNU tar take beside the
 * unsigned sum and tar-stream refuses as a corrupt header.
 */
export function checksumReader(block: Buffer): ChecksumReader {
  const field = block.subarray(CHECKSUM[0], CHECKSUM[0] + CHECKSUM[1]);
  const [unsigned, signed] = checksums(block);
  if (field[0] === 0x80) return field.subarray(1).reduce((value, byte) => value * 256 + byte, 0) === unsigned ? 'tar-stream' : undefined;
  if (((field[0] ?? 0) & 0x80) === 0 && streamOctal(field) === unsigned) return 'tar-stream';
  return signed !== unsigned && startsOctal(field[0] ?? 0) && goOctal(field) === BigInt(signed) ? 'go-only' : undefined;
}

/** The first field of a header block Go refuses, or reads otherwise than tar-stream; undefined when both read it alike. */
export function goHeaderProblem(block: Buffer): HeaderProblem | undefined {
  const field = (at: number, length: number): Buffer => block.subarray(at, at + length);
  const checksum = goOctal(field(...CHECKSUM));
  if (checksum === undefined || !checksums(block).map(BigInt).includes(checksum)) {
    return `a header's checksum field is written ${written(field(...CHECKSUM))}, which Go's archive/tar does not read as the header's checksum`;
  }
  const magic = field(MAGIC_AT, gnuMagic.length);
  const pastV7 = magic.compare(ustarMagic, 0, 6, 0, 6) === 0 || magic.equals(gnuMagic);
  for (const [name, at, length] of pastV7 ? [...NUMERIC_FIELDS, ...DEVICE_FIELDS] : NUMERIC_FIELDS) {
    if (!goReadsNumeric(field(at, length))) return `a header's ${name} field is written ${written(field(at, length))}, which is no number to Go's archive/tar`;
  }
  if (isStar(block)) {
    for (const [name, at, length] of STAR_TIME_FIELDS) {
      if (!goReadsNumeric(field(at, length))) {
        return `a header ending in star's trailer "tar\\x00", which Go's archive/tar reads as star's format, has its ${name} field (bytes ${at}-${at + length - 1}, `
          + `USTAR's name prefix to tar-stream) written ${written(field(at, length))}, which is no number to Go's archive/tar`;
      }
    }
  }
  // Base-256 sizes tar-stream reads as Go does, or not at all (rejectUnreadable in archive-reader.ts).
  const size = field(124, 12);
  if (((size[0] ?? 0) & 0x80) === 0 && streamOctal(size) !== Number(goOctal(size))) {
    return `a header's size field is written ${written(size)}, which tar-stream reads as ${streamOctal(size)} and Go's archive/tar as ${String(goOctal(size))}`;
  }
  return undefined;
}

const DECIMAL = /^[+-]?[0-9]+$/;
const INT64_MAX = 2n ** 63n - 1n;
/** Go's strconv.ParseInt(text, 10, 64). */
const goReadsInt64 = (text: string): boolean => DECIMAL.test(text) && (BigInt(text) <= INT64_MAX && BigInt(text) >= -INT64_MAX - 1n);

/** Go's parsePAXTime: seconds, then optionally a dot and digits. */
function goReadsPaxTime(text: string): boolean {
  const dot = text.indexOf('.');
  return dot < 0 ? goReadsInt64(text) : goReadsInt64(text.slice(0, dot)) && /^[0-9]*$/.test(text.slice(dot + 1));
}

/** PAX records whose values Go reads as numbers for the entry (mergePAX); an empty value keeps the header's. */
const PAX_NUMBERS: Readonly<Record<string, (value: string) => boolean>> = {
  size: goReadsInt64, uid: goReadsInt64, gid: goReadsInt64, mtime: goReadsPaxTime, atime: goReadsPaxTime, ctime: goReadsPaxTime,
};
/** Keys whose values Go reads as text and refuses with a NUL in them; in other records the key may not hold one. */
const PAX_TEXT_KEYS = new Set(['path', 'linkpath', 'uname', 'gname']);

/**
 * Go's parsePAXRecord on the records of one PAX header (exactly the bytes
 * its size says), one record after another; the value rules of mergePAX
 * apply to a per-entry header (typeflag x) only, Go ignores them for a
 * global one.
 */
export function goPaxProblem(records: Buffer, global: boolean): HeaderProblem | undefined {
  if (records.length > GO_MAX_SPECIAL_FILE_BYTES) return `a PAX header holds ${records.length} bytes, over the ${GO_MAX_SPECIAL_FILE_BYTES} Go's archive/tar reads`;
  let rest = records;
  while (rest.length > 0) {
    const space = rest.indexOf(0x20);
    const lengthText = rest.subarray(0, Math.max(space, 0)).toString('latin1');
    const length = space > 0 && DECIMAL.test(lengthText) ? Number(lengthText) : Number.NaN;
    const shown = written(rest.subarray(0, Math.min(rest.length, 40)));
    if (!(length >= 5 && length <= rest.length && length > space + 1) || rest[length - 1] !== 0x0a) {
      return `a PAX header has a record ${shown} that is not "<length> <key>=<value>\\n" with its length right, which Go's archive/tar refuses`;
    }
    const record = rest.subarray(space + 1, length - 1).toString('utf8');
    const equals = record.indexOf('=');
    const key = record.slice(0, Math.max(equals, 0));
    const value = record.slice(equals + 1);
    if (equals <= 0 || (PAX_TEXT_KEYS.has(key) ? value.includes('\0') : key.includes('\0'))) {
      return `a PAX header has a record ${shown} without a key, or with a NUL where Go's archive/tar refuses one`;
    }
    const readsNumber = PAX_NUMBERS[key];
    if (!global && readsNumber !== undefined && value !== '' && !readsNumber(value)) {
      return `a PAX record ${key}=${JSON.stringify(value.slice(0, 40))} is no number to Go's archive/tar`;
    }
    rest = rest.subarray(length);
  }
  return undefined;
}

/** Go's readSpecialFile: a GNU long name (or link target) over 1 MiB ends the archive. */
export function goLongNameProblem(name: Buffer): HeaderProblem | undefined {
  return name.length > GO_MAX_SPECIAL_FILE_BYTES ? `a GNU long-name header holds ${name.length} bytes, over the ${GO_MAX_SPECIAL_FILE_BYTES} Go's archive/tar reads` : undefined;
}
