import { readFileSync } from 'node:fs';
import tar, { type Header } from 'tar-stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkTarStreamHooks, dataStartOf, TarStreamChangedError } from './tar-stream-hooks.js';

const installed = (JSON.parse(readFileSync(new URL('../../../../node_modules/tar-stream/package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A real extractor of the installed tar-stream with one of its members gone, as a release that renamed it would have it. */
function extractWithout(member: string): object {
  const extract = tar.extract() as unknown as Record<string, object>;
  const [own = '', inner] = member.split('.');
  if (inner !== undefined) Reflect.deleteProperty(extract[own] ?? {}, inner);
  // A method lives on the prototype: shadowed on the instance, it is gone for this extractor.
  else if (own in Object.getPrototypeOf(extract)) Object.defineProperty(extract, own, { value: undefined });
  else Reflect.deleteProperty(extract, own);
  return extract;
}

describe('the tar-stream members the validator\'s tar checks hook into', () => {
  afterEach(() => {
    vi.doUnmock('tar-stream');
    vi.resetModules();
  });

  it('are all there in the installed tar-stream', () => {
    expect(() => { checkTarStreamHooks(tar.extract()); }).not.toThrow();
  });

  it.each([
    ['_consumeHeader', 'Extract._consumeHeader()'],
    ['_decodeLongHeader', 'Extract._decodeLongHeader()'],
    ['_applyLongHeaders', 'Extract._applyLongHeaders()'],
    ['_paxGlobal', 'Extract._paxGlobal'],
    ['_gnuLongPath', 'Extract._gnuLongPath'],
    ['_locked', 'Extract._locked'],
    ['_buffer.shifted', 'Extract._buffer.shifted'],
  ])('a tar-stream without %s is refused naming it and its version, instead of the checks switching off', (member, hook) => {
    const check = (): void => { checkTarStreamHooks(extractWithout(member)); };
    expect(check).toThrow(TarStreamChangedError);
    expect(check).toThrow(`tar-stream ${installed} has no ${hook}, which the validator's tar checks`);
  });

  it('stop the archive reader at load, not at the first archive, when one is missing', async () => {
    // 1. A tar-stream whose release renamed _decodeLongHeader.
    vi.doMock('tar-stream', async (importOriginal) => {
      const real = (await importOriginal<{ default: typeof tar }>()).default;
      return { default: { ...real, extract: (...options: Parameters<typeof tar.extract>) => Object.defineProperty(real.extract(...options), '_decodeLongHeader', { value: undefined }) } };
    });
    vi.resetModules();
    // 2. Loading the validator's archive reader fails, naming the hook.
    await expect(import('./archive-reader.js')).rejects.toMatchObject({ code: 'ORBIT_ERR_TAR_STREAM_CHANGED', hook: 'Extract._decodeLongHeader()' });
  });

  it('an entry header without byteOffset is refused the same way, not read as offset NaN', () => {
    expect(dataStartOf({ name: 'a', byteOffset: 1024 } as Header & { byteOffset: number })).toBe(1024);
    expect(() => dataStartOf({ name: 'a' } as Header)).toThrow(`tar-stream ${installed} has no header.byteOffset`);
  });
});
