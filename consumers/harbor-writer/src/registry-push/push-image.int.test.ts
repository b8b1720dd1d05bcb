import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthFileCredentials, createDynamo, PullRefusedError, pushClientOf, PushRefusedError, RegistryClient, registryAccessOf, tableName } from '@orbit/lib';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { buildImage, buildMultiPlatformImage, multiPlatformSummaryOf, tarEntries, type BuiltImage } from '../../../../test/helpers/images.js';
import { openPassStore } from '../../../../test/helpers/credential-pass.js';
import { startRegistry, type TestRegistry } from '../../../../test/helpers/registry.js';
import type { ArchiveCompression } from './archive-tar.js';
import { BlobSources } from './blob-sources.js';
import { DynamoBlobLocations } from './dynamo-blob-locations.js';
import { pushImage, type PushableImage, type PushTargetClient } from './push-image.js';

const ROBOT = { username: 'orbit-pusher', password: 'pushing-secret' };
let registry: TestRegistry;
let guarded: TestRegistry;
let tokenGuarded: TestRegistry;
let image: BuiltImage;
let sibling: BuiltImage;

/** What the validator would report of an archive, from skopeo (another reader of the same formats) instead of Orbit's code. */
function summaryOf(transport: string, file: string, compression: ArchiveCompression = 'NONE'): PushableImage {
  const raw = execFileSync('skopeo', ['inspect', '--raw', `${transport}:${file}`]);
  const manifest = JSON.parse(raw.toString('utf8')) as { config: { digest: string }; layers: { digest: string; size: number }[] };
  return {
    compression, manifestDigest: `sha256:${createHash('sha256').update(raw).digest('hex')}`, configDigest: manifest.config.digest,
    layers: manifest.layers.map((layer) => ({ digest: layer.digest, sizeBytes: layer.size })),
  };
}

const open = (file: string) => async () => createReadStream(file);

/** A blob put into a repository the plain way (POST, then PUT with the bytes), as another client would have. */
async function placeBlob(repository: string, bytes: Buffer): Promise<void> {
  const started = await fetch(`http://${registry.address}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  const url = new URL(started.headers.get('location')!, `http://${registry.address}`);
  url.searchParams.set('digest', `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  expect((await fetch(url, { method: 'PUT', body: bytes })).status).toBe(201);
}

function target(at: TestRegistry, repository: string, tags: string | readonly string[] | null, credentials?: { username: string; password: string }, blobSources?: BlobSources): PushTargetClient {
  return {
    client: new RegistryClient({ registry: at.address, repository, insecure: true, actions: ['pull', 'push'], credentials }),
    registry: at.address, repository, name: `${at.address}/${repository}`, tags: tags === null ? [] : typeof tags === 'string' ? [tags] : tags, blobSources,
  };
}

const run = promisify(execFile);

/**
 * The image as a client that is not Orbit pulls it: skopeo copies it by
 * digest, checking every blob. Not waited for synchronously: a token service
 * of the test's own answers skopeo from this process.
 */
async function pullByDigest(reference: string): Promise<string> {
  const dir = join(image.dir, `pulled-${Math.random().toString(36).slice(2)}`);
  await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reference}`, `oci:${dir}:x`]);
  return (await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reference}`], { encoding: 'utf8' })).stdout;
}

async function digestOfTag(at: TestRegistry, repository: string, tag: string): Promise<string> {
  return (JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${at.address}/${repository}:${tag}`], { encoding: 'utf8' })).stdout) as { Digest: string }).Digest;
}

/** The same docker-archive with its config and layers at paths the format allows but names no digest in: `config.json`, `layers/<n>.tar`. */
async function withPathsOfItsOwn(file: string, to: string): Promise<void> {
  const entries = await tarEntries(file);
  const [image] = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as { Config: string; Layers: string[]; RepoTags: string[] }[];
  const pack = tar.pack();
  const layers = image!.Layers.map((path, index) => [`layers/${index}.tar`, entries.get(path)!] as const);
  pack.entry({ name: 'config.json' }, entries.get(image!.Config)!);
  for (const [name, bytes] of layers) pack.entry({ name }, bytes);
  pack.entry({ name: 'manifest.json' }, JSON.stringify([{ ...image, Config: 'config.json', Layers: layers.map(([name]) => name) }]));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  writeFileSync(to, Buffer.concat(chunks));
}

