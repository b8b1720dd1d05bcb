import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildxIndexWithAttestationFirst } from '../../test-fixtures/buildx-index.js';
import { PullRefusedError, RegistryClient, RegistryUnavailableError } from '@orbit/lib';
import { pullAsOciArchive } from './pull.js';

const digest = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const layer = Buffer.alloc(4096, 1);

/** A registry that serves one manifest and lets the test decide what the layer download sends. */
function registry(layerBody: () => ReadableStream<Uint8Array>): RegistryClient {
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(layer), size: layer.length }],
  }));
  const fake: typeof fetch = async (input) => {
    const url = String(input);
    if (url.includes('/manifests/')) return new Response(manifest, { headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    if (url.endsWith(digest(config))) return new Response(config);
    return new Response(layerBody());
  };
  return new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
}

function sink(): PassThrough {
  const out = new PassThrough();
  out.resume();
  return out;
}

describe('pullAsOciArchive against a misbehaving registry', () => {
  it('refuses a blob longer than its descriptor (the registry is wrong, a retry would not help)', async () => {
    const client = registry(() => new Response(Buffer.concat([layer, Buffer.from('extra')])).body as ReadableStream<Uint8Array>);
    await expect(pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toBeInstanceOf(PullRefusedError);
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
});

describe('pullAsOciArchive against a registry whose layer download stalls', () => {
  it('gives up on a blob that sends nothing for the answer timeout, and tries again later; a slow one that keeps sending is waited for', async () => {
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(layer), size: layer.length }],
    }));
    const serving = (layerBody: () => ReadableStream<Uint8Array>): RegistryClient => new RegistryClient({
      registry: 'registry.test', repository: 'team/app', insecure: false, answerTimeoutMs: 300,
      fetch: async (input) => {
        const url = String(input);
        if (url.includes('/manifests/')) return new Response(manifest);
        return new Response(url.endsWith(digest(config)) ? config : layerBody());
      },
    });
    const stalls = serving(() => new ReadableStream<Uint8Array>({ start(controller) { controller.enqueue(layer.subarray(0, 100)); } }));
    const started = Date.now();
    const failure = await pullAsOciArchive(stalls, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RegistryUnavailableError);
    expect(failure).toMatchObject({ retriable: true, answered: true });
    expect(((failure as Error).cause as Error).message).toBe(`blob ${digest(layer)} sent nothing for 0.3 s`);
    expect(Date.now() - started).toBeLessThan(3_000);
    // Eight chunks 100 ms apart take 0.8 s in all, more than the timeout, and never stall that long.
    const slow = serving(() => {
      let sent = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          controller.enqueue(layer.subarray(sent, sent + 512));
          sent += 512;
          if (sent >= layer.length) controller.close();
        },
      });
    });
    expect(await pullAsOciArchive(slow, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink())).toMatchObject({ bytes: config.length + layer.length });
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
  it('pulls the image, not the BuildKit attestation listed first (buildx --provenance)', async () => {
    const manifestOf = (configBytes: Buffer, layerBytes: Buffer, layerType: string): Buffer => Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(configBytes), size: configBytes.length },
      layers: [{ mediaType: layerType, digest: digest(layerBytes), size: layerBytes.length }],
    }));
    const statement = Buffer.from('{"_type":"https://in-toto.io/Statement/v0.1"}');
    const attestation = manifestOf(Buffer.from('{"architecture":"unknown","os":"unknown"}'), statement, 'application/vnd.in-toto+json');
    const image = manifestOf(config, layer, 'application/vnd.oci.image.layer.v1.tar');
    const index = buildxIndexWithAttestationFirst({ digest: digest(image), size: image.length }, { digest: digest(attestation), size: attestation.length });
    const served: string[] = [];
    const fake: typeof fetch = async (input) => {
      const url = String(input);
      served.push(url.slice(url.indexOf('/v2/')));
      const documents = new Map([[digest(attestation), attestation], [digest(image), image]]);
      if (url.endsWith('/manifests/1')) return new Response(index, { headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } });
      for (const [key, bytes] of documents) if (url.endsWith(`/manifests/${key}`)) return new Response(bytes, { headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
      if (url.endsWith(digest(config))) return new Response(config);
      if (url.endsWith(digest(layer))) return new Response(layer);
      return new Response('not found', { status: 404 });
    };
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
    const pulled = await pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1 << 20 }, sink());
    expect(pulled.manifestDigest).toBe(digest(image));
    expect(served).not.toContain(`/v2/team/app/manifests/${digest(attestation)}`);
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
      return new Response(schema1, { headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' } });
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
