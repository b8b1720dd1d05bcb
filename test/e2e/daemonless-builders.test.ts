/**
 * Images built without a Docker daemon, as CI runners and rootless build
 * hosts do: buildah (Podman's builder, from Debian) and crane
 * (go-containerregistry's CLI, built with `go install`). Each archive or
 * reference goes in through the gateway as a user sends it and must come out
 * stored, with the digest the tool gave it.
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAptPackage } from '@orbit/local-stack';
import { describe, expect, it } from 'vitest';
import { readyUpload, uploadArchive, uploadOutcome, uploadReference } from '../helpers/gateway.js';
import { craneBinary } from '../helpers/image-tools.js';
import { uniqueSuffix } from '../helpers/index.js';
import { useWorkbench } from '../helpers/e2e-workbench.js';

const USER = `e2e-builders-${uniqueSuffix()}`;

interface VersionView {
  readonly status: string;
  readonly digest: string;
  readonly configDigest: string;
  readonly platforms?: readonly string[];
  readonly layers: readonly { digest: string; mediaType: string }[];
}

const metadata = (imageName: string): Record<string, unknown> => ({ imageName, imageVersion: 'v1-0-00', imageCategory: 'e2e', port: 8080 });

const stored = async (send: () => ReturnType<typeof uploadArchive>): Promise<VersionView> => (await readyUpload<VersionView>(USER, send)).version;

describe('images built without a Docker daemon', () => {
  const bench = useWorkbench('builders', ({ work }) => {
    mkdirSync(join(work, 'rootfs', 'app'), { recursive: true });
    writeFileSync(join(work, 'rootfs', 'app', 'run'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  });

  it('takes what buildah writes: an oci-archive with zstd:chunked layers, a docker-archive, and a two-platform manifest list (Docker v2s2) kept whole', async () => {
    const { work } = bench;
    const rootfs = join(work, 'rootfs');
    const [buildah = 'buildah'] = ensureAptPackage('buildah', 'buildah', ['buildah']);
    // Its own storage in the test's folder, with the vfs driver: no daemon, no overlay mounts, nothing left on the machine.
    const storage = ['--root', join(work, 'storage'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs'];
    const run: ExecFileSyncOptions = { stdio: ['ignore', 'pipe', 'pipe'], cwd: work };
    const bh = (...args: string[]): string => execFileSync(buildah, [...storage, ...args], { ...run, encoding: 'utf8' }).trim();
    const build = (architecture: string, variant: string | null, tag: string): void => {
      const container = bh('from', 'scratch');
      bh('copy', container, join(rootfs, 'app'), '/app');
      bh('config', '--arch', architecture, ...(variant ? ['--variant', variant] : []), '--os', 'linux', '--entrypoint', '["/app/run"]', '--port', '8080', '--user', '1000', container);
      bh('commit', container, tag);
    };
    build('amd64', null, 'localhost/app:amd64');
    build('arm64', 'v8', 'localhost/app:arm64');

    const chunked = join(work, 'zstd-chunked.tar');
    bh('push', '--compression-format', 'zstd:chunked', 'localhost/app:amd64', `oci-archive:${chunked}:app:1`);
    const zstd = await stored(() => uploadArchive(USER, chunked, metadata(`buildah-zstd-${uniqueSuffix()}`)));
    expect(zstd.layers.map((layer) => layer.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+zstd']);

    const docker = join(work, 'docker.tar');
    bh('push', '--format', 'docker', 'localhost/app:amd64', `docker-archive:${docker}:app:1`);
    expect((await stored(() => uploadArchive(USER, docker, metadata(`buildah-docker-${uniqueSuffix()}`)))).configDigest).toBe(zstd.configDigest);

    bh('manifest', 'create', 'localhost/app-list:1');
    bh('manifest', 'add', 'localhost/app-list:1', 'localhost/app:amd64');
    bh('manifest', 'add', 'localhost/app-list:1', 'localhost/app:arm64');
    const list = join(work, 'list.tar');
    bh('manifest', 'push', '--all', '--format', 'v2s2', 'localhost/app-list:1', `oci-archive:${list}:app:1`);
    const multi = await stored(() => uploadArchive(USER, list, metadata(`buildah-list-${uniqueSuffix()}`)));
    expect(multi.platforms).toEqual(['linux/amd64', 'linux/arm64/v8']);
  }, 300_000);

  it('takes what crane assembles from a plain tar on the empty base, in every format crane pull writes and by reference: one image, one config; without a platform it is refused saying how to set one', async () => {
    const { registry, work } = bench;
    const rootfs = join(work, 'rootfs');
    const crane = craneBinary();
    const run: ExecFileSyncOptions = { stdio: ['ignore', 'pipe', 'pipe'], cwd: work };
    const layer = join(work, 'layer.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', layer, 'app'], run);
    const repository = `${registry.address}/team/crane-app`;
    execFileSync(crane, ['append', '--insecure', '--oci-empty-base', '-f', layer, '-t', `${repository}:bare`], run);
    const bare = await uploadOutcome<VersionView>(USER, () => uploadReference(USER, `${repository}:bare`, metadata(`crane-bare-${uniqueSuffix()}`)));
    expect(bare.request).toMatchObject({ status: 'failed', error: { code: 'BAD_CONFIG' } });
    expect(bare.request.error?.message).toMatch(/names no platform.*crane mutate --set-platform linux\/amd64/);

    execFileSync(crane, ['mutate', '--insecure', `${repository}:bare`, '--set-platform', 'linux/amd64', '--entrypoint', '/app/run', '--exposed-ports', '8080', '-t', `${repository}:1`], run);
    const byReference = await stored(() => uploadReference(USER, `${repository}:1`, metadata(`crane-ref-${uniqueSuffix()}`)));
    expect(byReference.digest).toBe(execFileSync(crane, ['digest', '--insecure', `${repository}:1`], { ...run, encoding: 'utf8' }).trim());
    for (const format of ['tarball', 'legacy', 'oci']) {
      const pulled = join(work, `crane-${format}`);
      execFileSync(crane, ['pull', '--insecure', '--format', format, `${repository}:1`, format === 'oci' ? pulled : `${pulled}.tar`], run);
      if (format === 'oci') execFileSync('tar', ['-C', pulled, '-cf', `${pulled}.tar`, '.'], run);
      const version = await stored(() => uploadArchive(USER, `${pulled}.tar`, metadata(`crane-${format}-${uniqueSuffix()}`)));
      expect(version.configDigest, format).toBe(byReference.configDigest);
      // An OCI layout keeps crane's manifest; the docker formats store none, and the digest is of the canonical one they imply.
      if (format === 'oci') expect(version.digest).toBe(byReference.digest);
    }
  }, 300_000);
});
