import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { buildxIndexWithAttestationFirst } from '../../test-fixtures/buildx-index.js';
import { PullRefusedError, RegistryClient, RegistryUnavailableError } from '@orbit/lib';
import { archiveOf, buildImage, ociManifestJson } from '../../test-fixtures/images.js';
import { DEFAULT_VALIDATION_LIMITS, PULL_NOTE, validateArchive } from '../archive/index.js';
import { PULLED_FROM } from '../archive/pulled-from.js';
import { pullAsOciArchive, refNameOf, type PullResult, type PullTarget } from './pull.js';

const digest = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const layer = Buffer.alloc(4096, 1);

/** A registry that serves one manifest and lets the test decide what the layer download sends. */
function registry(layerBody: () => ReadableStream<Uint8Array>, referrers: () => Response = () => new Response(null, { status: 404 })): RegistryClient {
  return new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: registryFetch(layerBody, referrers) });
}

/** What `registry` answers with, for a test that answers some requests itself. */
function registryFetch(layerBody: () => ReadableStream<Uint8Array>, referrers: () => Response = () => new Response(null, { status: 404 })): typeof fetch {
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(layer), size: layer.length }],
  }));
  const fake: typeof fetch = async (input) => {
    const url = String(input);
    // No referrers (unless the test says otherwise): neither the API nor a tag-scheme index nor cosign tags.
    if (url.includes('/referrers/')) return referrers();
    if (url.includes('/manifests/sha256-')) return new Response(null, { status: 404 });
    if (url.includes('/manifests/')) return new Response(manifest, { headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    if (url.endsWith(digest(config))) return new Response(config);
    return new Response(layerBody());
  };
  return fake;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const amdConfig = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const armConfig = Buffer.from('{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const amdLayer = Buffer.alloc(2048, 3);
const armLayer = Buffer.alloc(2048, 4);
const blobName = (bytes: Buffer): string => `blobs/sha256/${digest(bytes).slice(7)}`;

function manifestOf(configBytes: Buffer, layers: readonly Buffer[], types: { configType?: string; layerType?: string } = {}): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: types.configType ?? 'application/vnd.oci.image.config.v1+json', digest: digest(configBytes), size: configBytes.length },
    layers: layers.map((bytes) => ({ mediaType: types.layerType ?? 'application/vnd.oci.image.layer.v1.tar', digest: digest(bytes), size: bytes.length })),
  }));
}

function indexOf(entries: readonly { manifest: Buffer; platform: { os: string; architecture: string }; annotations?: Record<string, string> }[], mediaType = 'application/vnd.oci.image.index.v1+json'): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType,
    manifests: entries.map(({ manifest, ...rest }) => ({ mediaType: OCI_MANIFEST, digest: digest(manifest), size: manifest.length, ...rest })),
  }));
}

/** linux/amd64 and linux/arm64 sharing their base layer, and (as buildx pushes it) a provenance attestation for amd64. */
function multiPlatform(options: { attested?: boolean; listType?: string } = {}): { index: Buffer; amd: Buffer; arm: Buffer; attestation: Buffer; blobs: Buffer[] } {
  const amd = manifestOf(amdConfig, [layer, amdLayer]);
  const arm = manifestOf(armConfig, [layer, armLayer]);
  const statementConfig = Buffer.from('{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}');
  const statement = Buffer.from('{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2"}');
  const attestation = manifestOf(statementConfig, [statement], { layerType: 'application/vnd.in-toto+json' });
  const attested = options.attested ?? true;
  const index = indexOf([
    { manifest: amd, platform: { os: 'linux', architecture: 'amd64' } },
    { manifest: arm, platform: { os: 'linux', architecture: 'arm64' } },
    ...(attested ? [{ manifest: attestation, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': digest(amd) } }] : []),
  ], options.listType);
  return { index, amd, arm, attestation, blobs: [amdConfig, layer, amdLayer, armConfig, armLayer, ...(attested ? [statementConfig, statement] : [])] };
}

/** A registry serving manifests by tag or digest and blobs by digest, noting every path it is asked for with GET (HEADs in `checked`). */
function fakeRegistry(manifests: ReadonlyMap<string, Buffer>, blobs: readonly Buffer[], headMissing: readonly Buffer[] = []): { client: RegistryClient; served: string[]; checked: string[] } {
  const served: string[] = [];
  const checked: string[] = [];
  const fake: typeof fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    (init?.method === 'HEAD' ? checked : served).push(path);
    const [, kind = '', reference = ''] = /\/(manifests|blobs)\/([^/]+)$/.exec(path) ?? [];
    const manifest = kind === 'manifests' ? manifests.get(reference) : undefined;
    if (manifest) return new Response(manifest);
    if (init?.method === 'HEAD' && headMissing.some((bytes) => digest(bytes) === reference)) return new Response(null, { status: 404 });
    const blob = kind === 'blobs' ? blobs.find((bytes) => digest(bytes) === reference) : undefined;
    return blob ? new Response(blob) : new Response('not found', { status: 404 });
  };
  return { client: new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake }), served, checked };
}

