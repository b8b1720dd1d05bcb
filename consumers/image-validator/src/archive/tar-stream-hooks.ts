/**
 * The validator's ways into tar-stream's private members. tar-stream reports
 * entries, not the headers before them, nor which of a GNU long name and a
 * PAX path it took; the checks Go's archive/tar needs (go-tar-fields.ts,
 * tar-block-watch.ts, the two-names check) watch its steps here. A
 * tar-stream release may rename any of them: then the checks would be off
 * without a word and archives docker load refuses accepted, so a missing
 * one stops the validator at start instead (TarStreamChangedError).
 */
import { createRequire } from 'node:module';
import tar, { type Header } from 'tar-stream';
import { OrbitError } from '@orbit/lib';
import type { TarBlockWatch } from './tar-block-watch.js';
import { goLongNameProblem, goPaxProblem } from './go-tar-fields.js';

/** Steps of tar-stream's extractor the checks wrap: methods of its prototype. */
const WRAPPED_STEPS = ['_consumeHeader', '_decodeLongHeader', '_applyLongHeaders'] as const;
/** State of the extractor the wrapped steps read: set (to null at first) by its constructor. */
const READ_STATE = ['_header', '_pax', '_paxGlobal', '_gnuLongPath', '_gnuLongLinkPath'] as const;

/** The installed tar-stream lacks a private member the validator's checks hook into: a programming error, found at start. */
export class TarStreamChangedError extends OrbitError {
  readonly hook: string;
  constructor(hook: string, version: string) {
    super('ORBIT_ERR_TAR_STREAM_CHANGED', `tar-stream ${version} has no ${hook}, which the validator's tar checks (Go's header fields, PAX records, GNU long names) hook into: `
      + 'without it they would be off and archives docker load refuses accepted; install the tar-stream version consumers/image-validator/package.json pins, or port archive/tar-stream-hooks.ts to this one');
    this.hook = hook;
  }
}

function installedVersion(): string {
  try {
    // tar-stream's package.json, which it exports as tar-stream/package.
    const manifest: unknown = createRequire(import.meta.url)('tar-stream/package');
    const version = (manifest as { version?: unknown }).version;
    return typeof version === 'string' ? version : '(version unknown)';
  } catch {
    return '(version unknown)';
  }
}

/** The first hook `extract` lacks, as `Extract.<name>`; undefined when it has them all. */
function missingHook(extract: object): string | undefined {
  const members = extract as Record<string, unknown>;
  const step = WRAPPED_STEPS.find((name) => typeof members[name] !== 'function');
  if (step !== undefined) return `Extract.${step}()`;
  const state = READ_STATE.find((name) => !(name in extract));
  if (state !== undefined) return `Extract.${state}`;
  if (typeof members['_locked'] !== 'boolean') return 'Extract._locked';
  if (typeof (members['_buffer'] as { shifted?: unknown } | undefined)?.shifted !== 'number') return 'Extract._buffer.shifted';
  return undefined;
}

/** Throws TarStreamChangedError naming the first hook `extract` lacks. */
export function checkTarStreamHooks(extract: object): void {
  const hook = missingHook(extract);
  if (hook !== undefined) throw new TarStreamChangedError(hook, installedVersion());
}

// At load, so a validator built with a tar-stream that renamed one refuses to start rather than validate without the checks.
checkTarStreamHooks(tar.extract());

/**
 * Where an entry's data starts in the tar, which tar-stream notes on its
 * header (byteOffset); its typings leave it out. Only an entry shows it, so
 * it is checked here rather than at load.
 */
export function dataStartOf(header: Header): number {
  const offset = (header as Header & { byteOffset?: unknown }).byteOffset;
  if (typeof offset !== 'number') throw new TarStreamChangedError('header.byteOffset', installedVersion());
  return offset;
}

