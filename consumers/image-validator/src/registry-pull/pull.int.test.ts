import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, tarEntries, type BuiltImage } from '../../../../test/helpers/images.js';
import { startRegistry, type TestRegistry } from '../../../../test/helpers/registry.js';
import { PullRefusedError, RegistryClient } from '@orbit/lib';
import { DEFAULT_VALIDATION_LIMITS, validateArchive } from '../archive/index.js';
import { pullAsOciArchive } from './pull.js';

let registry: TestRegistry;
let image: BuiltImage;

beforeAll(async () => {
  registry = await startRegistry();
  image = buildImage({ name: 'team/app', tag: 'v1', layers: [{ files: { 'app/run': '#!/bin/sh\necho hi\n' } }, { files: { 'app/data.txt': 'x'.repeat(10_000) } }], exposedPort: '8080/tcp' });
  execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', image.layoutRef, `docker://${registry.address}/team/app:v1`]);
});

afterAll(async () => {
  await registry.stop();
  image.cleanup();
});

describe('pulling from a real registry (docker-registry, pushed by skopeo)', () => {
  it('writes an OCI archive whose every blob matches its digest', async () => {
    const client = new RegistryClient({ registry: registry.address, repository: 'team/app', insecure: true });
    const out = join(image.dir, 'pulled.tar');
    const result = await pullAsOciArchive(client, { tag: 'v1', digest: null, maxBytes: 1024 ** 3 }, createWriteStream(out));
    const files = await tarEntries(out);
    expect([...files.keys()]).toEqual(expect.arrayContaining(['oci-layout', 'index.json', `blobs/sha256/${result.manifestDigest.slice(7)}`]));
    for (const [name, bytes] of files) {
      if (name.startsWith('blobs/sha256/')) expect(createHash('sha256').update(bytes).digest('hex')).toBe(name.slice('blobs/sha256/'.length));
    }
    const index = JSON.parse(files.get('index.json')!.toString()) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests[0]).toMatchObject({ digest: result.manifestDigest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } });
    // The same image pulled by digest gives the same manifest.
    const byDigest = await pullAsOciArchive(client, { tag: null, digest: result.manifestDigest, maxBytes: 1024 ** 3 }, createWriteStream(join(image.dir, 'pulled2.tar')));
    expect(byDigest.manifestDigest).toBe(result.manifestDigest);
  });

  it('keeps a multi-platform index whole: its bytes, every platform manifest and blob, so skopeo copy --all of the archive gives the same index digest', async () => {
    // The same first layer (pinned mtimes): the two platforms share it, as images on one base do.
    const other = buildImage({ name: 'team/app', tag: 'v2', layers: [{ files: { 'app/run': '#!/bin/sh\necho hi\n' } }, { files: { 'app/data.txt': 'y'.repeat(10_000) } }] });
    try {
      const address = `http://${registry.address}/v2/team/multi/manifests`;
      const held = async (layoutRef: string, tag: string): Promise<Buffer> => {
        execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', layoutRef, `docker://${registry.address}/team/multi:${tag}`]);
        return Buffer.from(await (await fetch(`${address}/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).arrayBuffer());
      };
      const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const amd = await held(image.layoutRef, 'amd64');
      const arm = await held(other.layoutRef, 'arm64');
      const indexBytes = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [[amd, 'amd64'], [arm, 'arm64']].map(([bytes, architecture]) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(bytes as Buffer), size: (bytes as Buffer).length, platform: { os: 'linux', architecture },
        })),
      }));
      const put = await fetch(`${address}/v1`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: indexBytes });
      expect(put.status).toBe(201);

      const client = new RegistryClient({ registry: registry.address, repository: 'team/multi', insecure: true });
      const out = join(image.dir, 'multi.tar');
      const pulled = await pullAsOciArchive(client, { tag: 'v1', digest: null, maxBytes: 1024 ** 3 }, createWriteStream(out));
      expect(pulled.manifestDigest).toBe(sha256(indexBytes));
      const files = await tarEntries(out);
      for (const bytes of [indexBytes, amd, arm]) expect(files.get(`blobs/sha256/${sha256(bytes).slice(7)}`)).toEqual(bytes);
      for (const manifest of [amd, arm]) {
        const { config, layers } = JSON.parse(manifest.toString()) as { config: { digest: string }; layers: { digest: string }[] };
        for (const blob of [config, ...layers]) expect(files.has(`blobs/sha256/${blob.digest.slice(7)}`)).toBe(true);
      }
      for (const [name, bytes] of files) {
        if (name.startsWith('blobs/sha256/')) expect(createHash('sha256').update(bytes).digest('hex')).toBe(name.slice('blobs/sha256/'.length));
      }
      expect(JSON.parse(files.get('index.json')!.toString())).toMatchObject({ manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(indexBytes), size: indexBytes.length }] });
      // A real tool reads the archive as the same multi-platform image.
      execFileSync('skopeo', ['copy', '--quiet', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci-archive:${out}`, `docker://${registry.address}/team/copied:v1`]);
      const copied = await fetch(`http://${registry.address}/v2/team/copied/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
      expect(sha256(Buffer.from(await copied.arrayBuffer()))).toBe(sha256(indexBytes));
    } finally {
      other.cleanup();
    }
  });

  it('refuses an arm64 image its index lists as linux/amd64 in the same words whether the index is pulled whole or that platform alone (found by a review: alone, it was stored)', async () => {
    const armImage = buildImage({ name: 'team/liar', tag: 'arm', layers: [{ files: { 'app/run': 'arm64\n' } }], architecture: 'arm64' });
    try {
      execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', armImage.layoutRef, `docker://${registry.address}/team/liar:arm`]);
      const address = `http://${registry.address}/v2/team/liar/manifests`;
      const arm = Buffer.from(await (await fetch(`${address}/arm`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).arrayBuffer());
      const armDigest = `sha256:${createHash('sha256').update(arm).digest('hex')}`;
      const indexBytes = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: armDigest, size: arm.length, platform: { os: 'linux', architecture: 'amd64' } }],
      }));
      expect((await fetch(`${address}/v1`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: indexBytes })).status).toBe(201);
      const client = new RegistryClient({ registry: registry.address, repository: 'team/liar', insecure: true });
      const said = `the index's manifest ${armDigest} (linux/amd64) is listed as linux/amd64 but its config says linux/arm64`;

      const whole = join(armImage.dir, 'whole.tar');
      await pullAsOciArchive(client, { tag: 'v1', digest: null, maxBytes: 1024 ** 3 }, createWriteStream(whole));
      expect(await validateArchive(createReadStream(whole), DEFAULT_VALIDATION_LIMITS)).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST', message: said });
      await expect(pullAsOciArchive(client, { tag: 'v1', digest: null, maxBytes: 1024 ** 3, onePlatformBecause: 'ORBIT_PULL_WHOLE_INDEX is never' }, createWriteStream(join(armImage.dir, 'alone.tar'))))
        .rejects.toMatchObject({ reasonCode: 'BAD_MANIFEST', message: said });
    } finally {
      armImage.cleanup();
    }
  });

  it('notes, for an index without linux/amd64 pulled whole, the platform the chart is made from and what its platforms\' configs disagree on (found by a review: no word was said)', async () => {
    const arm = buildImage({ name: 'team/split', tag: 'arm', layers: [{ files: { 'app/run': 'arm64\n' } }], architecture: 'arm64', exposedPort: '8080/tcp', user: '1000' });
    const s390x = buildImage({ name: 'team/split', tag: 's390x', layers: [{ files: { 'app/run': 's390x\n' } }], architecture: 's390x', exposedPort: '9090/tcp', user: 'app' });
    try {
      const address = `http://${registry.address}/v2/team/split/manifests`;
      const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const held = async (built: BuiltImage, tag: string): Promise<Buffer> => {
        execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', built.layoutRef, `docker://${registry.address}/team/split:${tag}`]);
        return Buffer.from(await (await fetch(`${address}/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).arrayBuffer());
      };
      const platforms = [[await held(arm, 'arm'), 'arm64'], [await held(s390x, 's390x'), 's390x']] as const;
      const indexBytes = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: platforms.map(([bytes, architecture]) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(bytes), size: bytes.length, platform: { os: 'linux', architecture } })),
      }));
      expect((await fetch(`${address}/v1`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: indexBytes })).status).toBe(201);
      const client = new RegistryClient({ registry: registry.address, repository: 'team/split', insecure: true });
      const out = join(arm.dir, 'split.tar');
      await pullAsOciArchive(client, { tag: 'v1', digest: null, maxBytes: 1024 ** 3 }, createWriteStream(out));
      const outcome = await validateArchive(createReadStream(out), DEFAULT_VALIDATION_LIMITS);
      expect(outcome).toMatchObject({ ok: true, summary: { architecture: 'arm64', config: { exposedPorts: ['8080/tcp'], user: '1000' }, index: { digest: sha256(indexBytes) } } });
      const notes = outcome.ok ? outcome.notes : [];
      expect(notes).toContain(`the platforms of image index ${sha256(indexBytes)} differ in what the chart is made from: exposed ports (linux/arm64: 8080/tcp; linux/s390x: 9090/tcp); user (linux/arm64: 1000; linux/s390x: app); `
        + `the chart's ports, user, probes and environment come from linux/arm64 (image index ${sha256(indexBytes)} has no linux/amd64), and a node of another platform runs its own image with them`);
    } finally {
      arm.cleanup();
      s390x.cleanup();
    }
  });

  it('refuses an unknown tag and an image over the size limit with reason codes', async () => {
    const client = new RegistryClient({ registry: registry.address, repository: 'team/app', insecure: true });
    await expect(pullAsOciArchive(client, { tag: 'nope', digest: null, maxBytes: 1024 ** 3 }, createWriteStream(join(image.dir, 'x.tar')))).rejects.toMatchObject({ reasonCode: 'REFERENCE_NOT_FOUND' });
    await expect(pullAsOciArchive(client, { tag: 'v1', digest: null, maxBytes: 100 }, createWriteStream(join(image.dir, 'y.tar')))).rejects.toBeInstanceOf(PullRefusedError);
  });
});

describe('pulling from a private registry (docker-registry behind htpasswd)', () => {
  let privateRegistry: TestRegistry;

  beforeAll(async () => {
    privateRegistry = await startRegistry({ users: { robot: 's3cret:pass' } });
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', 'robot:s3cret:pass', image.layoutRef, `docker://${privateRegistry.address}/team/private:v1`]);
  });

  afterAll(async () => {
    await privateRegistry.stop();
  });

  it('pulls with the configured credentials and refuses without them or with wrong ones (REGISTRY_UNAUTHORIZED)', async () => {
    const client = (credentials?: { username: string; password: string }) => new RegistryClient({ registry: privateRegistry.address, repository: 'team/private', insecure: true, credentials });
    const pulled = await pullAsOciArchive(client({ username: 'robot', password: 's3cret:pass' }), { tag: 'v1', digest: null, maxBytes: 1024 ** 3 }, createWriteStream(join(image.dir, 'private.tar')));
    const files = await tarEntries(join(image.dir, 'private.tar'));
    expect(files.has(`blobs/sha256/${pulled.manifestDigest.slice(7)}`)).toBe(true);
    for (const credentials of [undefined, { username: 'robot', password: 'wrong' }]) {
      await expect(pullAsOciArchive(client(credentials), { tag: 'v1', digest: null, maxBytes: 1024 ** 3 }, createWriteStream(join(image.dir, 'refused.tar'))))
        .rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED' });
    }
  });
});

describe('pulling through a token service (Bearer, as Docker Hub, GHCR, Harbor and Artifactory answer)', () => {
  let tokenRegistry: TestRegistry;

  beforeAll(async () => {
    tokenRegistry = await startRegistry({ token: { users: { robot: 's3cret' }, anonymousPull: false } });
    // Not execFileSync: the token service answers skopeo from this process.
    await promisify(execFile)('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', 'robot:s3cret', image.layoutRef, `docker://${tokenRegistry.address}/team/tokened:v1`]);
  });

  afterAll(async () => {
    await tokenRegistry.stop();
  });

  it('pulls with a pull token its credentials buy, asking for nothing more, and refuses without them or with wrong ones (REGISTRY_UNAUTHORIZED)', async () => {
    const client = (credentials?: { username: string; password: string }) => new RegistryClient({ registry: tokenRegistry.address, repository: 'team/tokened', insecure: true, credentials });
    const asked = tokenRegistry.tokenRequests.length;
    const pulled = await pullAsOciArchive(client({ username: 'robot', password: 's3cret' }), { tag: 'v1', digest: null, maxBytes: 1024 ** 3 }, createWriteStream(join(image.dir, 'tokened.tar')));
    const files = await tarEntries(join(image.dir, 'tokened.tar'));
    expect(files.has(`blobs/sha256/${pulled.manifestDigest.slice(7)}`)).toBe(true);
    expect(tokenRegistry.tokenRequests.slice(asked)).toEqual([{ user: 'robot', scope: 'repository:team/tokened:pull', granted: 'pull' }]);
    for (const credentials of [undefined, { username: 'robot', password: 'wrong' }]) {
      await expect(pullAsOciArchive(client(credentials), { tag: 'v1', digest: null, maxBytes: 1024 ** 3 }, createWriteStream(join(image.dir, 'refused.tar'))))
        .rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED' });
    }
  });
});