/** Pulls into memory, then reads the archive back: its entry names in order (a name twice shows) and their bytes. */
async function pullToMemory(client: RegistryClient, target: PullTarget): Promise<{ pulled: PullResult; names: string[]; files: Map<string, Buffer> }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const pulled = await pullAsOciArchive(client, target, out);
  const names: string[] = [];
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const parts: Buffer[] = [];
    stream.on('data', (part: unknown) => parts.push(part as Buffer));
    stream.on('end', () => { names.push(header.name); files.set(header.name, Buffer.concat(parts)); next(); });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(Buffer.concat(chunks));
  });
  return { pulled, names, files };
}

function sink(): PassThrough {
  const out = new PassThrough();
  out.resume();
  return out;
}

describe('pullAsOciArchive against a misbehaving registry', () => {
  it('refuses a blob longer or shorter than its descriptor, sent whole (the registry is wrong, a retry would not help)', async () => {
    const client = registry(() => new Response(Buffer.concat([layer, Buffer.from('extra')])).body as ReadableStream<Uint8Array>);
    await expect(pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toBeInstanceOf(PullRefusedError);
    // Short and ended cleanly: not a dropped connection to try again for 30 s, with the registry then held to be away.
    const short = registry(() => new Response(layer.subarray(0, layer.length - 3)).body as ReadableStream<Uint8Array>);
    await expect(pullAsOciArchive(short, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({
      reasonCode: 'REGISTRY_ERROR', message: expect.stringMatching(/ is \d+ bytes, shorter than the \d+ bytes its descriptor says$/) as unknown,
    });
  });

  it('pulls the image without its referrers, saying why, when the registry fails while asked for them, and quietly when it has no referrers API', async () => {
    // Some registries answer 500 to a path they do not route: the image must not wait for ever on its referrers.
    const failing = registry(() => new Response(layer).body as ReadableStream<Uint8Array>, () => new Response('unavailable', { status: 503 }));
    const { files } = await pullToMemory(failing, { tag: '1', digest: null, maxBytes: 1 << 20 });
    const index = JSON.parse(files.get('index.json')!.toString('utf8')) as { manifests: { annotations?: Record<string, string> }[] };
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]?.annotations?.[PULL_NOTE]).toMatch(/^looking for referrers at the registry stopped \(.*HTTP 503.*\); the image comes with the 0 found before$/);
    // Registries that route the path nowhere answer 400 or 405 rather than 404: no referrers either.
    const unrouted = registry(() => new Response(layer).body as ReadableStream<Uint8Array>, () => new Response('method not allowed', { status: 405 }));
    await expect(pullAsOciArchive(unrouted, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).resolves.toMatchObject({ bytes: layer.length + config.length });
  });

  it('retries a download cut short (a dropped connection), not refuses it', async () => {
    const client = registry(() => new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(layer.subarray(0, 1000));
        controller.error(new Error('socket hang up'));
      },
    }));
    const pulled = pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink());
    await expect(pulled).rejects.toBeInstanceOf(RegistryUnavailableError);
    await expect(pulled).rejects.toMatchObject({ retriable: true });
  });

  it('takes a download cut short up where it stopped when the registry serves ranges, as docker does, and the archive holds the blob whole (found by a probe: every retry began at byte 0)', async () => {
    const ranges: (string | null)[] = [];
    const base = registryFetch(() => new ReadableStream<Uint8Array>());
    const cutEvery1000: typeof fetch = async (input, init) => {
      const url = String(input);
      if (!url.endsWith(digest(layer))) return base(input, init);
      const range = new Headers(init?.headers).get('range');
      ranges.push(range);
      const from = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0);
      // Each answer sends 1000 bytes and drops, as a flaky link does.
      let pulls = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          pulls += 1;
          if (pulls === 1) return controller.enqueue(layer.subarray(from, from + 1000));
          // The bytes sent are read before the connection drops, as off a socket.
          await new Promise((resolve) => setTimeout(resolve, 20));
          if (from + 1000 >= layer.length) controller.close();
          else controller.error(new Error('socket hang up'));
        },
      });
      return range === null ? new Response(body) : new Response(body, { status: 206, headers: { 'content-range': `bytes ${from}-${layer.length - 1}/${layer.length}` } });
    };
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: cutEvery1000 });
    const { files } = await pullToMemory(client, { tag: '1', digest: null, maxBytes: 1 << 20 });
    expect(files.get(blobName(layer))?.equals(layer)).toBe(true);
    expect(ranges).toEqual([null, 'bytes=1000-', 'bytes=2000-', 'bytes=3000-', 'bytes=4000-']);
  });
});

