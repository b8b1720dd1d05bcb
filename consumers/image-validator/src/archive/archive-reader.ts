import type { Readable } from 'node:stream';
import tar, { type Header } from 'tar-stream';
import { feedWritable, linkTarget, normalizeEntryPath } from '@orbit/lib';
import { TarBlockWatch } from './tar-block-watch.js';
import { dataStartOf, markTwoNames, paxGlobalOf, TarStreamChangedError, watchFraming, type TypedHeader } from './tar-stream-hooks.js';
import { ProgressWatchdog, READER_STALL_MS } from './progress-watchdog.js';
import { digestFile, type EntryFacts } from './entry-facts.js';
import { ByteBudget, RETAINED_JSON_FACTOR, type ValidationLimits } from './limits.js';
import { ImageRejection, reject } from './rejections.js';
import { tarBytes, type UploadFacts } from './tar-source.js';

/** Everything one pass over the archive learned: entry facts by normalized path. */
export interface ArchiveContents {
  readonly upload: UploadFacts;
  readonly entries: ReadonlyMap<string, EntryFacts>;
}

/** PAX records that change which entry follows, and where (path, link target, data length). */
const LAYOUT_RECORDS = ['path', 'linkpath', 'size'];

/**
 * A global PAX header (typeflag g) carrying a path, link target or size: GNU
 * tar and Python apply it to the entries after it, Go's archive/tar and
 * tar-stream only hand it over, so the archive Orbit validated and the one
 * `tar x` unpacks would hold different files. No image tool writes one (git
 * archive's carries only a comment). tar-stream keeps the header it read last
 * (paxGlobalOf) and applies it to nothing but entries with PAX records of
 * their own; a test of a crafted archive holds it to that.
 */
function rejectGlobalLayout(extract: object): void {
  const global = paxGlobalOf(extract);
  const record = Object.keys(global).find((key) => LAYOUT_RECORDS.includes(key) || key.startsWith('GNU.sparse.'));
  if (record !== undefined) {
    reject('UNSUPPORTED_ENTRY', `the archive has a global PAX header setting "${record}" for the entries after it, which GNU tar and Python apply and Go's archive/tar does not, so tools would unpack different files; docker save, skopeo, crane and podman never write one: repack the archive`);
  }
}
/** 100 000 entries of an ordinary archive keep a few MB of paths; this stops a flood of long ones. */
const MAX_KEPT_PATH_BYTES = 64 * 1024 * 1024;

function sameContent(a: EntryFacts, b: EntryFacts): boolean {
  if (a.kind === 'file' && b.kind === 'file') return a.sha256 === b.sha256 && a.size === b.size;
  return a.kind === b.kind && a.kind !== 'file' && b.kind !== 'file' && a.target === b.target;
}

const REPACK = 'docker save, skopeo, crane and podman never write one; repack the archive without sparse files (GNU tar without --sparse/-S; bsdtar, which writes a file with holes sparse by default, with --no-read-sparse)';

/** GNU tar's own typeflags tar-stream does not know, by the flag as written (go-tar-fields.ts, typeflagStreamLacks): what each is and what to do. */
const GNU_TYPEFLAGS: Readonly<Record<string, string>> = {
  '"S"': `a sparse file (tar typeflag "S", what GNU tar --sparse writes); ${REPACK}`,
  '"V"': 'a GNU volume label (tar typeflag "V", what tar --label writes), which Orbit does not read; docker save, skopeo, crane and podman never write one: repack the archive without --label',
  '"D"': 'a GNU dumpdir (tar typeflag "D", what tar --listed-incremental writes for a folder), which Orbit does not read; docker save, skopeo, crane and podman never write one: repack the archive without --listed-incremental/--incremental',
  '"M"': 'the rest of a file from the volume before (tar typeflag "M", what tar --multi-volume writes), which Orbit does not read; send the archive as one volume',
};

