/**
 * A large, valid docker-archive streamed to disk without holding it in memory:
 * one layer of pseudo-random bytes (incompressible, like real binaries), then
 * the config naming the layer's diff_id, then manifest.json.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

function putEntry(pack: tar.Pack, name: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => pack.entry({ name, size: body.length }, body, (error) => (error ? reject(error) : resolve())));
}

/** The inner layer tar: one file of `bytes` pseudo-random bytes. */
function layerStream(bytes: number): { stream: Readable; size: number; digest: () => string } {
  const inner = tar.pack();
  const hash = createHash('sha256');
  // An AES-CTR keystream never repeats, so no compressor finds anything to
  // shrink; one random block written again and again, zstd --long shrank 4x.
  // AES runs at GB/s, far faster than randomBytes per block.
  const keystream = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  // streamx's typings differ from node's; the entry is a plain writable stream.
  const entry = inner.entry({ name: 'app/blob.bin', size: bytes }) as unknown as Writable;
  (async () => {
    for (let written = 0; written < bytes; written += zeros.length) {
      // update() returns a new buffer each time: streams keep a reference to what they were given.
      const chunk = keystream.update(zeros.subarray(0, Math.min(zeros.length, bytes - written)));
      if (!entry.write(chunk)) await new Promise<void>((resolve) => entry.once('drain', () => resolve()));
    }
    entry.end();
    inner.finalize();
  })().catch((error: unknown) => inner.destroy(error as Error));
  // tar-stream writes a 512-byte header, the data padded to 512, and two 512-byte end blocks.
  const size = 512 + Math.ceil(bytes / 512) * 512 + 1024;
  const stream = inner.pipe(new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  }));
  return { stream, size, digest: () => hash.digest('hex') };
}

export async function writeDockerArchive(file: string, layerBytes: number, name = 'bench/app:1.0.0'): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(file));
  const layer = layerStream(layerBytes);
  await pipeline(layer.stream, pack.entry({ name: 'layer0/layer.tar', size: layer.size }));
  const diffId = `sha256:${layer.digest()}`;
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux',
    config: { ExposedPorts: { '8080/tcp': {} }, Entrypoint: ['/app/run'], User: '1000', Env: ['PATH=/usr/bin'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  await putEntry(pack, configName, config);
  await putEntry(pack, 'manifest.json', Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [name], Layers: ['layer0/layer.tar'] }])));
  pack.finalize();
  await done;
}