describe('pullAsOciArchive against a registry whose layer download stalls', () => {
  it('gives up on a blob that sends nothing for the answer timeout, and tries again later; a slow one that keeps sending is waited for', async () => {
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(layer), size: layer.length }],
    }));
    const serving = (layerBody: () => ReadableStream<Uint8Array>): RegistryClient => new RegistryClient({
      registry: 'registry.test', repository: 'team/app', insecure: false, answerTimeoutMs: 300, minBlobBytesPerSecond: 1024,
      fetch: async (input) => {
        const url = String(input);
        if (url.includes('/referrers/') || url.includes('/manifests/sha256-')) return new Response(null, { status: 404 });
        if (url.includes('/manifests/')) return new Response(manifest);
        return new Response(url.endsWith(digest(config)) ? config : layerBody());
      },
    });
    const stalls = serving(() => new ReadableStream<Uint8Array>({ start(controller) { controller.enqueue(layer.subarray(0, 100)); } }));
    const started = Date.now();
    const failure = await pullAsOciArchive(stalls, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RegistryUnavailableError);
    expect(failure).toMatchObject({ retriable: true, answered: true });
    expect(((failure as Error).cause as Error).message).toBe(`blob ${digest(layer)} sent 100 bytes in 0.3 s, fewer than the 308 it must send in that time`);
    expect(Date.now() - started).toBeLessThan(3_000);
    /** The layer, `bytes` at a time, `everyMs` apart. */
    const trickle = (bytes: number, everyMs: number) => (): ReadableStream<Uint8Array> => {
      let sent = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, everyMs));
          controller.enqueue(layer.subarray(sent, sent + bytes));
          sent += bytes;
          if (sent >= layer.length) controller.close();
        },
      });
    };
    // Eight chunks 100 ms apart take 0.8 s in all, more than the timeout, and never stall that long.
    const slow = serving(trickle(512, 100));
    expect(await pullAsOciArchive(slow, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).toMatchObject({ bytes: config.length + layer.length });
    // A byte every 50 ms is never silent for 0.3 s, and would take minutes: it is given up on like a stall (found by a probe: a byte per 20 s held an upload for hours).
    const drips = serving(trickle(1, 50));
    const dripStarted = Date.now();
    const dripped = await pullAsOciArchive(drips, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink()).catch((error: unknown) => error);
    expect(dripped).toBeInstanceOf(RegistryUnavailableError);
    expect(dripped).toMatchObject({ retriable: true, answered: true });
    expect(((dripped as Error).cause as Error).message).toMatch(new RegExp(`^blob ${digest(layer)} sent [1-9] bytes in 0.3 s, fewer than the 308 it must send in that time$`));
    expect(Date.now() - dripStarted).toBeLessThan(3_000);
  });
});