/** What an entry of a type tar-stream does not know is, named by its typeflag when the block watch saw it. */
function unknownTypeReason(typeflag: string | undefined): string {
  if (typeflag === undefined) return `of a tar entry type Orbit does not read; ${REPACK}`;
  return GNU_TYPEFLAGS[typeflag] ?? `of tar typeflag ${typeflag}, an entry type Orbit does not read; docker save, skopeo, crane and podman never write one: repack the archive`;
}

/**
 * Entries tar-stream hands over as something other than what they hold, and
 * which Orbit (which stores, pushes and serves the archive as it is) cannot
 * read: a sparse file's data is a map of holes plus the parts between them.
 * GNU tar writes one for a file with holes when told --sparse; bsdtar does
 * unasked (macOS's tar among them). Docker's Go reader expands them, so the
 * same archive loads there: say plainly why it does not here, instead of
 * "not in the archive" for a blob stored under GNUSparseFile.0/. Expanding
 * them would mean a sparse-map reader of our own beside tar-stream, in the
 * validator and in every reader of the stored archive.
 */
function rejectUnreadable(header: Header): void {
  // tar-stream reads a size field it cannot parse (base-256 marked otherwise than 0x80/0xFF) as null, and then waits for
  // that entry's data for ever: one 10 KB upload held its validator partition until a restart (found by a fuzz review).
  // Go's archive/tar and GNU tar refuse such a header.
  const size: unknown = header.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    reject('UNSUPPORTED_ENTRY', `entry "${header.name}" has a size field that is not a number tar tools read (Go's archive/tar and GNU tar refuse the header); no image tool writes one: repack the archive`);
  }
  // tar-stream hands the entry's PAX records over as header.pax; its typings leave them out.
  const pax = (header as Header & { pax?: Record<string, string> | null }).pax ?? {};
  if (Object.keys(pax).some((key) => key.startsWith('GNU.sparse.'))) {
    reject('UNSUPPORTED_ENTRY', `entry "${pax['GNU.sparse.name'] ?? header.name}" is a sparse file (PAX GNU.sparse headers, what GNU tar --sparse --format=posix and bsdtar write for a file with holes); ${REPACK}`);
  }
  // tar-stream reports typeflags it does not know as null, whatever its typings say: GNU's sparse 'S' is the one tar tools write.
  if ((header.type as string | null) === null) {
    reject('UNSUPPORTED_ENTRY', `entry "${header.name}" is ${unknownTypeReason((header as TypedHeader).orbitTypeflag)}`);
  }
  // POSIX lets a reader take a contiguous file for a file, and tar-stream does; containerd's importer passes over it (its blob
  // is then missing) and skopeo's oci-archive refuses it, so what was validated would not load.
  if (header.type === 'contiguous-file') {
    reject('UNSUPPORTED_ENTRY', `entry "${header.name}" is a contiguous file (tar typeflag "7"), which containerd's importer skips and skopeo refuses ("unhandled tar header type"), so the image would not load from the stored archive; `
      + 'docker save, skopeo, crane and podman never write one: repack the archive with GNU tar or bsdtar, which write it as an ordinary file (typeflag "0")');
  }
}

/** Why the readers would disagree on what follows a header, when they would. */
const TWO_READINGS = 'tar tools disagree on whether those bytes are its content (tar-stream) or the entries after it (Go\'s archive/tar in docker load and skopeo, GNU tar, Python), so they would unpack different files; no image tool writes one: repack the archive';

async function drain(entry: AsyncIterable<Buffer>): Promise<void> {
  for await (const _chunk of entry) { /* directories and links carry no data worth reading */ }
}

class EntryReader {
  readonly entries = new Map<string, EntryFacts>();
  /** Folder entries by normalized path: none may also be a file or link. */
  readonly folders = new Set<string>();
  private count = 0;
  private readonly retained: ByteBudget;
  private readonly zstdStarts = { count: 0 };

