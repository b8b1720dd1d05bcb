/**
 * Big archives generated as streams, never held in memory: a docker-archive
 * with one large layer (for the flat-memory test and the throughput script)
 * and gzip bombs. Content is a random 1 MiB block repeated, so hashing costs
 * what real data costs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { configJson, hexOf, json, sha256 } from './images.js';

const BLOCK = randomBytes(1024 * 1024);

interface WritableLike {
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

async function write(target: WritableLike, chunk: Buffer): Promise<void> {
  if (!target.write(chunk)) await new Promise<void>((resolve) => target.once('drain', resolve));
}

function* payload(bytes: number): Generator<Buffer> {
  for (let left = bytes; left > 0; left -= BLOCK.length) yield left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
}

function tarSizeOfOneFile(bytes: number): number {
  return 512 + Math.ceil(bytes / 512) * 512 + 1024;
}

function addEntry(pack: tar.Pack, name: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => pack.entry({ name, size: data.length }, data, (error) => (error ? reject(error) : resolve())));
}

/** A legacy docker-archive whose one layer holds a `payloadBytes` file; streamed with backpressure. */
export function bigDockerArchive(payloadBytes: number): Readable {
  const outer = tar.pack();
  const build = async (): Promise<void> => {
    const layerSize = tarSizeOfOneFile(payloadBytes);
    const hash = createHash('sha256');
    const layerDone = new Promise<void>((resolve, reject) => {
      const sink = outer.entry({ name: 'big/layer.tar', size: layerSize }, (error) => (error ? reject(error) : resolve()));
      const inner = tar.pack();
      const pump = (async () => {
        for await (const chunk of inner as unknown as AsyncIterable<Buffer>) {
          hash.update(chunk);
          await write(sink, chunk);
        }
        sink.end(null);
      })();
      const file = inner.entry({ name: 'data.bin', size: payloadBytes });
      void (async () => {
        for (const chunk of payload(payloadBytes)) await write(file, chunk);
        file.end(null);
        inner.finalize();
        await pump;
      })().catch(reject);
    });
    await layerDone;
    const config = configJson({ layers: [] }, [`sha256:${hash.digest('hex')}`]);
    const configName = `${hexOf(sha256(config))}.json`;
    await addEntry(outer, configName, config);
    await addEntry(outer, 'manifest.json', json([{ Config: configName, RepoTags: ['big:1'], Layers: ['big/layer.tar'] }]));
    outer.finalize();
  };
  build().catch((error: Error) => outer.destroy(error));
  return Readable.from(outer as unknown as AsyncIterable<Buffer>);
}

/** `bytes` of zeros, gzipped lazily: only what the reader pulls is ever compressed. */
export function gzipBombStream(bytes: number): Readable {
  const zeros = Readable.from(payloadOfZeros(bytes));
  return zeros.pipe(createGzip({ level: 9 }));
}

function* payloadOfZeros(bytes: number): Generator<Buffer> {
  const block = Buffer.alloc(1024 * 1024);
  for (let left = bytes; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
}

/** A gzip blob of `copies` × 64 MiB of zeros as concatenated gzip members: about 65 KiB per 64 MiB. */
export function gzipBombBlob(copies: number): Buffer {
  const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  return Buffer.concat(Array.from({ length: copies }, () => member));
}