describe('pullAsOciArchive against a registry that sends no manifest but a flood', () => {
  it('refuses a manifest over 4 MiB after reading 4 MiB, declared or streamed without end, with BAD_MANIFEST', async () => {
    let streamed = 0;
    const endless = (): ReadableStream<Uint8Array> => new ReadableStream<Uint8Array>({
      pull(controller) { streamed += 65_536; controller.enqueue(new Uint8Array(65_536).fill(0x20)); },
    });
    const declared: typeof fetch = async () => new Response(endless(), { headers: { 'content-length': String(5 * 1024 * 1024 * 1024) } });
    const undeclared: typeof fetch = async () => new Response(endless());
    for (const fake of [declared, undeclared]) {
      const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
      const refusal = await pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 30 }, sink()).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(PullRefusedError);
      expect(refusal).toMatchObject({ reasonCode: 'BAD_MANIFEST', message: expect.stringMatching(/manifest 1 is over 4 MiB/) as unknown });
    }
    // The declared one is refused by its header, the other one stops at the limit: nothing near the 5 GiB is read.
    expect(streamed).toBeLessThan(5 * 1024 * 1024);
  });

  it('tries again later when the manifest stalls after its headers or its connection drops half way, instead of waiting 300 s or failing unexplained', async () => {
    const stalled: typeof fetch = async () => new Response(new ReadableStream<Uint8Array>({ start(controller) { controller.enqueue(Buffer.from('{"schemaVersion":')); } }));
    const dropped: typeof fetch = async () => new Response(new ReadableStream<Uint8Array>({
      start(controller) { controller.enqueue(Buffer.from('{"schemaVersion":')); controller.error(new TypeError('terminated')); },
    }));
    const started = Date.now();
    for (const [fake, cause] of [[stalled, '/manifests/1 did not arrive whole within 0.2 s'], [dropped, 'terminated']] as const) {
      const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake, answerTimeoutMs: 200 });
      const failure = await pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 30 }, sink()).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(RegistryUnavailableError);
      expect(failure).toMatchObject({ retriable: true, answered: true });
      expect(((failure as Error).cause as Error).message).toBe(cause);
    }
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('pullAsOciArchive from an image index', () => {
  it('keeps the image and the BuildKit attestation listed first (buildx --provenance), under the index digest', async () => {
    const statement = Buffer.from('{"_type":"https://in-toto.io/Statement/v0.1"}');
    const attestationConfig = Buffer.from('{"architecture":"unknown","os":"unknown"}');
    const attestation = manifestOf(attestationConfig, [statement], { layerType: 'application/vnd.in-toto+json' });
    const image = manifestOf(config, [layer]);
    const index = buildxIndexWithAttestationFirst({ digest: digest(image), size: image.length }, { digest: digest(attestation), size: attestation.length });
    const { client, served } = fakeRegistry(new Map([['1', index], [digest(attestation), attestation], [digest(image), image]]), [config, layer, attestationConfig, statement]);
    const { pulled, files } = await pullToMemory(client, { tag: '1', digest: null, maxBytes: 1 << 20 });
    expect(pulled.manifestDigest).toBe(digest(index));
    expect(served).toContain(`/v2/team/app/manifests/${digest(attestation)}`);
    for (const bytes of [index, image, attestation, config, layer, attestationConfig, statement]) expect(files.get(blobName(bytes))).toEqual(bytes);
  });

  it('writes the index as sent, every platform and attestation manifest and all their blobs, each once, under one index.json entry', async () => {
    const { index, amd, arm, attestation, blobs } = multiPlatform();
    const { client } = fakeRegistry(new Map([['1', index], [digest(amd), amd], [digest(arm), arm], [digest(attestation), attestation]]), blobs);
    const { pulled, files, names } = await pullToMemory(client, { tag: '1', digest: null, maxBytes: 1 << 20 });
    expect(pulled).toEqual({ manifestDigest: digest(index), bytes: blobs.reduce((sum, blob) => sum + blob.length, 0) });
    expect(JSON.parse(files.get('index.json')!.toString())).toEqual({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: digest(index), size: index.length, annotations: { 'org.opencontainers.image.ref.name': '1' } }],
    });
    expect([...names].sort()).toEqual(['oci-layout', 'index.json', ...[index, amd, arm, attestation, ...blobs].map(blobName)].sort());
    for (const bytes of [index, amd, arm, attestation, ...blobs]) expect(files.get(blobName(bytes))).toEqual(bytes);
  });

  it('leaves a platform listed for two images to the validator\'s note, instead of annotating it too (found by a review: the note came twice)', async () => {
    const amd = manifestOf(amdConfig, [layer, amdLayer]);
    const other = manifestOf(amdConfig, [amdLayer, layer]);
    const index = indexOf([{ manifest: amd, platform: { os: 'linux', architecture: 'amd64' } }, { manifest: other, platform: { os: 'linux', architecture: 'amd64' } }]);
    const { client } = fakeRegistry(new Map([['1', index], [digest(amd), amd], [digest(other), other]]), [amdConfig, layer, amdLayer]);
    const { pulled, files } = await pullToMemory(client, { tag: '1', digest: null, maxBytes: 1 << 20 });
    expect(pulled.manifestDigest).toBe(digest(index));
    const [top] = (JSON.parse(files.get('index.json')!.toString()) as { manifests: { annotations?: Record<string, string> }[] }).manifests;
    expect(top?.annotations?.[PULL_NOTE]).toBeUndefined();
  });

  it('writes a layer two platforms share once, fetched once (a Docker manifest list pulled by digest keeps its media type)', async () => {
    const { index, amd, arm, blobs } = multiPlatform({ attested: false, listType: 'application/vnd.docker.distribution.manifest.list.v2+json' });
    const { client, served } = fakeRegistry(new Map([[digest(index), index], [digest(amd), amd], [digest(arm), arm]]), blobs);
    const { files, names } = await pullToMemory(client, { tag: null, digest: digest(index), maxBytes: 1 << 20 });
    expect(names.filter((name) => name === blobName(layer))).toHaveLength(1);
    expect(served.filter((path) => path.endsWith(`/blobs/${digest(layer)}`))).toHaveLength(1);
    expect(files.get(blobName(armLayer))).toEqual(armLayer);
    expect(JSON.parse(files.get('index.json')!.toString())).toEqual({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', digest: digest(index), size: index.length, annotations: { 'org.opencontainers.image.ref.name': digest(index) } }],
    });
  });

  it('refuses a platform manifest whose bytes do not hash to the digest its index entry gives, before fetching any blob', async () => {
    const { index, amd, arm, attestation, blobs } = multiPlatform();
    const tampered = Buffer.concat([arm, Buffer.from(' ')]);
    const { client, served } = fakeRegistry(new Map([['1', index], [digest(amd), amd], [digest(arm), tampered], [digest(attestation), attestation]]), blobs);
    await expect(pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({
      reasonCode: 'BAD_MANIFEST', message: expect.stringContaining(`the entry ${digest(arm)} (linux/arm64) of registry.test/team/app:1 does not match`) as unknown,
    });
    expect(served.filter((path) => path.includes('/blobs/'))).toEqual([]);
  });

  /** Pulled as `docker pull` would: the linux/amd64 image alone, none of the other entries' blobs fetched. */
  const expectAmd64Alone = (pulled: { pulled: PullResult; files: Map<string, Buffer> }, served: readonly string[], amd: Buffer, others: readonly Buffer[], why: RegExp): void => {
    expect(pulled.pulled.manifestDigest).toBe(digest(amd));
    const [entry] = (JSON.parse(pulled.files.get('index.json')!.toString()) as { manifests: { annotations: Record<string, string> }[] }).manifests;
    expect(entry).toMatchObject({ mediaType: OCI_MANIFEST, digest: digest(amd), size: amd.length });
    // Said on the archive, for the validator to pass on: the uploader learns why the other platforms are not there.
    expect(entry?.annotations[PULL_NOTE]).toMatch(/^the reference named an image index of .*; only linux\/amd64 was pulled, because /);
    expect(entry?.annotations[PULL_NOTE]).toMatch(why);
    for (const bytes of [amd, amdConfig, layer, amdLayer]) expect(pulled.files.get(blobName(bytes))).toEqual(bytes);
    for (const bytes of others) expect(served).not.toContain(`/v2/team/app/blobs/${digest(bytes)}`);
  };

  it('takes linux/amd64 alone when the whole index is over the size limit, fetching no other platform\'s blob', async () => {
    const { index, amd, arm, attestation, blobs } = multiPlatform();
    const { client, served } = fakeRegistry(new Map([['1', index], [digest(amd), amd], [digest(arm), arm], [digest(attestation), attestation]]), blobs);
    // Either platform alone fits; both do not.
    const onePlatform = amdConfig.length + layer.length + amdLayer.length;
    expectAmd64Alone(await pullToMemory(client, { tag: '1', digest: null, maxBytes: onePlatform + 1 }), served, amd, [armConfig, armLayer], /blobs add up to \d+ bytes, over the limit of \d+; its attestation \(BuildKit provenance or SBOM\) was not pulled either$/);
    await expect(pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: onePlatform - 1 }, sink())).rejects.toMatchObject({ reasonCode: 'TOO_LARGE' });
  });

  it('takes linux/amd64 alone from an index of more than 64 manifests, fetching only its manifest (was refused BAD_MANIFEST; found by a review)', async () => {
    const amd = manifestOf(amdConfig, [layer, amdLayer]);
    const others = Array.from({ length: 70 }, (_, i) => manifestOf(Buffer.from(`{"architecture":"arm64","os":"linux","variant":"v${i}","rootfs":{"type":"layers","diff_ids":[]}}`), [armLayer]));
    const index = indexOf([...others.map((manifest) => ({ manifest, platform: { os: 'linux', architecture: 'arm64' } })), { manifest: amd, platform: { os: 'linux', architecture: 'amd64' } }]);
    const { client, served } = fakeRegistry(new Map([['1', index], [digest(amd), amd], ...others.map((manifest) => [digest(manifest), manifest] as const)]), [amdConfig, layer, amdLayer, armLayer]);
    expectAmd64Alone(await pullToMemory(client, { tag: '1', digest: null, maxBytes: 1 << 20 }), served, amd, [armLayer], /^the reference named an image index of 71 manifests; only linux\/amd64 was pulled, because Orbit pulls an index whole only up to 64 manifests$/);
    expect(served.filter((path) => path.includes('/manifests/'))).toEqual(['/v2/team/app/manifests/1', `/v2/team/app/manifests/${digest(amd)}`]);
  });

  it('takes linux/amd64 alone, fetching no other platform\'s manifest, when told to (Docker Hub counts a pull per platform manifest fetched)', async () => {
    const { index, amd, arm, attestation, blobs } = multiPlatform();
    const { client, served } = fakeRegistry(new Map([['1', index], [digest(amd), amd], [digest(arm), arm], [digest(attestation), attestation]]), blobs);
    const because = 'Docker Hub counts a pull per platform (ORBIT_PULL_WHOLE_INDEX=always pulls every one)';
    expectAmd64Alone(await pullToMemory(client, { tag: '1', digest: null, maxBytes: 1 << 20, onePlatformBecause: because }), served, amd, [armConfig, armLayer], /because Docker Hub counts a pull per platform/);
    expect(served.filter((path) => path.includes('/manifests/'))).toEqual(['/v2/team/app/manifests/1', `/v2/team/app/manifests/${digest(amd)}`]);
  });

  it('takes linux/amd64 alone when its registry does not have another platform\'s blobs (a pull-through cache, a half-replicated repository), as docker pull does', async () => {
    const { index, amd, arm, attestation } = multiPlatform({ attested: false });
    // Every manifest, but arm64's own layer is missing.
    const { client, served, checked } = fakeRegistry(new Map([['1', index], [digest(amd), amd], [digest(arm), arm], [digest(attestation), attestation]]), [amdConfig, layer, amdLayer, armConfig]);
    expectAmd64Alone(await pullToMemory(client, { tag: '1', digest: null, maxBytes: 1 << 20 }), served, amd, [armConfig], new RegExp(`its registry does not have blob ${digest(armLayer)} of linux/arm64$`));
    // Every blob was asked about once, before any was fetched; the one answering HEAD 404 was asked for once more with GET.
    const blobChecks = checked.filter((path) => path.includes('/blobs/'));
    expect(new Set(blobChecks).size).toBe(blobChecks.length);
    expect(blobChecks).toHaveLength(5);
    expect(served.filter((path) => path.endsWith(`/blobs/${digest(armLayer)}`))).toHaveLength(1);
  });

  it('fails REFERENCE_NOT_FOUND naming the blob when linux/amd64\'s blob is the one missing, instead of storing linux/arm64 (found by a review)', async () => {
    const { index, amd, arm } = multiPlatform({ attested: false });
    const { client, served } = fakeRegistry(new Map([['1', index], [digest(amd), amd], [digest(arm), arm]]), [amdConfig, layer, armConfig, armLayer]);
    await expect(pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({
      reasonCode: 'REFERENCE_NOT_FOUND', message: `blob ${digest(amdLayer)} of linux/amd64 (${digest(amd)}) of registry.test/team/app:1 was not found at its registry`,
    });
    for (const bytes of [armConfig, armLayer]) expect(served).not.toContain(`/v2/team/app/blobs/${digest(bytes)}`);
  });

  it('pulls the whole index when a blob answers HEAD 404 but GET 200, as a pull-through cache that fetches on download does', async () => {
    const { index, amd, arm, blobs } = multiPlatform({ attested: false });
    const { client } = fakeRegistry(new Map([['1', index], [digest(amd), amd], [digest(arm), arm]]), blobs, [amdLayer]);
    const { pulled } = await pullToMemory(client, { tag: '1', digest: null, maxBytes: 1 << 20 });
    expect(pulled.manifestDigest).toBe(digest(index));
  });

  it('takes linux/amd64 alone when its registry does not have another platform\'s manifest, and fails as docker pull does when linux/amd64\'s is the one missing', async () => {
    const { index, amd, arm, attestation, blobs } = multiPlatform({ attested: false });
    const { client, served } = fakeRegistry(new Map([['1', index], [digest(amd), amd], [digest(attestation), attestation]]), blobs);
    expectAmd64Alone(await pullToMemory(client, { tag: '1', digest: null, maxBytes: 1 << 20 }), served, amd, [armConfig, armLayer], /its registry does not have the manifest of linux\/arm64$/);
    const noAmd = fakeRegistry(new Map([['1', index], [digest(arm), arm]]), blobs);
    await expect(pullAsOciArchive(noAmd.client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({ reasonCode: 'REFERENCE_NOT_FOUND', message: `registry.test/team/app@${digest(amd)} was not found` });
  });

  it('takes linux/amd64 alone from an index that also lists an artifact (a Helm chart) or a Windows image whose base layers its registry does not serve', async () => {
    const chartConfig = Buffer.from('{"name":"app","version":"1.0.0"}');
    const chartLayer = Buffer.alloc(1024, 5);
    const chart = manifestOf(chartConfig, [chartLayer], { configType: 'application/vnd.cncf.helm.config.v1+json', layerType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip' });
    const windowsConfig = Buffer.from('{"architecture":"amd64","os":"windows","rootfs":{"type":"layers","diff_ids":[]}}');
    const windowsBase = Buffer.alloc(512, 6);
    const windows = manifestOf(windowsConfig, [windowsBase], { layerType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' });
    const amd = manifestOf(amdConfig, [layer, amdLayer]);
    for (const [other, otherBlobs, platform] of [[chart, [chartConfig, chartLayer], 'linux/arm64'], [windows, [windowsConfig, windowsBase], 'windows/amd64']] as const) {
      const [os, architecture] = platform.split('/') as [string, string];
      const index = indexOf([{ manifest: other, platform: { os, architecture } }, { manifest: amd, platform: { os: 'linux', architecture: 'amd64' } }]);
      const { client, served } = fakeRegistry(new Map([['1', index], [digest(amd), amd], [digest(other), other]]), [amdConfig, layer, amdLayer, ...otherBlobs]);
      expectAmd64Alone(await pullToMemory(client, { tag: '1', digest: null, maxBytes: 1 << 20 }), served, amd, otherBlobs, platform === 'linux/arm64' ? /is not a container image but an artifact/ : /has a layer its registry does not serve/);
    }
  });

  it('refuses an image with a foreign layer UNSUPPORTED_LAYER, as its archive would be, before asking for a blob its registry may not serve (found by a probe: the 404 read REFERENCE_NOT_FOUND)', async () => {
    const windowsConfig = Buffer.from('{"architecture":"amd64","os":"windows","rootfs":{"type":"layers","diff_ids":[]}}');
    const windowsBase = Buffer.alloc(512, 6);
    const windows = manifestOf(windowsConfig, [windowsBase], { layerType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' });
    const { client, served } = fakeRegistry(new Map([['1', windows]]), [windowsConfig]);
    await expect(pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({
      reasonCode: 'UNSUPPORTED_LAYER', message: expect.stringContaining(`layer ${digest(windowsBase)} of registry.test/team/app:1 is a foreign layer`) as unknown,
    });
    expect(served.filter((path) => path.includes('/blobs/'))).toEqual([]);
  });

  it('refuses an index whose only image is another index, declared or not, one whose inner index may hold linux/amd64, and one of attestations only', async () => {
    const amd = manifestOf(amdConfig, [layer, amdLayer]);
    const inner = indexOf([{ manifest: amd, platform: { os: 'linux', architecture: 'amd64' } }]);
    const declared = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: digest(inner), size: inner.length }] }));
    const undeclared = indexOf([{ manifest: inner, platform: { os: 'linux', architecture: 'amd64' } }]);
    for (const outer of [declared, undeclared]) {
      const { client, served } = fakeRegistry(new Map([['1', outer], [digest(inner), inner], [digest(amd), amd]]), [amdConfig, layer, amdLayer]);
      await expect(pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({
        reasonCode: 'BAD_MANIFEST', message: expect.stringContaining(`listing no image Orbit can pull: it lists another image index (${digest(inner)})`) as unknown,
      });
      expect(served.filter((path) => path.includes('/blobs/'))).toEqual([]);
    }
    // An inner index beside an image of another platform: linux/amd64 may be inside, so no guess is kept (found by a probe:
    // arm/v7 was, from an index whose inner index held linux/amd64), as its archive is refused. Beside linux/amd64 it is.
    const arm = manifestOf(armConfig, [layer, armLayer]);
    const besideArm = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [
      { mediaType: 'application/vnd.oci.image.index.v1+json', digest: digest(inner), size: inner.length },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(arm), size: arm.length, platform: { os: 'linux', architecture: 'arm64' } },
    ] }));
    const withArm = fakeRegistry(new Map([['1', besideArm], [digest(inner), inner], [digest(amd), amd], [digest(arm), arm]]), [amdConfig, armConfig, layer, amdLayer, armLayer]);
    await expect(pullAsOciArchive(withArm.client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({
      reasonCode: 'BAD_MANIFEST', message: expect.stringContaining(`has no linux/amd64 image of its own, and lists another image index (${digest(inner)})`) as unknown,
    });
    expect(withArm.served.filter((path) => path.includes('/blobs/'))).toEqual([]);
    const attestationOnly = indexOf([{ manifest: amd, platform: { os: 'unknown', architecture: 'unknown' } }]);
    const { client } = fakeRegistry(new Map([['1', attestationOnly], [digest(amd), amd]]), [amdConfig, layer, amdLayer]);
    await expect(pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({ reasonCode: 'BAD_MANIFEST', message: expect.stringMatching(/attestations only/) as unknown });
  });
});

describe('pullAsOciArchive of something that is not an image', () => {
  it('refuses a Helm chart or ORAS artifact by its config media type before fetching any blob', async () => {
    const chartConfig = Buffer.from('{"name":"app","version":"1.0.0"}');
    const chart = Buffer.alloc(1 << 16, 2);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: digest(chartConfig), size: chartConfig.length },
      layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: digest(chart), size: chart.length }],
    }));
    const served: string[] = [];
    const fake: typeof fetch = async (input) => {
      const url = String(input);
      served.push(url.slice(url.indexOf('/v2/')));
      if (url.includes('/manifests/')) return new Response(manifest, { headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
      return new Response(url.endsWith(digest(chartConfig)) ? chartConfig : chart);
    };
    const client = new RegistryClient({ registry: 'registry.test', repository: 'charts/app', insecure: false, fetch: fake });
    const pulled = pullAsOciArchive(client, { tag: '1.0.0', digest: null, maxBytes: 1 << 20 }, sink());
    await expect(pulled).rejects.toMatchObject({ reasonCode: 'BAD_MANIFEST', message: expect.stringMatching(/^registry\.test\/charts\/app:1\.0\.0 is not a container image .*application\/vnd\.cncf\.helm\.config\.v1\+json/) as unknown });
    expect(served).toEqual(['/v2/charts/app/manifests/1.0.0']);
  });
});

