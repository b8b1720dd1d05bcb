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
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

const padded = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
const rawEntry = (header: RawHeader, data: Buffer = Buffer.alloc(0)): Buffer => Buffer.concat([headerBlock({ ...header, size: header.size ?? data.length }), padded(data)]);
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

async function verdictOf(archive: Buffer): Promise<string> {
  const outcome = await validateArchive(streamOf(archive, 4096), DEFAULT_VALIDATION_LIMITS);
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

  it('accepts the ordinary archive these are built on', async () => {
    expect(await verdictOf(Buffer.concat([visible, END]))).toMatch(/^accepted sha256:/);
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
});
