import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage, type BuiltImage } from '../../../../test/helpers/images.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { validateArchive, type ValidationOutcome } from './validate-archive.js';

const missing = ['umoci', 'skopeo', 'tar', 'gzip', 'zstd'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missing.length > 0) console.warn(`skipping the umoci/skopeo image tests: ${missing.join(', ')} not installed (apt-get install umoci skopeo zstd)`);

function accepted(outcome: ValidationOutcome) {
  if (!outcome.ok) throw new Error(`rejected: ${outcome.reasonCode}: ${outcome.message}`);
  return outcome;
}

describe.skipIf(missing.length > 0)('archives built by umoci and skopeo', () => {
  let built: BuiltImage | undefined;
  afterAll(() => built?.cleanup());

  it('validates the OCI layout tar and the skopeo docker-archive, plain and gzip, and skopeo\'s zstd recompression', async () => {
    built = buildImage({
      name: 'orbit-test', tag: '1.2.3', extraTags: ['latest'], exposedPort: '8080/tcp', entrypoint: ['/app/run', '--serve'], user: '1000',
      layers: [
        { files: { 'app/run': '#!/bin/sh\necho run\n', 'etc/motd': 'hi\n' } },
        { files: { 'app/data.bin': Buffer.alloc(200_000, 7) }, delete: ['etc/motd'] },
      ],
    });
    const image = built;
    const validate = (file: string) => validateArchive(createReadStream(file), DEFAULT_VALIDATION_LIMITS);

    const oci = accepted(await validate(image.ociArchive));
    expect(oci.summary.format).toBe('OCI_ARCHIVE');
    expect(oci.summary.repoTags).toEqual(['1.2.3']);
    expect(oci.summary.layers).toHaveLength(2);
    expect(oci.summary.layers[0]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(oci.summary.config).toMatchObject({ exposedPorts: ['8080/tcp'], entrypoint: ['/app/run', '--serve'], user: '1000' });
    const ociDigest = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${image.ociArchive}:1.2.3`], { encoding: 'utf8' })) as { Digest: string };
    expect(oci.summary.manifestDigest).toBe(ociDigest.Digest);

    const docker = accepted(await validate(image.dockerArchive));
    expect(docker.summary.format).toBe('DOCKER_ARCHIVE');
    expect(docker.summary.repoTags).toEqual(['docker.io/library/orbit-test:1.2.3', 'docker.io/library/orbit-test:latest']);
    expect(docker.summary.configDigest).toBe(oci.summary.configDigest);
    expect(docker.summary.layers.map((layer) => layer.diffId)).toEqual(oci.summary.layers.map((layer) => layer.diffId));
    const raw = execFileSync('skopeo', ['inspect', '--raw', `docker-archive:${image.dockerArchive}`]);
    expect(docker.summary.manifestDigest).toBe(`sha256:${createHash('sha256').update(raw).digest('hex')}`);

    for (const file of [image.gzip(image.ociArchive), image.gzip(image.dockerArchive)]) {
      const outcome = accepted(await validate(file));
      expect(outcome.summary.compression).toBe('GZIP');
      expect(outcome.summary.layers.map((layer) => layer.diffId)).toEqual(oci.summary.layers.map((layer) => layer.diffId));
    }

    // Recompressed by skopeo with zstd layers: same image (diff_ids), other blobs.
    const zstdArchive = image.zstdOciArchive();
    const zstd = accepted(await validate(zstdArchive));
    expect(zstd.summary.layers.map((layer) => layer.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd']);
    expect(zstd.summary.layers.map((layer) => layer.diffId)).toEqual(oci.summary.layers.map((layer) => layer.diffId));
    expect(zstd.summary.layers.map((layer) => layer.digest)).not.toEqual(oci.summary.layers.map((layer) => layer.digest));
    const zstdDigest = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${zstdArchive}:1.2.3`], { encoding: 'utf8' })) as { Digest: string };
    expect(zstd.summary.manifestDigest).toBe(zstdDigest.Digest);
  }, 60_000);
});