describe('pullAsOciArchive of a Docker schema 1 manifest', () => {
  it('refuses it by name, with what to do, before fetching any blob', async () => {
    const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'team/old', tag: '1', architecture: 'amd64', fsLayers: [{ blobSum: digest(layer) }], history: [{ v1Compatibility: '{}' }] }));
    const served: string[] = [];
    const fake: typeof fetch = async (input) => {
      served.push(String(input));
      // Its digest is of the payload without signatures, not of these bytes: still refused as schema 1, by its name (a bug reread).
      return new Response(schema1, { headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'docker-content-digest': `sha256:${'5'.repeat(64)}` } });
    };
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/old', insecure: false, fetch: fake });
    await expect(pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({ reasonCode: 'BAD_MANIFEST', message: expect.stringMatching(/^registry\.test\/team\/old:1 has a Docker schema 1 manifest/) as unknown });
    expect(served).toHaveLength(1);
  });
});

describe('pullAsOciArchive of an image addressed by sha512', () => {
  it('refuses it saying so and how to re-address it, before fetching any blob', async () => {
    const sha512 = (bytes: Buffer): string => `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha512(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha512(layer), size: layer.length }],
    }));
    const served: string[] = [];
    const fake: typeof fetch = async (input) => {
      served.push(String(input));
      return new Response(manifest, { headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    };
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
    await expect(pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({
      reasonCode: 'BAD_MANIFEST', message: expect.stringMatching(/^registry\.test\/team\/app:1: the registry sent no image manifest \(config\.digest: is a sha512 digest; .*--digest-algo sha256/) as unknown,
    });
    expect(served).toHaveLength(1);
  });
});

/** A registry holding a one-layer image tagged v1 and, listed by its referrers API, an artifact about it for each of `documents` ([artifactType, layer]). */
async function imageWithReferrers(documents: readonly (readonly [string, Buffer])[]): Promise<{ client: RegistryClient; manifest: Buffer }> {
  const image = await buildImage({ layers: [{ files: { 'app/hello': 'hi\n' }, gzip: true }] });
  const manifest = ociManifestJson(image);
  const empty = Buffer.from('{}');
  const referrers = documents.map(([type, document]) => Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: type,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digest(empty), size: empty.length },
    layers: [{ mediaType: type, digest: digest(document), size: document.length }],
    subject: { mediaType: OCI_MANIFEST, digest: digest(manifest), size: manifest.length },
  })));
  const listing = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: referrers.map((bytes) => ({ mediaType: OCI_MANIFEST, digest: digest(bytes), size: bytes.length })) }));
  const manifests = new Map([['v1', manifest], [digest(manifest), manifest], [`referrers:${digest(manifest)}`, listing], ...referrers.map((bytes) => [digest(bytes), bytes] as const)]);
  const blobs = [image.config.bytes, ...image.layers.map((built) => built.bytes), empty, ...documents.map(([, document]) => document)];
  const fake: typeof fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    const [, kind = '', reference = ''] = /\/(manifests|blobs|referrers)\/([^/]+)$/.exec(path) ?? [];
    const bytes = kind === 'blobs' ? blobs.find((blob) => digest(blob) === reference) : manifests.get(kind === 'referrers' ? `referrers:${reference}` : reference);
    return bytes ? new Response(init?.method === 'HEAD' ? null : bytes) : new Response(null, { status: 404 });
  };
  return { client: new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake }), manifest };
}

/** The archive a pull writes, whole. */
async function archiveOfPull(client: RegistryClient, target: PullTarget): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  await pullAsOciArchive(client, target, out);
  return Buffer.concat(chunks);
}

describe('pullAsOciArchive of an image with large JSON referrers', () => {
  it('carries five 3.5 MB Sigstore bundles and five Syft SBOMs, and the archive validates (was TOO_LARGE: they were kept in memory as JSON)', async () => {
    const documents = Array.from({ length: 5 }, (_, i) => [
      ['application/vnd.dev.sigstore.bundle.v0.3+json', Buffer.from(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: { publicKey: { hint: String(i) } }, dsseEnvelope: { payload: 'A'.repeat(3.5e6), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: 'x' }] } }))],
      ['application/vnd.syft+json', Buffer.from(JSON.stringify({ artifacts: [{ name: 'pkg', pad: 'p'.repeat(3.5e6) }], source: { id: String(i) }, distro: {}, descriptor: { name: 'syft' }, schema: { version: '16.0.0' } }))],
    ] as const).flat();
    const { client } = await imageWithReferrers(documents);
    const archive = await archiveOfPull(client, { tag: 'v1', digest: null, maxBytes: 1 << 30 });
    const outcome = await validateArchive(PassThrough.from([archive]), DEFAULT_VALIDATION_LIMITS);
    if (!outcome.ok) throw new Error(`rejected: ${outcome.reasonCode}: ${outcome.message}`);
    expect(outcome.notes.join('\n')).toMatch(/also (?:lists|has) 10 /);
  }, 30_000);
});

const skopeoMissing = spawnSync('sh', ['-c', 'command -v skopeo']).status !== 0;

describe('pullAsOciArchive by digest, with a referrer beside the image', () => {
  const signature = [['application/vnd.dev.sigstore.bundle.v0.3+json', Buffer.from('{"verificationMaterial":{}}')]] as const;

  it('names the image\'s index.json entry as it was asked for (was unnamed: the image could not be chosen by name among its referrers)', async () => {
    const { client, manifest } = await imageWithReferrers(signature);
    const archive = await archiveOfPull(client, { tag: null, digest: digest(manifest), maxBytes: 1 << 30 });
    const outcome = await validateArchive(PassThrough.from([archive]), DEFAULT_VALIDATION_LIMITS);
    if (!outcome.ok) throw new Error(`rejected: ${outcome.reasonCode}: ${outcome.message}`);
    // By the digest alone: every role holder sees repoTags, and where an image was pulled from is its owner's to know.
    expect(outcome.summary.repoTags).toEqual([digest(manifest)]);
    expect(refNameOf(null, digest(manifest))).toBe(digest(manifest));
    expect(refNameOf('v1', digest(manifest))).toBe('v1');
  });

  it('names neither the registry nor the repository in the notes or the archive (found by a reread: role holders saw the owner-only reference)', async () => {
    const { client, manifest } = await imageWithReferrers(signature);
    for (const target of [{ tag: 'v1', digest: null }, { tag: null, digest: digest(manifest) }]) {
      const archive = await archiveOfPull(client, { ...target, maxBytes: 1 << 30 });
      const outcome = await validateArchive(PassThrough.from([archive]), DEFAULT_VALIDATION_LIMITS);
      if (!outcome.ok) throw new Error(`rejected: ${outcome.reasonCode}: ${outcome.message}`);
      expect(outcome.notes).toEqual([expect.stringMatching(/also (lists|has) a referrer of the image \(application\/vnd\.dev\.sigstore\.bundle\.v0\.3\+json\), checked by digest/)]);
      const seen = JSON.stringify({ notes: outcome.notes, summary: outcome.summary });
      // The archive's index.json and documents are stored as they are in the tar: a release manager downloads it.
      for (const text of [seen, archive.toString('latin1')]) {
        expect(text).not.toContain('registry.test');
        expect(text).not.toContain('team/app');
      }
    }
  });

  it('takes no word of an archive\'s own dev.orbit.pulled-from annotation (anyone can write one into an upload)', async () => {
    const { client } = await imageWithReferrers(signature);
    const { names, files } = await pullToMemory(client, { tag: 'v1', digest: null, maxBytes: 1 << 30 });
    const listed = JSON.parse(files.get('index.json')!.toString()) as { manifests: { annotations?: Record<string, string> }[] };
    listed.manifests[0]!.annotations = { ...listed.manifests[0]!.annotations, [PULLED_FROM]: 'evil.example/bank/login:1' };
    const spoofed = await archiveOf(names.map((name) => ({ name, data: name === 'index.json' ? Buffer.from(JSON.stringify(listed)) : files.get(name)! })));
    const outcome = await validateArchive(PassThrough.from([spoofed]), DEFAULT_VALIDATION_LIMITS);
    if (!outcome.ok) throw new Error(`rejected: ${outcome.reasonCode}: ${outcome.message}`);
    expect(outcome.notes).toEqual([expect.stringMatching(/^index\.json also lists a referrer of the image/)]);
  });

  it.skipIf(skopeoMissing)('writes an archive skopeo inspects by that name', async () => {
    const { client, manifest } = await imageWithReferrers(signature);
    const archive = await archiveOfPull(client, { tag: null, digest: digest(manifest), maxBytes: 1 << 30 });
    const folder = mkdtempSync(join(tmpdir(), 'orbit-pull-'));
    try {
      writeFileSync(join(folder, 'x.tar'), archive);
      const inspected = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${join(folder, 'x.tar')}:${digest(manifest)}`], { encoding: 'utf8' })) as { Digest: string };
      expect(inspected.Digest).toBe(digest(manifest));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