/** The same OCI archive with every name spelt as other tar writers may: `./blobs//sha256/<hex>` (the validator takes it as `blobs/sha256/<hex>`). */
async function respelt(file: string, to: string): Promise<void> {
  const pack = tar.pack();
  for (const [name, bytes] of await tarEntries(file)) {
    if (!name.endsWith('/')) pack.entry({ name: `./${name.replace(/^\.\//, '').replace('/', '//')}` }, bytes);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  writeFileSync(to, Buffer.concat(chunks));
}

beforeAll(async () => {
  registry = await startRegistry();
  guarded = await startRegistry({ users: { [ROBOT.username]: ROBOT.password } });
  tokenGuarded = await startRegistry({ token: { users: { [ROBOT.username]: ROBOT.password }, refreshTokens: { 'acr-refresh-token': ROBOT.username } } });
  const base = { files: { 'app/run': '#!/bin/sh\necho hi\n' } };
  image = buildImage({ name: 'team/app', tag: 'v1', layers: [base, { files: { 'app/data.txt': 'x'.repeat(10_000) } }], exposedPort: '8080/tcp' });
  sibling = buildImage({ name: 'team/other', tag: 'v1', layers: [base, { files: { 'app/other.txt': 'y'.repeat(5_000) } }] });
}, 120_000);

afterAll(async () => {
  await registry.stop();
  await guarded.stop();
  await tokenGuarded.stop();
  image.cleanup();
  sibling.cleanup();
});

describe('pushImage', () => {
  it('pushes a docker-archive under the digest its charts pin (the canonical manifest skopeo reports), tagged with its version', async () => {
    const summary = summaryOf('docker-archive', image.dockerArchive);
    const pushed = await pushImage(open(image.dockerArchive), summary, target(registry, 'orbit/app', '1.0.0'), quietLogger);
    expect(pushed).toMatchObject({ reference: `${registry.address}/orbit/app@${summary.manifestDigest}`, tagged: true, alreadyThere: false, blobsSent: 3 });
    const raw = await pullByDigest(pushed.reference);
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(summary.manifestDigest);
    expect(await digestOfTag(registry, 'orbit/app', '1.0.0')).toBe(summary.manifestDigest);
  }, 60_000);

  it('finds the config and layers of a docker-archive that keeps them at paths naming no digest (config.json, layers/0.tar)', async () => {
    const file = join(image.dir, 'own-paths.tar');
    await withPathsOfItsOwn(image.dockerArchive, file);
    const summary = summaryOf('docker-archive', file);
    expect(summary.manifestDigest).toBe(summaryOf('docker-archive', image.dockerArchive).manifestDigest);
    const pushed = await pushImage(open(file), summary, target(registry, 'orbit/own-paths', '1.0.0'), quietLogger);
    expect(pushed).toMatchObject({ tagged: true, blobsSent: 3 });
    expect(await pullByDigest(pushed.reference)).toBeTruthy();
  }, 60_000);

  it('pushes gzip- and zstd-wrapped OCI archives with their own manifest, sending only the blobs the repository lacks', async () => {
    const gzipped = image.gzip(image.ociArchive);
    const summary = summaryOf('oci-archive', image.ociArchive, 'GZIP');
    const first = await pushImage(open(gzipped), summary, target(registry, 'orbit/app-oci', '1.0.0'), quietLogger);
    expect(first).toMatchObject({ tagged: true, blobsSent: 3 });
    expect(await pullByDigest(first.reference)).toBe(readFileSync(join(image.dir, 'layout', 'blobs', 'sha256', summary.manifestDigest.slice(7)), 'utf8'));

    // The repository already has the sibling's first layer: only its config and its other layer travel.
    const [firstLayer] = summaryOf('oci-archive', sibling.ociArchive).layers;
    await placeBlob('orbit/app-oci', readFileSync(join(sibling.dir, 'layout', 'blobs', 'sha256', firstLayer!.digest.slice(7))));
    const zstdFile = join(sibling.dir, 'sibling-oci.tar.zst');
    writeFileSync(zstdFile, execFileSync('zstd', ['-c', '-q', sibling.ociArchive], { maxBuffer: 64 * 1024 * 1024 }));
    const siblingSummary = summaryOf('oci-archive', sibling.ociArchive, 'ZSTD');
    const second = await pushImage(open(zstdFile), siblingSummary, target(registry, 'orbit/app-oci', '2.0.0'), quietLogger);
    expect(second).toMatchObject({ tagged: true, blobsSent: 2 });
    expect(await digestOfTag(registry, 'orbit/app-oci', '2.0.0')).toBe(siblingSummary.manifestDigest);
    await pullByDigest(second.reference);
  }, 60_000);

  it('finds an OCI archive\'s blobs and manifest however the tar spells their names (./blobs//sha256/<hex>)', async () => {
    const summary = summaryOf('oci-archive', image.ociArchive);
    const file = join(image.dir, 'respelt.tar');
    await respelt(image.ociArchive, file);
    expect(summaryOf('oci-archive', file)).toEqual(summary);
    const pushed = await pushImage(open(file), summary, target(registry, 'orbit/respelt', '1.0.0'), quietLogger);
    expect(pushed).toMatchObject({ tagged: true, blobsSent: 3 });
    expect(await pullByDigest(pushed.reference)).toBe(readFileSync(join(image.dir, 'layout', 'blobs', 'sha256', summary.manifestDigest.slice(7)), 'utf8'));
  }, 60_000);

  it('pushes an OCI archive written in the pre-POSIX v7 tar format (tar --format=v7), which the validator reads too (found by a probe)', async () => {
    const summary = summaryOf('oci-archive', image.ociArchive);
    const file = join(image.dir, 'v7.tar');
    execFileSync('tar', ['--format=v7', '-C', join(image.dir, 'layout'), '-cf', file, '.']);
    expect(readFileSync(file).subarray(257, 262).toString('latin1')).not.toBe('ustar');
    const pushed = await pushImage(open(file), summary, target(registry, 'orbit/v7', '1.0.0'), quietLogger);
    expect(pushed).toMatchObject({ tagged: true, blobsSent: 3 });
    expect(await pullByDigest(pushed.reference)).toBe(readFileSync(join(image.dir, 'layout', 'blobs', 'sha256', summary.manifestDigest.slice(7)), 'utf8'));
  }, 60_000);

  it('repeats as a look only, and never moves a tag that names another image: the next tag is used, else the digest alone', async () => {
    const summary = summaryOf('oci-archive', image.ociArchive);
    await pushImage(open(image.ociArchive), summary, target(registry, 'orbit/held', ['1.0.0', '1.0.0-firstowner']), quietLogger);
    const again = await pushImage(async () => { throw new Error('the archive should not be read again'); }, summary, target(registry, 'orbit/held', ['1.0.0', '1.0.0-firstowner']), quietLogger);
    expect(again).toMatchObject({ alreadyThere: true, blobsSent: 0, tagged: true, tagReference: `${registry.address}/orbit/held:1.0.0` });

    // Another image under the same name and version (another owner's): the version tag stays with the first, the second gets its own.
    const other = summaryOf('oci-archive', sibling.ociArchive);
    const second = await pushImage(open(sibling.ociArchive), other, target(registry, 'orbit/held', ['1.0.0', '1.0.0-otherowner']), quietLogger);
    expect(second).toMatchObject({ tagged: true, tagReference: `${registry.address}/orbit/held:1.0.0-otherowner`, alreadyThere: false });
    expect(await digestOfTag(registry, 'orbit/held', '1.0.0')).toBe(summary.manifestDigest);
    expect(await digestOfTag(registry, 'orbit/held', '1.0.0-otherowner')).toBe(other.manifestDigest);
    await pullByDigest(second.reference);
    // Every tag it may have taken by another image: left by digest only.
    const third = await pushImage(open(sibling.ociArchive), other, target(registry, 'orbit/held', ['1.0.0']), quietLogger);
    expect(third).toMatchObject({ alreadyThere: true, tagged: false, tagReference: null });
    // A manifest already there but untagged gets its tag on the next push.
    const tagged = await pushImage(open(sibling.ociArchive), other, target(registry, 'orbit/held', '2.0.0'), quietLogger);
    expect(tagged).toMatchObject({ alreadyThere: true, tagged: true });
    expect(await digestOfTag(registry, 'orbit/held', '2.0.0')).toBe(other.manifestDigest);
  }, 60_000);

  it('pushes by digest when another image takes the tag between the look and the put, and the registry refuses to move it (immutable tags)', async () => {
    const summary = summaryOf('oci-archive', image.ociArchive);
    const other = summaryOf('oci-archive', sibling.ociArchive);
    await pushImage(open(sibling.ociArchive), other, target(registry, 'orbit/raced', null), quietLogger);
    const otherManifest = readFileSync(join(sibling.dir, 'layout', 'blobs', 'sha256', other.manifestDigest.slice(7)));
    // In front of the registry: the first PUT of the tag finds it taken by the other image just before, and is refused as Harbor and ECR refuse a move.
    let raced = false;
    const immutable: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      if (!raced && init?.method === 'PUT' && url.pathname.endsWith('/manifests/1.0.0')) {
        raced = true;
        await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: otherManifest });
        return Response.json({ errors: [{ code: 'TAG_INVALID', message: 'tag 1.0.0 is immutable' }] }, { status: 400 });
      }
      return fetch(input, init);
    };
    const client = new RegistryClient({ registry: registry.address, repository: 'orbit/raced', insecure: true, actions: ['pull', 'push'], fetch: immutable });
    const pushed = await pushImage(open(image.ociArchive), summary, { client, registry: registry.address, repository: 'orbit/raced', name: `${registry.address}/orbit/raced`, tags: ['1.0.0'] }, quietLogger);
    expect(raced).toBe(true);
    expect(pushed).toMatchObject({ tagged: false, alreadyThere: false });
    expect(await digestOfTag(registry, 'orbit/raced', '1.0.0')).toBe(other.manifestDigest);
    await pullByDigest(pushed.reference);
  }, 60_000);

  it('pushes to a registry behind authentication with its credentials, and is refused without them', async () => {
    const summary = summaryOf('docker-archive', image.dockerArchive);
    await expect(pushImage(open(image.dockerArchive), summary, target(guarded, 'orbit/app', '1.0.0'), quietLogger)).rejects.toBeInstanceOf(PullRefusedError);
    const pushed = await pushImage(open(image.dockerArchive), summary, target(guarded, 'orbit/app', '1.0.0', ROBOT), quietLogger);
    expect(pushed.tagged).toBe(true);
    execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `${ROBOT.username}:${ROBOT.password}`, `docker://${pushed.reference}`]);
  }, 60_000);

  it('takes its credentials from a Docker config.json (a mounted dockerconfigjson Secret), and a password rotated in that file works without a restart', async () => {
    const summary = summaryOf('docker-archive', image.dockerArchive);
    const authFile = join(image.dir, `auth-${uniqueSuffix()}.json`);
    const dockerConfig = (password: string): string => JSON.stringify({ auths: { [`http://${guarded.address}`]: { auth: Buffer.from(`${ROBOT.username}:${password}`).toString('base64') } } });
    writeFileSync(authFile, dockerConfig('expired-password'));
    const access = registryAccessOf({ ORBIT_INSECURE_REGISTRIES: new Set(), ORBIT_REGISTRY_CREDENTIALS: new Map(), ORBIT_REGISTRY_AUTH_FILE: new AuthFileCredentials(authFile) });
    const repository = { registry: guarded.address, repository: 'orbit/rotated', name: `${guarded.address}/orbit/rotated`, host: guarded.address, tags: ['1.0.0'] };
    const pushTo = () => ({ ...repository, client: pushClientOf(repository, access) });
    await expect(pushImage(open(image.dockerArchive), summary, pushTo(), quietLogger)).rejects.toBeInstanceOf(PushRefusedError);
    // What the CronJob refreshing the Secret does: the file is replaced.
    writeFileSync(`${authFile}.new`, dockerConfig(ROBOT.password));
    renameSync(`${authFile}.new`, authFile);
    expect(await pushImage(open(image.dockerArchive), summary, pushTo(), quietLogger)).toMatchObject({ tagged: true, alreadyThere: false });
  }, 60_000);

  it('takes its credentials from the credential helper the Docker config.json names (docker-credential-pass, as ecr-login or gcr would be), asked at each push, so a password changed in its store works without a restart', async () => {
    const passwords = openPassStore();
    try {
      const summary = summaryOf('docker-archive', image.dockerArchive);
      const authFile = join(image.dir, `helpers-${uniqueSuffix()}.json`);
      // What `docker login` leaves behind with a credsStore: an empty auths entry, the secret in the helper's store.
      writeFileSync(authFile, JSON.stringify({ auths: { [guarded.address]: {} }, credHelpers: { [guarded.address]: 'pass' } }));
      const access = registryAccessOf({ ORBIT_INSECURE_REGISTRIES: new Set(), ORBIT_REGISTRY_CREDENTIALS: new Map(), ORBIT_REGISTRY_AUTH_FILE: new AuthFileCredentials(authFile) });
      const repository = { registry: guarded.address, repository: 'orbit/helped', name: `${guarded.address}/orbit/helped`, host: guarded.address, tags: ['1.0.0'] };
      const pushTo = () => ({ ...repository, client: pushClientOf(repository, access) });
      // Nothing stored for the registry yet: the push goes anonymously and is refused as such.
      await expect(pushImage(open(image.dockerArchive), summary, pushTo(), quietLogger)).rejects.toThrow(/needs credentials/);
      passwords.store(guarded.address, ROBOT.username, 'expired-password');
      await expect(pushImage(open(image.dockerArchive), summary, pushTo(), quietLogger)).rejects.toBeInstanceOf(PushRefusedError);
      passwords.store(guarded.address, ROBOT.username, ROBOT.password);
      expect(await pushImage(open(image.dockerArchive), summary, pushTo(), quietLogger)).toMatchObject({ tagged: true, alreadyThere: false });
      execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `${ROBOT.username}:${ROBOT.password}`, `docker://${guarded.address}/orbit/helped:1.0.0`]);
    } finally {
      passwords.close();
    }
  }, 60_000);

  it('pushes with an identity token from the Docker config.json (what az acr login writes), traded at the token service in an OAuth2 POST; a revoked one is refused', async () => {
    const summary = summaryOf('oci-archive', image.ociArchive);
    const authFile = join(image.dir, `identity-${uniqueSuffix()}.json`);
    const dockerConfig = (refreshToken: string): string => JSON.stringify({ auths: { [tokenGuarded.address]: { auth: Buffer.from('00000000-0000-0000-0000-000000000000:').toString('base64'), identitytoken: refreshToken } } });
    writeFileSync(authFile, dockerConfig('revoked-refresh-token'));
    const access = registryAccessOf({ ORBIT_INSECURE_REGISTRIES: new Set(), ORBIT_REGISTRY_CREDENTIALS: new Map(), ORBIT_REGISTRY_AUTH_FILE: new AuthFileCredentials(authFile) });
    const repository = { registry: tokenGuarded.address, repository: 'team-a/identity', name: `${tokenGuarded.address}/team-a/identity`, host: tokenGuarded.address, tags: ['1.0.0'] };
    const pushTo = () => ({ ...repository, client: pushClientOf(repository, access) });
    // This test's token service is on another port than its registry, so its words are not quoted (ACR's is on the registry's origin).
    await expect(pushImage(open(image.ociArchive), summary, pushTo(), quietLogger)).rejects.toThrow(/refused the token request \(400[^)]*\) for the identity token/);
    writeFileSync(`${authFile}.new`, dockerConfig('acr-refresh-token'));
    renameSync(`${authFile}.new`, authFile);
    expect(await pushImage(open(image.ociArchive), summary, pushTo(), quietLogger)).toMatchObject({ tagged: true, alreadyThere: false });
    expect(tokenGuarded.tokenRequests.filter((asked) => asked.user === ROBOT.username && asked.granted === 'pull,push').map((asked) => asked.scope)).toContain('repository:team-a/identity:pull,push');
    expect(await digestOfTag(tokenGuarded, 'team-a/identity', '1.0.0')).toBe(summary.manifestDigest);
  }, 60_000);

  it('pushes through a token service (Bearer, as Docker Hub, GHCR and Harbor): a pull,push token with its credentials; anonymous, only a pull token, and refused', async () => {
    const summary = summaryOf('oci-archive', image.ociArchive);
    await expect(pushImage(open(image.ociArchive), summary, target(tokenGuarded, 'team-a/app', '1.0.0'), quietLogger)).rejects.toThrow(/refused to start a blob upload \(HTTP 401/);
    expect(tokenGuarded.tokenRequests.some((asked) => asked.user === null && asked.scope === 'repository:team-a/app:pull,push' && asked.granted === 'pull')).toBe(true);
    const pushed = await pushImage(open(image.ociArchive), summary, target(tokenGuarded, 'team-a/app', '1.0.0', ROBOT), quietLogger);
    expect(pushed).toMatchObject({ tagged: true, alreadyThere: false, blobsSent: 3 });
    expect(tokenGuarded.tokenRequests.filter((asked) => asked.user === ROBOT.username).map((asked) => asked.scope)).toContain('repository:team-a/app:pull,push');
    // Anyone may pull (a public project): skopeo goes through the same token service, anonymously.
    expect(await pullByDigest(pushed.reference)).toBe(readFileSync(join(image.dir, 'layout', 'blobs', 'sha256', summary.manifestDigest.slice(7)), 'utf8'));
    expect(await digestOfTag(tokenGuarded, 'team-a/app', '1.0.0')).toBe(summary.manifestDigest);
  }, 60_000);

  it('mounts a layer another repository of the registry holds instead of sending it again, and sends it when the hint is stale', async () => {
    const sources = new BlobSources();
    const summary = summaryOf('oci-archive', image.ociArchive);
    const first = await pushImage(open(image.ociArchive), summary, target(registry, 'mount/base', '1.0.0', undefined, sources), quietLogger);
    expect(first).toMatchObject({ blobsSent: 3, blobsMounted: 0 });
    // The sibling shares the first layer: mounted from mount/base; its config and other layer travel.
    const siblingSummary = summaryOf('oci-archive', sibling.ociArchive);
    const second = await pushImage(open(sibling.ociArchive), siblingSummary, target(registry, 'mount/other', '1.0.0', undefined, sources), quietLogger);
    expect(second).toMatchObject({ tagged: true, blobsSent: 2, blobsMounted: 1 });
    await pullByDigest(second.reference);
    // A hint naming a repository that lacks the blob (removed since): the registry opens an upload instead, and the blob is sent.
    const stale = new BlobSources();
    await stale.remember(registry.address, summary.layers.map((layer) => layer.digest), 'mount/empty');
    const third = await pushImage(open(image.ociArchive), summary, target(registry, 'mount/third', '1.0.0', undefined, stale), quietLogger);
    expect(third).toMatchObject({ tagged: true, blobsSent: 3, blobsMounted: 0 });
    await pullByDigest(third.reference);
    expect((await stale.sourcesOf(registry.address, [summary.layers[0]!.digest], 'elsewhere')).get(summary.layers[0]!.digest)).toBe('mount/third');
  }, 60_000);

  it('mounts the shared layer after a restart emptied the memory, from where the blob-locations table says it is (a stale record is dropped there too)', async () => {
    const locations = new DynamoBlobLocations(createDynamo(testConfig), tableName('registryBlobLocations', testConfig));
    const summary = summaryOf('oci-archive', image.ociArchive);
    const base = `restart/base-${uniqueSuffix()}`;
    await pushImage(open(image.ociArchive), summary, target(registry, base, '1.0.0', undefined, new BlobSources(locations)), quietLogger);
    // Another process, or this one restarted: nothing in memory, the table shared.
    const restarted = new BlobSources(locations);
    const second = await pushImage(open(sibling.ociArchive), summaryOf('oci-archive', sibling.ociArchive), target(registry, `restart/other-${uniqueSuffix()}`, '1.0.0', undefined, restarted), quietLogger);
    expect(second).toMatchObject({ tagged: true, blobsSent: 2, blobsMounted: 1 });
    await pullByDigest(second.reference);
    // A record naming a repository that lacks the blob: sent as usual (the config and the other layer mount from the first), and the record moves to where it now is.
    const shared = summary.layers[0]!.digest;
    await locations.record(registry.address, [shared], 'restart/gone');
    const third = `restart/third-${uniqueSuffix()}`;
    expect(await pushImage(open(image.ociArchive), summary, target(registry, third, '1.0.0', undefined, new BlobSources(locations)), quietLogger)).toMatchObject({ blobsSent: 1, blobsMounted: 2 });
    expect((await locations.find(registry.address, [shared])).get(shared)).toBe(third);
  }, 60_000);

  it('sends a mounted blob again when the registry cannot yet say its size (storage behind), and the docker-archive\'s manifest still matches', async () => {
    const sources = new BlobSources();
    const summary = summaryOf('docker-archive', image.dockerArchive);
    await pushImage(open(image.dockerArchive), summary, target(registry, 'lagging/first', '1.0.0', undefined, sources), quietLogger);
    // In front of the registry: right after the mount, the config is not found yet.
    let hidden = 0;
    const lagging: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      if (init?.method === 'HEAD' && url.pathname.endsWith(`/blobs/${summary.configDigest}`) && url.pathname.includes('lagging/second') && hidden++ === 1) return new Response(null, { status: 404 });
      return fetch(input, init);
    };
    const client = new RegistryClient({ registry: registry.address, repository: 'lagging/second', insecure: true, actions: ['pull', 'push'], fetch: lagging });
    const pushed = await pushImage(open(image.dockerArchive), summary, { client, registry: registry.address, repository: 'lagging/second', name: `${registry.address}/lagging/second`, tags: ['1.0.0'], blobSources: sources }, quietLogger);
    expect(hidden).toBeGreaterThan(1);
    expect(pushed).toMatchObject({ tagged: true, blobsMounted: 2, blobsSent: 1 });
    await pullByDigest(pushed.reference);
  }, 60_000);

  it('mounts through a token service: the mount\'s challenge names two scopes, asked for as two', async () => {
    const sources = new BlobSources();
    await pushImage(open(image.ociArchive), summaryOf('oci-archive', image.ociArchive), target(tokenGuarded, 'team-a/base', '1.0.0', ROBOT, sources), quietLogger);
    const asked = tokenGuarded.tokenRequests.length;
    const siblingSummary = summaryOf('oci-archive', sibling.ociArchive);
    const pushed = await pushImage(open(sibling.ociArchive), siblingSummary, target(tokenGuarded, 'team-b/other', '1.0.0', ROBOT, sources), quietLogger);
    expect(pushed).toMatchObject({ tagged: true, blobsSent: 2, blobsMounted: 1 });
    expect(tokenGuarded.tokenRequests.slice(asked).map((request) => request.scope)).toEqual(expect.arrayContaining(['repository:team-b/other:pull,push', 'repository:team-a/base:pull']));
    await pullByDigest(pushed.reference);
  }, 60_000);

  it('sends the blob when its credentials may not read the repository that holds it (a robot account of another Harbor project)', async () => {
    const projects = await startRegistry({ token: { users: { admin: 'admin-pass', [ROBOT.username]: ROBOT.password }, anonymousPull: false, mayUse: (user, repository) => user === 'admin' || repository.startsWith('team-b/') } });
    try {
      const sources = new BlobSources();
      await pushImage(open(image.ociArchive), summaryOf('oci-archive', image.ociArchive), target(projects, 'team-a/base', '1.0.0', { username: 'admin', password: 'admin-pass' }, sources), quietLogger);
      const pushed = await pushImage(open(sibling.ociArchive), summaryOf('oci-archive', sibling.ociArchive), target(projects, 'team-b/other', '1.0.0', ROBOT, sources), quietLogger);
      expect(pushed).toMatchObject({ tagged: true, blobsSent: 3, blobsMounted: 0 });
      // Whatever it asked of team-a, it was granted nothing there.
      expect(projects.tokenRequests.filter((asked) => asked.user === ROBOT.username && asked.scope.startsWith('repository:team-a/')).every((asked) => asked.granted === '')).toBe(true);
      await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `${ROBOT.username}:${ROBOT.password}`, `docker://${pushed.reference}`]);
    } finally {
      await projects.stop();
    }
  }, 60_000);

  it('is refused, naming the blob, when an entry holds other bytes than its name says (the registry checks them; Orbit does not hash them again)', async () => {
    const summary = summaryOf('oci-archive', image.ociArchive);
    const entries = await tarEntries(image.ociArchive);
    const layerPath = [...entries.keys()].find((name) => name.endsWith(summary.layers[0]!.digest.slice(7)))!;
    const pack = tar.pack();
    for (const [name, bytes] of entries) {
      const tampered = Buffer.from(bytes);
      if (name === layerPath) tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 0xff, tampered.length - 1);
      if (!name.endsWith('/')) pack.entry({ name }, tampered);
    }
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    const file = join(image.dir, 'tampered.tar');
    writeFileSync(file, Buffer.concat(chunks));
    const pushing = pushImage(open(file), summary, target(registry, 'orbit/tampered', '1.0.0'), quietLogger);
    await expect(pushing).rejects.toThrow(PushRefusedError);
    await expect(pushImage(open(file), summary, target(registry, 'orbit/tampered', '1.0.0'), quietLogger)).rejects.toThrow(summary.layers[0]!.digest);
    expect(() => execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.address}/orbit/tampered:1.0.0`], { stdio: 'pipe' })).toThrow();
  }, 60_000);

  it('pushes a multi-platform image whole: every platform\'s manifest and blobs, then the index under its tag, so each node pulls its own platform', async () => {
    const arm = buildImage({ name: 'team/app', tag: 'v1', layers: [{ files: { 'app/run': '#!/bin/sh\necho arm\n' } }], architecture: 'arm64' });
    const multi = buildMultiPlatformImage([{ image, architecture: 'amd64' }, { image: arm, architecture: 'arm64' }], 'v1');
    try {
      const summary: PushableImage = { compression: 'NONE', ...await multiPlatformSummaryOf(multi.ociArchive) };
      const pushed = await pushImage(open(multi.ociArchive), summary, target(registry, 'orbit/multi', '1.0.0'), quietLogger);
      expect(pushed).toMatchObject({ reference: `${registry.address}/orbit/multi@${multi.indexDigest}`, tagged: true, alreadyThere: false, blobsSent: 5 });
      const tagged = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.address}/orbit/multi:1.0.0`], { encoding: 'buffer' });
      expect(`sha256:${createHash('sha256').update(tagged.stdout).digest('hex')}`).toBe(multi.indexDigest);
      // What a node of each architecture resolves the tag to, and a copy of everything checking every digest.
      for (const [architecture, digest] of [['amd64', multi.manifestDigests[0]!], ['arm64', multi.manifestDigests[1]!]] as const) {
        const seen = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--override-arch', architecture, `docker://${registry.address}/orbit/multi:1.0.0`], { encoding: 'utf8' })).stdout) as { Architecture: string };
        expect(seen.Architecture).toBe(architecture);
        const manifest = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.address}/orbit/multi@${digest}`], { encoding: 'buffer' });
        expect(`sha256:${createHash('sha256').update(manifest.stdout).digest('hex')}`).toBe(digest);
      }
      await run('skopeo', ['copy', '--quiet', '--all', '--src-tls-verify=false', `docker://${pushed.reference}`, `oci:${join(image.dir, 'multi-pulled')}:x`]);
      expect(await pushImage(open(multi.ociArchive), summary, target(registry, 'orbit/multi', '1.0.0'), quietLogger)).toMatchObject({ alreadyThere: true, blobsSent: 0 });
    } finally {
      arm.cleanup();
      multi.cleanup();
    }
  }, 60_000);

  it('refuses, naming the blob, when the archive lacks a blob the image needs, and commits no manifest', async () => {
    const summary = summaryOf('oci-archive', image.ociArchive);
    const ghost = { digest: `sha256:${'0'.repeat(64)}`, sizeBytes: 123 };
    const broken = { ...summary, manifestDigest: `sha256:${'1'.repeat(64)}`, layers: [...summary.layers, ghost] };
    await expect(pushImage(open(image.ociArchive), broken, target(registry, 'orbit/broken', '1.0.0'), quietLogger)).rejects.toThrow(PushRefusedError);
    await expect(pushImage(open(image.ociArchive), broken, target(registry, 'orbit/broken', '1.0.0'), quietLogger)).rejects.toThrow(ghost.digest);
    expect(() => execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.address}/orbit/broken:1.0.0`], { stdio: 'pipe' })).toThrow();
  }, 60_000);
});