  /** Names, link targets and the steps of their resolution, kept for the checks at the end: bounded like the JSON entries. */
  private readonly paths: ByteBudget;
  constructor(private readonly limits: ValidationLimits, private readonly decompressed: ByteBudget) {
    this.retained = new ByteBudget(limits.maxJsonBytes * RETAINED_JSON_FACTOR, 'the JSON-like entries kept in memory');
    this.paths = new ByteBudget(MAX_KEPT_PATH_BYTES, 'the entry names and link targets kept for the path checks');
  }

  get seen(): number {
    return this.count;
  }

  async read(header: Header, entry: AsyncIterable<Buffer>): Promise<void> {
    this.count += 1;
    if (this.count > this.limits.maxEntries) reject('TOO_LARGE', `the archive has more than ${this.limits.maxEntries} entries`);
    rejectUnreadable(header);
    const twoNames = (header as Header & { orbitTwoNames?: string }).orbitTwoNames;
    if (twoNames !== undefined) reject('UNSUPPORTED_ENTRY', `an entry is named both ${twoNames}: tar-stream reads the PAX name and Go's archive/tar (docker load, skopeo) the GNU one, so tools would unpack different files; no tar tool writes both: repack the archive`);
    let type: string = header.type;
    const name = normalizeEntryPath(header.name);
    if (!name.ok) reject('UNSAFE_PATH', `entry "${header.name}" ${name.why}`);
    // Old tars mark a folder by a slash, not a type: Go, GNU tar and Python read no data after one.
    if (type === 'file' && header.name.endsWith('/')) {
      if (header.size > 0) reject('UNSUPPORTED_ENTRY', `entry "${header.name}" is a folder by its name and carries ${header.size} bytes; ${TWO_READINGS}`);
      type = 'directory';
    }
    if (type !== 'file' && header.size > 0) {
      reject('UNSUPPORTED_ENTRY', `${type} entry "${header.name}" carries ${header.size} bytes of data; ${TWO_READINGS}`);
    }
    if (type === 'directory') {
      this.paths.add(name.path.length);
      this.folders.add(name.path);
      return drain(entry);
    }
    let facts: EntryFacts;
    if (type === 'symlink' || type === 'link') {
      const kind = type === 'symlink' ? 'symlink' : 'hardlink';
      // tar-stream gives an empty link target as null (a hard link with no target was a TypeError, and dead-lettered).
      const target = header.linkname ? linkTarget(name.path, header.linkname, kind) : { ok: false as const, why: 'has an empty link target' };
      if (!target.ok) reject('UNSAFE_PATH', `${kind} "${header.name}" ${target.why}`);
      await drain(entry);
      this.paths.add(target.path.length + target.via.reduce((sum, step) => sum + step.length, 0));
      facts = { kind, path: name.path, target: target.path, via: target.via };
    } else if (type === 'file') {
      facts = await digestFile(name.path, header.size, entry, {
        maxJsonBytes: this.limits.maxJsonBytes, decompressed: this.decompressed, retained: this.retained, zstdStarts: this.zstdStarts,
      });
    } else {
      return reject('UNSAFE_PATH', `entry "${header.name}" is a ${type}; only files, folders and links are allowed`);
    }
    this.paths.add(name.path.length);
    this.remember(facts, header.name);
  }

  private remember(facts: EntryFacts, rawName: string): void {
    const earlier = this.entries.get(facts.path);
    if (earlier === undefined) this.entries.set(facts.path, facts);
    else if (!sameContent(earlier, facts)) reject('DUPLICATE_ENTRY', `"${rawName}" appears twice with different content`);
  }
}

/**
 * A tar extractor writing `x/y` after a symlink `x` writes through the link,
 * so the file lands somewhere other than the path that was validated (and
 * link targets resolved lexically may really escape). Entries below a link,
 * or below a file, are refused whatever their order in the archive.
 */
function rejectPathsThroughLinks(entries: ReadonlyMap<string, EntryFacts>): void {
  const check = (path: string, prefix: string, what: string): void => {
    const at = entries.get(prefix);
    if (at !== undefined) reject('UNSAFE_PATH', `${what} "${path}" goes through the ${at.kind === 'file' ? 'file' : at.kind} "${prefix}"`);
  };
  for (const [path, facts] of entries) {
    const parts = path.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) check(path, parts.slice(0, depth).join('/'), 'entry');
    if (facts.kind !== 'file') for (const step of facts.via) check(path, step, 'the target of link');
  }
}

