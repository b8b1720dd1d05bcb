import { describe, expect, it } from 'vitest';
import { buildImage, ociEntries, packTar, streamOf, type TarEntry } from '../../test-fixtures/images.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { TarBlockWatch } from './tar-block-watch.js';
import { validateArchive } from './validate-archive.js';

/**
 * Archives tar-stream reads as one image and Go's archive/tar (docker load,
 * skopeo), GNU tar or Python as another: a second index.json and its blobs
 * hidden where only the others look. Found by a review, each shown there
 * with skopeo inspect naming the hidden image.
 */

interface RawHeader {
  readonly name: string;
  readonly type: string;
  readonly size?: number;
  readonly linkname?: string;
  readonly magic?: 'ustar' | 'gnu';
  /** Bytes 345–500: USTAR's prefix, GNU's access and change times. */
  readonly prefixArea?: Buffer;
  /** Raw bytes written over the header at these offsets before its checksum: fields as no packer writes them. */
  readonly raw?: Readonly<Record<number, Buffer>>;
}

/** One tar header block, written byte by byte: what no packer writes. */
function headerBlock(header: RawHeader): Buffer {
  const block = Buffer.alloc(512);
  block.write(header.name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  block.write(`${(header.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  block.write('00000000000\0', 136, 'latin1');
  block.write(header.type, 156, 'latin1');
  if (header.linkname !== undefined) block.write(header.linkname, 157, 100, 'utf8');
  block.write(header.magic === 'gnu' ? 'ustar  \0' : 'ustar\x0000', 257, 'latin1');
  header.prefixArea?.copy(block, 345);
  for (const [at, bytes] of Object.entries(header.raw ?? {})) bytes.copy(block, Number(at));
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

const padded = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
const rawEntry = (header: RawHeader, data: Buffer = Buffer.alloc(0)): Buffer => Buffer.concat([headerBlock({ ...header, size: header.size ?? data.length }), padded(data)]);
const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
const paxRecords = (records: Record<string, string>): Buffer => Buffer.from(Object.entries(records).map(([key, value]) => {
  const text = ` ${key}=${value}\n`;
  let length = text.length + 1;
  while (`${length}${text}`.length !== length) length += 1;
  return `${length}${text}`;
}).join(''));

const validated = await buildImage({ repoTags: ['shop:1'], layers: [{ files: { 'app/hello': 'validated image\n' } }] });
const hidden = await buildImage({ repoTags: ['shop:1'], layers: [{ files: { 'app/hello': 'SMUGGLED image\n' } }] });
/** The validated image's entries, without the end-of-archive marker. */
const visible = (await packTar(ociEntries(validated))).subarray(0, -1024);
/** The hidden image's index.json and blobs, as tar entries. */
const smuggled = (await packTar(ociEntries(hidden).filter((entry: TarEntry) => entry.name !== 'oci-layout'))).subarray(0, -1024);
const END = Buffer.alloc(1024);

async function verdictOf(archive: Buffer, chunkBytes = 4096): Promise<string> {
  const outcome = await validateArchive(streamOf(archive, chunkBytes), DEFAULT_VALIDATION_LIMITS);
  return outcome.ok ? `accepted ${outcome.summary.manifestDigest}` : `${outcome.reasonCode}: ${outcome.message}`;
}

describe('an archive two tar readers would read differently is refused', () => {
  it('UNSUPPORTED_ENTRY: a symlink or hard link carrying data, which tar-stream reads as its content and Go as the entries after it', async () => {
    for (const type of ['2', '1']) {
      const archive = Buffer.concat([visible, headerBlock({ name: 'zz', type, linkname: 'oci-layout', size: smuggled.length }), smuggled, END]);
      expect(await verdictOf(archive)).toMatch(/^UNSUPPORTED_ENTRY: (symlink|link) entry "zz" carries \d+ bytes of data; tar tools disagree/);
    }
  });

  it('UNSUPPORTED_ENTRY: a file named like a folder (old tars\' trailing slash) that carries data; without data it is a folder', async () => {
    const archive = Buffer.concat([visible, headerBlock({ name: 'zz/', type: '\0', size: smuggled.length }), smuggled, END]);
    expect(await verdictOf(archive)).toMatch(/^UNSUPPORTED_ENTRY: entry "zz\/" is a folder by its name and carries \d+ bytes/);
    expect(await verdictOf(Buffer.concat([visible, rawEntry({ name: 'extra/', type: '\0' }), END]))).toMatch(/^accepted sha256:/);
  });

  it('UNSUPPORTED_ENTRY: an entry with a GNU long name and a PAX path that differ, in either order (tar-stream takes PAX, Go the GNU name)', async () => {
    const decoy = Buffer.from('{"decoy":true}');
    const longName = rawEntry({ name: '././@LongLink', type: 'L' }, Buffer.from('index.json\0'));
    const pax = rawEntry({ name: 'PaxHeaders/x', type: 'x' }, paxRecords({ path: 'decoy.json' }));
    for (const both of [[longName, pax], [pax, longName]]) {
      const archive = Buffer.concat([visible, ...both, rawEntry({ name: 'x', type: '0' }, decoy), END]);
      expect(await verdictOf(archive)).toMatch(/^UNSUPPORTED_ENTRY: an entry is named both "decoy\.json" \(PAX\) and "index\.json" \(GNU long name\)/);
    }
    // The same name both ways is no disagreement.
    const samePax = rawEntry({ name: 'PaxHeaders/x', type: 'x' }, paxRecords({ path: 'notes.txt' }));
    const sameLong = rawEntry({ name: '././@LongLink', type: 'L' }, Buffer.from('notes.txt\0'));
    expect(await verdictOf(Buffer.concat([visible, sameLong, samePax, rawEntry({ name: 'x', type: '0' }, decoy), END]))).toMatch(/^accepted sha256:/);
  });

  it('UNSUPPORTED_ENTRY: a GNU header whose time fields are no numbers, which Go reads as a folder prefix; real times pass', async () => {
    const junk = Buffer.from('zz\0');
    const archive = Buffer.concat([visible, rawEntry({ name: 'notes.txt', type: '0', magic: 'gnu', prefixArea: junk }, Buffer.from('hi')), END]);
    expect(await verdictOf(archive)).toMatch(/^UNSUPPORTED_ENTRY: entry "notes\.txt" has a GNU header whose time fields are not numbers/);
    const times = Buffer.from('14712237415\0 14712237415\0', 'latin1');
    expect(await verdictOf(Buffer.concat([visible, rawEntry({ name: 'notes.txt', type: '0', magic: 'gnu', prefixArea: times }, Buffer.from('hi')), END]))).toMatch(/^accepted sha256:/);
    // A time of spaces is zero to Go (no prefix); a base-256 time past 63 bits is an error to Go, which then reads the prefix.
    const spaces = Buffer.from('           \0', 'latin1');
    expect(await verdictOf(Buffer.concat([visible, rawEntry({ name: 'notes.txt', type: '0', magic: 'gnu', prefixArea: spaces }, Buffer.from('hi')), END]))).toMatch(/^accepted sha256:/);
    const overflow = Buffer.concat([Buffer.from('00000000000\0', 'latin1'), Buffer.from([0x80, ...Array<number>(11).fill(0xff)])]);
    expect(await verdictOf(Buffer.concat([visible, rawEntry({ name: 'notes.txt', type: '0', magic: 'gnu', prefixArea: overflow }, Buffer.from('hi')), END])))
      .toMatch(/^UNSUPPORTED_ENTRY: entry "notes\.txt" has a GNU header whose time fields are not numbers/);
  });

  it('UNSUPPORTED_ENTRY: a header ending in star\'s trailer "tar\\0" whose 131-byte prefix Go reads as a second index.json (found by a review: containerd imported the hidden image)', async () => {
    // Go's archive/tar reads 131 bytes of prefix and numeric times after them; tar-stream reads the 155 bytes up to a NUL as the prefix.
    const starArea = latin1(`${'A'.repeat(128)}/..00000000000 00000000000\0`);
    const hiddenIndex = ociEntries(hidden).find((entry) => entry.name === 'index.json')?.data ?? Buffer.alloc(0);
    const hiddenBlobs = (await packTar(ociEntries(hidden).filter((entry) => entry.name.startsWith('blobs/')))).subarray(0, -1024);
    const archive = Buffer.concat([visible, hiddenBlobs, rawEntry({ name: 'index.json', type: '0', prefixArea: starArea, raw: { 508: latin1('tar\0') } }, hiddenIndex), END]);
    expect(await verdictOf(archive)).toMatch(/^UNSUPPORTED_ENTRY: entry "A{128}\/\.\.00000000000 00000000000\/index\.json" has a header ending in star's trailer "tar\\x00", which Go's archive\/tar \(docker load, skopeo, containerd\) reads with a 131-byte name prefix where tar-stream reads 155 bytes: Go names it "A{128}\/\.\.\/index\.json"/);
    // A prefix ending within the 131 bytes reads alike; the same header without star's trailer is plain USTAR to both.
    const short = latin1('extra\0'.padEnd(131, '\0') + '00000000000 00000000000\0');
    expect(await verdictOf(Buffer.concat([visible, rawEntry({ name: 'notes.txt', type: '0', prefixArea: short, raw: { 508: latin1('tar\0') } }, Buffer.from('hi')), END]))).toMatch(/^accepted sha256:/);
    expect(await verdictOf(Buffer.concat([visible, rawEntry({ name: 'notes.txt', type: '0', prefixArea: latin1(`${'A'.repeat(130)}\0`) }, Buffer.from('hi')), END]))).toMatch(/^accepted sha256:/);
  });

  it('accepts the ordinary archive these are built on', async () => {
    expect(await verdictOf(Buffer.concat([visible, END]))).toMatch(/^accepted sha256:/);
  });
});

describe('a header whose fields Go\'s archive/tar refuses, where tar-stream reads a number and goes on (found by a fuzz review)', () => {
  const SIZE = 124;
  const notes = (header: Partial<RawHeader> = {}, data = Buffer.from('hi')): Buffer => rawEntry({ name: 'notes.txt', type: '0', ...header }, data);
  const withEntry = (...entries: Buffer[]): Buffer => Buffer.concat([visible, ...entries, END]);

  it('UNSUPPORTED_ENTRY: a size field with a byte that is no octal digit after its digits (tar-stream read the digits, Go refused the archive)', async () => {
    // What a bit flip in a real archive's index.json header made, checksum made good: tar-stream read 0o450 bytes, docker load failed.
    const archive = withEntry(notes({ raw: { [SIZE]: latin1('00000000002\b') } }));
    expect(await verdictOf(archive)).toMatch(/^UNSUPPORTED_ENTRY: at entry "notes\.txt", a header's size field is written "00000000002\\x08", which is no number to Go's archive\/tar; Go's archive\/tar \(docker load, skopeo\) refuses the archive there/);
    const inside = withEntry(notes({ raw: { [SIZE]: latin1('000000\xb000002') } }));
    expect(await verdictOf(inside)).toMatch(/^UNSUPPORTED_ENTRY: at entry "notes\.txt", a header's size field is written "000000\\xb000002"/);
  });

  it('UNSUPPORTED_ENTRY: a size tar-stream reads as 0 and Go as the digits after NUL-then-space padding', async () => {
    const archive = withEntry(notes({ raw: { [SIZE]: latin1('\0 0000000002') } }));
    expect(await verdictOf(archive)).toMatch(/^UNSUPPORTED_ENTRY: at entry "notes\.txt", a header's size field is written "\\x00 0000000002", which tar-stream reads as 0 and Go's archive\/tar as 2/);
  });

  it('UNSUPPORTED_ENTRY: the mode, uid, gid, modification time, device numbers or checksum written so Go refuses them', async () => {
    const cases: [number, string, string][] = [
      [100, '0000644x', 'mode'], [108, '0001750\x01', 'uid'], [116, '0000 175', 'gid'], [136, '1471223741x\0', 'modification time'], [329, '00000z0\0', 'device major'],
    ];
    for (const [at, field, name] of cases) {
      expect(await verdictOf(withEntry(notes({ raw: { [at]: latin1(field) } })))).toMatch(new RegExp(`^UNSUPPORTED_ENTRY: at entry "notes\\.txt", a header's ${name} field is written`));
    }
    // tar-stream reads the checksum up to its first space; Go wants octal digits and padding only.
    const checksumJunk = notes();
    // Both read the sum with the checksum field taken as spaces.
    const sum = checksumJunk.subarray(0, 512).reduce((total, byte, at) => total + (at >= 148 && at < 156 ? 0x20 : byte), 0);
    const withJunk = (text: string): Buffer => {
      const copy = Buffer.from(checksumJunk);
      latin1(text).copy(copy, 148);
      return copy;
    };
    expect(await verdictOf(withEntry(withJunk(`${sum.toString(8).padStart(6, '0')} x`)))).toMatch(/^UNSUPPORTED_ENTRY: at entry "notes\.txt", a header's checksum field is written/);
  });

  it('accepts the numeric fields tar tools write: octal padded with spaces or NULs, base-256 after 0x80 or 0xFF, empty device numbers', async () => {
    const base256 = (first: number, value: number, length: number): Buffer => {
      const field = Buffer.alloc(length, first === 0xff ? 0xff : 0);
      field[0] = first;
      field.writeUInt32BE(first === 0xff ? 0xffffffff - value + 1 : value, length - 4);
      return field;
    };
    const good: Record<number, Buffer>[] = [
      { [SIZE]: latin1('00000000002 ') }, { [SIZE]: latin1('          2\0') }, { [SIZE]: latin1('2\0\0\0\0\0\0\0\0\0\0\0') }, { [SIZE]: latin1('000000000002') },
      { [SIZE]: base256(0x80, 2, 12) }, { 136: base256(0xff, 2_208_988_800, 12) }, { 108: base256(0x80, 4_294_967_294, 8) },
      { 100: latin1('000644 \0') }, { 329: Buffer.alloc(16) }, { 329: latin1('       \0       \0') },
    ];
    for (const raw of good) expect(await verdictOf(withEntry(notes({ raw })))).toMatch(/^accepted sha256:/);
  });

  it('UNSUPPORTED_ENTRY: a PAX header whose own size field Go refuses, and one after the last entry', async () => {
    const pax = rawEntry({ name: 'PaxHeaders/notes', type: 'x', raw: { [SIZE]: latin1('00000000022\x7f') } }, paxRecords({ mtime: '1700000000' }));
    expect(await verdictOf(withEntry(pax, notes()))).toMatch(/^UNSUPPORTED_ENTRY: at entry "notes\.txt", a header's size field is written "00000000022\\x7f"/);
    expect(await verdictOf(withEntry(pax))).toMatch(/^UNSUPPORTED_ENTRY: after the last entry tar-stream read, a header's size field is written "00000000022\\x7f"/);
  });

  it('UNSUPPORTED_ENTRY: PAX records Go refuses (tar-stream skipped them): a number that is none, no length, a wrong length, no key', async () => {
    const paxThen = (records: Buffer): Buffer => withEntry(rawEntry({ name: 'PaxHeaders/notes', type: 'x' }, records), notes());
    expect(await verdictOf(paxThen(paxRecords({ size: '1e400' })))).toMatch(/^UNSUPPORTED_ENTRY: at entry "notes\.txt", a PAX record size="1e400" is no number to Go's archive\/tar/);
    for (const key of ['uid', 'gid', 'mtime', 'atime', 'ctime']) {
      expect(await verdictOf(paxThen(paxRecords({ [key]: '12abc' })))).toMatch(new RegExp(`^UNSUPPORTED_ENTRY: at entry "notes\\.txt", a PAX record ${key}="12abc"`));
    }
    for (const records of ['garbage-no-length\n', '30 mtime=1700000000\n', '19 mtime=1700000000 ', '9 =value\n']) {
      expect(await verdictOf(paxThen(Buffer.from(records)))).toMatch(/^UNSUPPORTED_ENTRY: at entry "notes\.txt", a PAX header has a record /);
    }
  });

  it('accepts the PAX records tar tools write: times with fractions or before 1970, big ids, an empty value, any record in a global header', async () => {
    const records = paxRecords({ mtime: '1700000000.123456789', atime: '-2208988800.5', uid: '1099511627776', gid: '0', size: '', 'SCHILY.xattr.user.x': 'a=b\0c', comment: 'x=1' });
    expect(await verdictOf(withEntry(rawEntry({ name: 'PaxHeaders/notes', type: 'x' }, records), notes()))).toMatch(/^accepted sha256:/);
    // Go reads a global header's records and ignores their values (tar-stream too): a time that is none is no problem.
    expect(await verdictOf(withEntry(rawEntry({ name: 'pax_global_header', type: 'g' }, paxRecords({ mtime: 'yesterday' })), notes()))).toMatch(/^accepted sha256:/);
  });

  it('UNSUPPORTED_ENTRY: a star header (USTAR magic, "tar\\0" trailer) whose access or change time Go refuses (found by a review: docker load said "invalid tar header")', async () => {
    const star = (times: string): Buffer => notes({ prefixArea: latin1(`${'p'.repeat(131)}${times}`), raw: { 508: latin1('tar\0') } });
    expect(await verdictOf(withEntry(star('ppppppppp\0\0\0')))).toMatch(/^UNSUPPORTED_ENTRY: at entry "p{131}ppppppppp\/notes\.txt", a header ending in star's trailer "tar\\x00", which Go's archive\/tar reads as star's format, has its access time field \(bytes 476-487, USTAR's name prefix to tar-stream\) written "ppppppppp\\x00\\x00\\x00", which is no number/);
    const changeTime = notes({ prefixArea: latin1(`extra${'\0'.repeat(126)}00000000000\x000000000001x\x00`), raw: { 508: latin1('tar\0') } });
    expect(await verdictOf(withEntry(changeTime))).toMatch(/^UNSUPPORTED_ENTRY: at entry "extra\/notes\.txt", a header ending in star's trailer .* has its change time field \(bytes 488-499/);
  });

  it('accepts PAX and GNU long-name headers whose data holds whole zero blocks (GNU tar and bsdtar --xattrs with an xattr of zeros, found by a review)', async () => {
    // What GNU tar --xattrs --format=posix and bsdtar --xattrs --format=pax write for a file with a 2 KiB xattr of NULs.
    const xattr = rawEntry({ name: 'PaxHeaders/notes', type: 'x' }, paxRecords({ 'SCHILY.xattr.user.tw': '\0'.repeat(2048), mtime: '1700000000' }));
    // A GNU long name of 512 bytes: its NUL is alone in the header's last block.
    const longPath = `${'d'.repeat(99)}/`.repeat(5) + 'x'.repeat(12);
    const longName = rawEntry({ name: '././@LongLink', type: 'L' }, Buffer.from(`${longPath}\0`));
    for (const chunkBytes of [512, 4096, 65_536]) {
      expect(await verdictOf(withEntry(xattr, notes()), chunkBytes)).toMatch(/^accepted sha256:/);
      expect(await verdictOf(withEntry(xattr), chunkBytes)).toMatch(/^accepted sha256:/);
      expect(await verdictOf(withEntry(longName, notes()), chunkBytes)).toMatch(/^accepted sha256:/);
    }
    // Zeros between a long header's data and its entry are still a marker.
    expect(await verdictOf(withEntry(xattr, Buffer.alloc(1024), notes()))).toMatch(/^UNSUPPORTED_ENTRY: entry "notes\.txt" comes after the tar's end-of-archive marker/);
  });

  it('UNSUPPORTED_ENTRY: a GNU long name over the 1 MiB Go reads (tar-stream reads up to 4 MiB)', async () => {
    const longName = rawEntry({ name: '././@LongLink', type: 'L' }, Buffer.concat([Buffer.alloc(1024 * 1024 + 1, 'a'), Buffer.from('\0')]));
    expect(await verdictOf(withEntry(longName, notes()))).toMatch(/^UNSUPPORTED_ENTRY: at entry "a+", a GNU long-name header holds 1048578 bytes, over the 1048576 Go's archive\/tar reads/);
  });
});

describe('an old GNU names header (typeflag N) is refused (found by a bug reread)', () => {
  it('UNSUPPORTED_ENTRY: tar-stream took its data for the next entry\'s name, so a second index.json only Go, GNU tar and bsdtar read hid the validated one', async () => {
    // tar-stream: the N header renames the entry after it; Go: the N header is an entry, and the next one keeps its name.
    const [head, ...rest] = [visible, rawEntry({ name: 'names', type: 'N' }, Buffer.from('ignored.json\0')), rawEntry({ name: 'index.json', type: '0' }, Buffer.from('{}'))];
    for (const chunkBytes of [512, 4096, 65536]) {
      expect(await verdictOf(Buffer.concat([head, ...rest, END]), chunkBytes)).toMatch(/^UNSUPPORTED_ENTRY: at entry "ignored\.json", a header of typeflag "N" \(old GNU tar's names\), which tar-stream reads as the long name of the entry after it and Go \(docker load, skopeo\), GNU tar and bsdtar as an entry of its own; so tools would read the archive differently/);
    }
  });
});

describe('headers of kinds no image tool writes are refused for what they are (found by a review)', () => {
  const withEntry = (...entries: Buffer[]): Buffer => Buffer.concat([visible, ...entries, END]);

  it('UNSUPPORTED_ENTRY: a contiguous file (typeflag 7), which tar-stream read as a file and containerd\'s importer skips', async () => {
    expect(await verdictOf(withEntry(rawEntry({ name: 'notes.txt', type: '7' }, Buffer.from('hi')))))
      .toMatch(/^UNSUPPORTED_ENTRY: entry "notes\.txt" is a contiguous file \(tar typeflag "7"\), which containerd's importer skips and skopeo refuses/);
  });

  it('UNSUPPORTED_ENTRY naming the typeflag: a GNU volume label, a dumpdir, a multi-volume part or another unknown type, not "most likely a sparse file"', async () => {
    const cases: [string, RegExp][] = [
      ['V', /is a GNU volume label \(tar typeflag "V", what tar --label writes\)/],
      ['D', /is a GNU dumpdir \(tar typeflag "D", what tar --listed-incremental writes/],
      ['M', /is the rest of a file from the volume before \(tar typeflag "M"/],
      ['Q', /is of tar typeflag "Q", an entry type Orbit does not read/],
    ];
    for (const [type, reason] of cases) {
      const verdict = await verdictOf(withEntry(rawEntry({ name: 'notes', type })));
      expect(verdict).toMatch(/^UNSUPPORTED_ENTRY: entry "notes" /);
      expect(verdict).toMatch(reason);
      expect(verdict).not.toMatch(/sparse/);
    }
  });

  it('NOT_AN_ARCHIVE naming signed checksums for a header summed over signed bytes, wherever it is (was TRUNCATED "cut short or corrupt" after the first)', async () => {
    const signed = (entry: Buffer): Buffer => {
      const copy = Buffer.from(entry);
      copy.fill(' ', 148, 156);
      const sum = copy.subarray(0, 512).reduce((total, byte) => total + (byte >= 0x80 ? byte - 0x100 : byte), 0);
      copy.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      return copy;
    };
    // Only a header with bytes past ASCII sums otherwise signed: a UTF-8 name.
    const notes = signed(rawEntry({ name: 'notes-\u00e9t\u00e9.txt', type: '0' }, Buffer.from('hi')));
    const visibleEntries = ociEntries(validated).length;
    expect(await verdictOf(withEntry(notes))).toMatch(new RegExp(`^NOT_AN_ARCHIVE: the archive's header at byte ${visible.length} \\(after ${visibleEntries} entries\\) has its checksum summed over signed bytes`));
    expect(await verdictOf(Buffer.concat([notes, visible, END]))).toMatch(/^NOT_AN_ARCHIVE: the archive's header at byte 0 \(after 0 entries\) has its checksum summed over signed bytes/);
    // A checksum that is no sum at all stays TRUNCATED.
    const corrupt = Buffer.from(notes);
    corrupt.write('0000001\0', 148, 'latin1');
    expect(await verdictOf(withEntry(corrupt))).toMatch(new RegExp(`^TRUNCATED: the archive is cut short or corrupt after ${visibleEntries} entries`));
  });
});

describe('zero blocks after the last entry', () => {
  it('are held as one run, however many there are (gigabytes of zeros gzip to a few MB)', async () => {
    const watch = new TarBlockWatch();
    async function* zeros(): AsyncGenerator<Buffer> {
      yield Buffer.concat([headerBlock({ name: 'a', type: '0', size: 1 }), padded(Buffer.from('a'))]);
      for (let i = 0; i < 256; i += 1) yield Buffer.alloc(256 * 1024);
    }
    for await (const _chunk of watch.watch(zeros())) { /* watched */ }
    watch.entry('a', 512, 1);
    expect(watch.markerAfterLastEntry()).toBe(1024);
    expect(watch.heldOffsets).toBe(1);
  });

  it('blocks that look like headers Go refuses are let go once tar-stream reads past them (PAX headers report no entry)', async () => {
    const watch = new TarBlockWatch();
    const lookalike = headerBlock({ name: 'x', type: '0', raw: { 124: latin1('00000000002\b') } });
    const link = Buffer.concat([headerBlock({ name: 'PaxHeaders/x', type: 'x', size: 4 * 512 }), ...Array<Buffer>(4).fill(lookalike)]);
    let chunks = 0;
    for await (const _chunk of watch.watch((async function* () { for (let i = 0; i < 200; i += 1) yield link; })())) {
      // As tar-stream does a chunk behind: the PAX header of the chunk before is read as one.
      if (chunks > 0) watch.framed((chunks - 1) * link.length);
      chunks += 1;
    }
    expect(watch.heldOffsets).toBeLessThanOrEqual(8);
  });
});