/** The global PAX header tar-stream read last (`_paxGlobal`); empty when none. */
export function paxGlobalOf(extract: object): Readonly<Record<string, string>> {
  return (extract as { _paxGlobal: Record<string, string> | null })._paxGlobal ?? {};
}

interface LongHeaderState {
  _applyLongHeaders: () => void;
  _gnuLongPath: string | null;
  _gnuLongLinkPath: string | null;
  _pax: Record<string, string> | null;
  _header: (Header & { orbitTwoNames?: string }) | null;
}

/**
 * A GNU long name (or link target) and a PAX path (or linkpath) on one entry
 * that differ: tar-stream takes the PAX one, Go's archive/tar the GNU one. No
 * tool writes both. tar-stream forgets the GNU name once it has applied the
 * PAX one, so its step that applies them is watched on this one extractor,
 * and the entry's header marked `orbitTwoNames`; two-readings.test.ts holds
 * tar-stream to having that step.
 */
export function markTwoNames(extract: object): void {
  const state = extract as LongHeaderState;
  const apply = state._applyLongHeaders;
  state._applyLongHeaders = function applyLongHeaders(this: LongHeaderState): void {
    const { _gnuLongPath: gnuName, _gnuLongLinkPath: gnuLink, _pax: pax } = this;
    apply.call(this);
    const clash = gnuName !== null && pax?.['path'] !== undefined && pax['path'] !== gnuName ? `"${pax['path']}" (PAX) and "${gnuName}" (GNU long name)`
      : gnuLink !== null && pax?.['linkpath'] !== undefined && pax['linkpath'] !== gnuLink ? `link target "${pax['linkpath']}" (PAX) and "${gnuLink}" (GNU long name)` : undefined;
    if (clash !== undefined && this._header) this._header.orbitTwoNames = clash;
  };
}

/** An entry header of a type tar-stream does not know (its `type` is null) carries its typeflag as written here. */
export type TypedHeader = Header & { orbitTypeflag?: string };

interface FramingState {
  _consumeHeader: () => boolean;
  _decodeLongHeader: (data: Buffer) => void;
  _buffer: { shifted: number };
  _header: TypedHeader | null;
  _locked: boolean;
}

/**
 * Tells `blocks` where tar-stream reads each header and where the data of
 * PAX and GNU long-name headers lies, and checks their records as Go reads
 * them (go-tar-fields.ts): tar-stream reports only the entries, not the
 * headers before them. Marks an entry header of a type tar-stream does not
 * know with its typeflag (it reports null, and forgets the byte). Watched on
 * this one extractor, like markTwoNames; two-readings.test.ts fails on a
 * tar-stream whose steps do otherwise (its archives would be accepted).
 */
export function watchFraming(extract: object, blocks: TarBlockWatch): void {
  const state = extract as FramingState;
  const consume = state._consumeHeader;
  const decode = state._decodeLongHeader;
  state._consumeHeader = function consumeHeader(this: FramingState): boolean {
    // With a whole block buffered and the entry before it done with (not locked), tar-stream reads that block as a header now.
    if (this._locked) return consume.call(this);
    const offset = this._buffer.shifted;
    blocks.framed(offset);
    const consumed = consume.call(this);
    // tar-stream types a typeflag it does not know as null, whatever its typings say.
    if (this._header && (this._header.type as string | null) === null) this._header.orbitTypeflag ??= blocks.typeflagAt(offset);
    return consumed;
  };
  state._decodeLongHeader = function decodeLongHeader(this: FramingState, data: Buffer): void {
    // tar-stream has just taken the data off its buffer.
    blocks.longHeaderData(this._buffer.shifted - data.length, data.length);
    const type = this._header?.type as string | undefined;
    const problem = type === 'pax-header' || type === 'pax-global-header' ? goPaxProblem(data, type === 'pax-global-header')
      : type === 'gnu-long-path' || type === 'gnu-long-link-path' ? goLongNameProblem(data) : undefined;
    if (problem !== undefined) blocks.noteProblem(problem);
    decode.call(this, data);
  };
}