/** A path that is a folder and a file (or link): extractors disagree on which of the two is left. */
function rejectFoldersAlsoFiles(entries: ReadonlyMap<string, EntryFacts>, folders: ReadonlySet<string>): void {
  for (const folder of folders) {
    const other = entries.get(folder);
    if (other !== undefined) reject('DUPLICATE_ENTRY', `"${folder}" is both a folder and a ${other.kind} in the archive; tar tools disagree on which of them is left`);
  }
}

function isProgrammingError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof ReferenceError || error instanceof SyntaxError || error instanceof TarStreamChangedError;
}

/** Where the framing broke, as the block watch saw it. */
interface FramingFacts {
  /** Where the end-of-archive marker starts, when zero blocks follow the last entry at once. */
  readonly marker: number | undefined;
  /** Where the header tar-stream refused starts, when its checksum is one summed over signed bytes. */
  readonly signedChecksumAt: number | undefined;
}

/** tar-stream's own errors (bad checksum, short data) by how far the archive got. */
function tarRejection(error: unknown, entriesSeen: number, { marker, signedChecksumAt }: FramingFacts): ImageRejection {
  const why = error instanceof Error ? error.message : String(error);
  // tar-stream refuses a PAX or GNU long-name header over 4 MiB before reading it (no tool writes one that long).
  if (why === 'Header exceeds max size') return new ImageRejection('TOO_LARGE', `the archive has a PAX or long-name header over 4 MiB after ${entriesSeen} entries; tar tools write them a few hundred bytes long`);
  // Not cut short, and not corrupt for Go or GNU tar: a writer of its own kind, refused as such wherever the header is.
  if (signedChecksumAt !== undefined && marker === undefined && why.startsWith('Invalid tar header')) {
    return new ImageRejection('NOT_AN_ARCHIVE', `the archive's header at byte ${signedChecksumAt} (after ${entriesSeen} entries) has its checksum summed over signed bytes, as old Sun tars wrote it for names past ASCII: `
      + 'Go\'s archive/tar and GNU tar take one, the tar reader Orbit uses does not; docker save, skopeo, crane and podman never write one: repack the archive with GNU tar or bsdtar');
  }
  if (entriesSeen === 0) return new ImageRejection('NOT_AN_ARCHIVE', `the upload is not a tar archive (${why})`);
  if (marker !== undefined) {
    // Not cut short: whole, then followed by something else. tar, docker load and skopeo stop at the marker.
    return new ImageRejection('UNSUPPORTED_ENTRY', `the archive goes on after its end-of-archive marker (zero blocks at byte ${marker}) with bytes that are no tar entry (${why}): `
      + 'tar, docker load and skopeo stop at the marker, but Orbit stores the archive as it came; send the archive without what follows the marker');
  }
  return new ImageRejection('TRUNCATED', `the archive is cut short or corrupt after ${entriesSeen} entries (${why})`);
}

/** An entry's data, noting each chunk as progress. */
async function* noting(chunks: AsyncIterable<Buffer>, watchdog: ProgressWatchdog): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    watchdog.progress();
    yield chunk;
  }
}

/** The upload's tar bytes, with the watchdog armed while a chunk waits for the reader and disarmed while the upload is awaited. */
async function* armedWhileHandedOver(chunks: AsyncIterable<Buffer>, watchdog: ProgressWatchdog): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    watchdog.arm();
    yield chunk;
    watchdog.disarm();
  }
}

/** Ways into readArchive for tests only. */
export interface ReaderSeams {
  /** Awaited before each entry is read: a test stalls the reader with it. */
  readonly beforeEntry?: (name: string) => Promise<void>;
  /**
   * How long the reader may take none of the bytes it has (the upload's last
   * byte is in, or a chunk of it waits for the reader) before the archive is
   * refused TRUNCATED; tests shorten it.
   * @default READER_STALL_MS (30 s)
   */
  readonly stallMs?: number;
}

