import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '@orbit/lib';
import { pullAsOciArchive } from './pull.js';

const digest = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const layer = Buffer.alloc(1024, 7);
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(layer), size: layer.length }],
}));
const otherDigest = `sha256:${'0'.repeat(64)}`;

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A plain-HTTP registry on 127.0.0.1 serving one image, whose manifest answers carry `contentDigest` (none when undefined). */
async function registryAnswering(contentDigest: string | undefined): Promise<RegistryClient> {
  server = createServer((request, response) => {
    const path = request.url ?? '';
    if (path.includes('/manifests/') && !path.includes('/manifests/sha256-')) {
      response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', ...(contentDigest === undefined ? {} : { 'docker-content-digest': contentDigest }) });
      response.end(manifest);
      return;
    }
    const blob = [config, layer].find((bytes) => path.endsWith(digest(bytes)));
    response.writeHead(blob ? 200 : 404);
    response.end(blob ?? 'not found');
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new RegistryClient({ registry: `127.0.0.1:${port}`, repository: 'team/app', insecure: true });
}

function sink(): PassThrough {
  const out = new PassThrough();
  out.resume();
  return out;
}

describe('a pull by tag, held to the Docker-Content-Digest its registry sends', () => {
  it('fails REGISTRY_ERROR naming the reference and both digests when the manifest received is not the one the registry says it sent', async () => {
    const client = await registryAnswering(otherDigest);
    const refusal: unknown = await pullAsOciArchive(client, { tag: 'v1', digest: null, maxBytes: 1 << 20 }, sink()).then(() => undefined, (error: unknown) => error);
    expect(refusal).toMatchObject({ reasonCode: 'REGISTRY_ERROR' });
    const { message } = refusal as Error;
    expect(message).toContain(`${client.repositoryName}:v1`);
    expect(message).toContain(digest(manifest));
    expect(message).toContain(otherDigest);
  });

  it('refuses a Docker-Content-Digest that is no digest Orbit can check, as containerd does', async () => {
    const client = await registryAnswering('md5:abc');
    await expect(pullAsOciArchive(client, { tag: 'v1', digest: null, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({
      reasonCode: 'REGISTRY_ERROR', message: expect.stringContaining('Docker-Content-Digest "md5:abc"') as unknown,
    });
  });

  it('pulls when the header matches the bytes, and when there is none (many registries leave it out)', async () => {
    for (const header of [digest(manifest), undefined]) {
      const client = await registryAnswering(header);
      await expect(pullAsOciArchive(client, { tag: 'v1', digest: null, maxBytes: 1 << 20 }, sink())).resolves.toMatchObject({ manifestDigest: digest(manifest) });
      await new Promise((resolve) => server?.close(resolve));
    }
  });

  it('by digest holds the bytes to the digest asked (BAD_MANIFEST), which says more than a header', async () => {
    const client = await registryAnswering(otherDigest);
    // The header is wrong too, but the check that fires is the one against the digest the user asked for.
    await expect(pullAsOciArchive(client, { tag: null, digest: otherDigest, maxBytes: 1 << 20 }, sink())).rejects.toMatchObject({
      reasonCode: 'BAD_MANIFEST', message: `the registry's manifest does not match ${otherDigest}`,
    });
    await expect(pullAsOciArchive(client, { tag: null, digest: digest(manifest), maxBytes: 1 << 20 }, sink())).resolves.toMatchObject({ manifestDigest: digest(manifest) });
  });
});