/**
 * One pass over the upload: every entry hashed as it streams, nothing but
 * small JSON kept. References are resolved later, because tar entries may
 * come in any order (docker save writes manifest.json last).
 */
export async function readArchive(source: Readable, limits: ValidationLimits, seams: ReaderSeams = {}): Promise<ArchiveContents> {
  const upload: UploadFacts = { compression: 'NONE', sizeBytes: 0, sha256: '' };
  const uploadBudget = new ByteBudget(limits.maxArchiveBytes, 'the uploaded bytes');
  const decompressed = new ByteBudget(limits.maxDecompressedBytes, 'the decompressed bytes (the tar itself plus the output of every gzip or zstd layer)');
  // Pre-POSIX (v7) headers have no magic: GNU tar, bsdtar, skopeo and crane read them, so they are read here too.
  // tar-stream takes the option; its typings leave it out.
  const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  markTwoNames(extract);
  const reader = new EntryReader(limits, decompressed);
  const blocks = new TarBlockWatch();
  watchFraming(extract, blocks);

  // The first failure is the cause; the other side then only sees its echo (a destroyed extractor or source).
  let cause: { readonly error: unknown; readonly from: 'feeder' | 'reader' } | undefined;
  const stallMs = seams.stallMs ?? READER_STALL_MS;
  let stalled = (): void => undefined;
  const stall = new Promise<void>((resolve) => { stalled = resolve; });
  const watchdog = new ProgressWatchdog(stallMs, () => {
    cause ??= {
      error: new ImageRejection('TRUNCATED', `the archive's reader stopped making progress: for ${stallMs / 1000} s it took none of the bytes it had, after ${reader.seen} entries, `
        + 'waiting for more of an entry than the archive holds; the archive is corrupt or framed in a way no tar tool writes: repack it'),
      from: 'reader',
    };
    extract.destroy(null);
    source.destroy();
    stalled();
  });
  const handedOver = armedWhileHandedOver(tarBytes(source, upload, uploadBudget, decompressed), watchdog);
  const feeding = feedWritable(extract, blocks.watch(handedOver)).catch((error: unknown) => {
    cause ??= { error, from: 'feeder' };
    extract.destroy(error instanceof Error ? error : null);
  }).finally(() => watchdog.arm());
  const reading = (async () => {
    // streamx entries are async-iterable at run time; its typings just do not say so.
    for await (const entry of extract) {
      blocks.entry(entry.header.name, dataStartOf(entry.header), entry.header.size);
      rejectGlobalLayout(extract);
      watchdog.progress();
      await seams.beforeEntry?.(entry.header.name);
      await reader.read(entry.header, noting(entry as unknown as AsyncIterable<Buffer>, watchdog));
    }
  })().catch((error: unknown) => {
    cause ??= { error, from: 'reader' };
    extract.destroy(null);
    // A verdict is reached: stop reading the upload now rather than at its next chunk.
    source.destroy();
  });
  // A stalled reader may never settle: the verdict does not wait for it.
  await Promise.race([Promise.all([feeding, reading]), stall]);
  watchdog.stop();
  if (cause !== undefined) {
    const { error, from } = cause;
    if (error instanceof ImageRejection || from === 'feeder' || isProgrammingError(error)) throw error;
    const marker = blocks.markerAfterLastEntry();
    // A header Go refuses often leaves tar-stream misframed after it: that header is the cause (past the marker, the marker is).
    if (marker === undefined) blocks.rejectFound();
    throw tarRejection(error, reader.seen, { marker, signedChecksumAt: blocks.signedChecksumHeader() });
  }
  blocks.rejectFound();
  if (reader.seen === 0) reject('NOT_AN_ARCHIVE', 'the archive holds no entries');
  rejectFoldersAlsoFiles(reader.entries, reader.folders);
  rejectPathsThroughLinks(reader.entries);
  return { upload, entries: reader.entries };
}
