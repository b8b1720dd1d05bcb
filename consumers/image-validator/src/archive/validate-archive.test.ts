import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  archiveOf, buildImage, docker25Entries, legacyDockerEntries, ociEntries, sha256, streamOf, type ImageSpec, type TarEntry,
} from '../../test-fixtures/images.js';
import { buildxIndexWithAttestationFirst } from '../../test-fixtures/buildx-index.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { validateArchive, type ValidationOutcome } from './validate-archive.js';

const spec: ImageSpec = {
  repoTags: ['billing-api:1.0.0', 'billing-api:latest'],
  runConfig: {
    ExposedPorts: { '8080/tcp': {}, '9090/udp': {} },
    Entrypoint: ['/app/billing'],
    User: '1000',
    Labels: { 'org.opencontainers.image.title': 'billing' },
    Volumes: { '/var/lib/billing': {} },
    StopSignal: 'SIGTERM',
    Healthcheck: { Test: ['CMD', '/app/billing', 'health'], Interval: 30e9, Timeout: 5e9, StartPeriod: 500e6, Retries: 3 },
  },
  layers: [
    { files: { 'app/billing': '#!/bin/sh\necho billing\n', 'etc/motd': 'hello\n' } },
    { files: { 'app/config.yaml': 'port: 8080\n' }, gzip: true },
    // A later layer deleting a file of an earlier one: a whiteout entry inside the layer tar.
    { files: { 'app/VERSION': '1.0.0\n' }, deletes: ['etc/motd'] },
  ],
};

async function validate(entries: readonly TarEntry[], options: { gzip?: boolean } = {}): Promise<ValidationOutcome> {
  return validateArchive(streamOf(await archiveOf(entries, options), 7_001), DEFAULT_VALIDATION_LIMITS);
}

function accepted(outcome: ValidationOutcome) {
  if (!outcome.ok) throw new Error(`rejected: ${outcome.reasonCode}: ${outcome.message}`);
  return outcome;
}

const blobOf = (bytes: Buffer): TarEntry => ({ name: `blobs/sha256/${sha256(bytes).slice(7)}`, data: bytes });
const EMPTY_CONFIG = Buffer.from('{}');

/** What oras attach and regctl artifact put write: a manifest with the empty config and one layer, about `subject` when given (a referrer). */
function artifactOf(artifactType: string, content: string, subject?: Buffer) {
  const layer = Buffer.from(content);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY_CONFIG), size: 2, data: 'e30=' },
    layers: [{ mediaType: artifactType, digest: sha256(layer), size: layer.length }],
    ...(subject ? { subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(subject), size: subject.length } } : {}),
    annotations: { 'org.opencontainers.image.created': '2026-12-03T06:55:45Z' },
  }));
  const entry = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, artifactType };
  /** As the summary reports it for pushing. */
  const pushed = (about: Buffer) => ({
    digest: entry.digest, mediaType: entry.mediaType, sizeBytes: entry.size, artifactType, subject: sha256(about), tag: null,
    blobs: [{ digest: sha256(EMPTY_CONFIG), sizeBytes: 2 }, { digest: sha256(layer), sizeBytes: layer.length }],
  });
  return { manifest, entry, pushed, blobs: [blobOf(manifest), blobOf(layer), blobOf(EMPTY_CONFIG)] };
}

describe('validateArchive accepts real image layouts', async () => {
  const image = await buildImage(spec);
  const expectedLayers = image.layers.map((layer) => ({ digest: layer.digest, diffId: layer.diffId, sizeBytes: layer.bytes.length, mediaType: layer.mediaType }));

  it('reads the config facts of an OCI archive', async () => {
    const outcome = accepted(await validate(ociEntries(image)));
    expect(outcome.summary).toEqual({
      format: 'OCI_ARCHIVE', compression: 'NONE',
      manifestDigest: sha256(ociEntries(image)[2]!.data!), configDigest: image.config.digest,
      repoTags: ['billing-api:1.0.0', 'billing-api:latest'], architecture: 'amd64', os: 'linux',
      layers: expectedLayers, index: null, validationNotes: [], referrers: null, annotations: { manifest: {}, index: null, platforms: [], leftOut: 0 },
      config: {
        exposedPorts: ['8080/tcp', '9090/udp'], env: ['PATH=/usr/local/bin:/usr/bin'], entrypoint: ['/app/billing'], cmd: ['/app/run'],
        workingDir: '/app', user: '1000', labels: { 'org.opencontainers.image.title': 'billing' },
        healthcheck: { test: ['CMD', '/app/billing', 'health'], intervalSeconds: 30, timeoutSeconds: 5, startPeriodSeconds: 1, retries: 3 },
        stopSignal: 'SIGTERM', volumes: ['/var/lib/billing'], shell: null,
      },
    });
    const bytes = await archiveOf(ociEntries(image));
    expect(outcome.sizeBytes).toBe(bytes.length);
    expect(`sha256:${outcome.sha256}`).toBe(sha256(bytes));
  });

  it('accepts OCI entries in any order, with ./ prefixes, gzip-wrapped', async () => {
    const entries = ociEntries(image, { prefix: './' });
    for (const order of [entries, [...entries].reverse(), [entries[3]!, entries[1]!, entries[4]!, entries[0]!, entries[2]!, ...entries.slice(5)]]) {
      for (const gzip of [false, true]) {
        const outcome = accepted(await validate([{ name: './', type: 'directory' }, ...order], { gzip }));
        expect(outcome.summary.compression).toBe(gzip ? 'GZIP' : 'NONE');
        expect(outcome.summary.layers).toEqual(expectedLayers);
      }
    }
  });

  it('reads a legacy docker-archive (manifest.json last or first) and computes the canonical manifest', async () => {
    const entries = legacyDockerEntries(image);
    const outcomes = [accepted(await validate(entries)), accepted(await validate([entries.at(-1)!, ...entries.slice(0, -1)], { gzip: true }))];
    for (const outcome of outcomes) {
      expect(outcome.summary.format).toBe('DOCKER_ARCHIVE');
      expect(outcome.summary.repoTags).toEqual(['billing-api:1.0.0', 'billing-api:latest']);
      expect(outcome.summary.configDigest).toBe(image.config.digest);
      expect(outcome.summary.layers.map((layer) => layer.diffId)).toEqual(image.layers.map((layer) => layer.diffId));
      expect(outcome.summary.layers[1]!.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
      expect(outcome.summary.layers[0]!.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar');
      expect(outcome.notes.join(' ')).toMatch(/stores no image manifest; manifestDigest is of the Docker schema 2 manifest of its blobs as stored, the one Orbit pushes/);
      // Its first and last layers are stored plain, the middle one gzip'd: crane push would gzip the plain ones (found by a probe: the note said
      // crane gave the same digest), skopeo lists the gzip'd one by its diff_id (found by a review: the note said skopeo gave the same).
      expect(outcome.notes.join(' ')).toMatch(/neither crane push \(it compresses the 2 uncompressed layer\(s\)\) nor skopeo \(it lists the 1 compressed one\(s\) by their uncompressed digests\) gives the same/);
    }
    expect(outcomes[0]!.summary.manifestDigest).toBe(outcomes[1]!.summary.manifestDigest);
  });

  it('says which tools give the computed digest of a legacy docker-archive: skopeo when every layer is plain, crane when every one is compressed (found by a review)', async () => {
    const plain = await buildImage({ layers: [{ files: { a: '1' } }, { files: { b: '2' } }] });
    const gzipped = await buildImage({ layers: [{ files: { a: '1' }, gzip: true }, { files: { b: '2' }, gzip: true }] });
    const noteOf = async (built: typeof plain) => accepted(await validate(legacyDockerEntries(built))).notes.join(' ');
    expect(await noteOf(plain)).toMatch(/skopeo inspect --raw docker-archive: and skopeo copy --preserve-digests give the same; crane push compresses its layers/);
    expect(await noteOf(gzipped)).toMatch(/crane push of this archive gives the same; skopeo and podman give another, listing its compressed layers by their uncompressed digests/);
    if (spawnSync('sh', ['-c', 'command -v skopeo']).status !== 0) return;
    const dir = mkdtempSync(join(tmpdir(), 'orbit-docker-archive-'));
    try {
      const skopeoDigest = async (built: typeof plain): Promise<string> => {
        const file = join(dir, 'image.tar');
        writeFileSync(file, await archiveOf(legacyDockerEntries(built)));
        return sha256(execFileSync('skopeo', ['inspect', '--raw', `docker-archive:${file}`]));
      };
      expect(accepted(await validate(legacyDockerEntries(plain))).summary.manifestDigest).toBe(await skopeoDigest(plain));
      expect(accepted(await validate(legacyDockerEntries(gzipped))).summary.manifestDigest).not.toBe(await skopeoDigest(gzipped));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads one image listed once per tag in manifest.json (crane pull --format=tarball of two tags) as one image with both tags, and still refuses two different images (found by a probe)', async () => {
    const entries = legacyDockerEntries(image);
    const manifestAt = entries.findIndex((entry) => entry.name === 'manifest.json');
    const [listed] = JSON.parse(entries[manifestAt]!.data!.toString('utf8')) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    const withManifest = (list: object[]) => entries.map((entry, at) => (at === manifestAt ? { name: 'manifest.json', data: Buffer.from(JSON.stringify(list)) } : entry));
    const perTag = accepted(await validate(withManifest([{ ...listed!, RepoTags: ['ar/amd:1'] }, { ...listed!, RepoTags: ['ar/amd:2'] }])));
    expect(perTag.summary.repoTags).toEqual(['ar/amd:1', 'ar/amd:2']);
    expect(perTag.summary.configDigest).toBe(image.config.digest);
    expect(perTag.notes.join(' ')).toMatch(/lists one image 2 times, an entry per tag/);
    const two = await validate(withManifest([listed!, { ...listed!, Layers: listed!.Layers.slice(1) }]));
    expect(two).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST', message: expect.stringContaining('manifest.json lists 2 different images') });
  });

  it('reads a docker 25+ archive (OCI layout plus manifest.json) with the stored manifest digest', async () => {
    const outcome = accepted(await validate(docker25Entries(image)));
    expect(outcome.summary.format).toBe('DOCKER_ARCHIVE');
    expect(outcome.summary.manifestDigest).toBe(sha256(docker25Entries(image)[2]!.data!));
    expect(outcome.summary.layers).toEqual(expectedLayers);
  });

  describe('a multi-arch index', async () => {
    const arm = await buildImage({ ...spec, architecture: 'arm64', layers: [{ files: { 'arm': 'yes' } }] });
    const amdEntries = ociEntries(image);
    const armEntries = ociEntries(arm);
    const blob = (bytes: Buffer): TarEntry => ({ name: `blobs/sha256/${sha256(bytes).slice(7)}`, data: bytes });
    const entryOf = (manifest: Buffer, platform: { os: string; architecture: string }, extra: Record<string, unknown> = {}) =>
      ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, platform, ...extra });
    /** index.json naming one image index blob, as skopeo copy --all, crane and buildx's OCI exporter write it. */
    const layoutOf = (platformEntries: readonly object[], blobs: readonly TarEntry[]): { entries: TarEntry[]; indexDigest: string } => {
      const platformIndex = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: platformEntries }));
      const index = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(platformIndex), size: platformIndex.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }],
      }));
      return { entries: [amdEntries[0]!, { name: 'index.json', data: index }, blob(platformIndex), ...blobs], indexDigest: sha256(platformIndex) };
    };
    const armManifest = armEntries[2]!.data!;
    const amdManifest = amdEntries[2]!.data!;
    const both = [entryOf(armManifest, { os: 'linux', architecture: 'arm64' }), entryOf(amdManifest, { os: 'linux', architecture: 'amd64' })];

    it('is kept whole when the archive holds every platform, each validated; linux/amd64 describes it', async () => {
      const { entries, indexDigest } = layoutOf(both, [...amdEntries.slice(2), ...armEntries.slice(2)]);
      const outcome = accepted(await validate(entries));
      expect(outcome.summary.architecture).toBe('amd64');
      expect(outcome.summary.manifestDigest).toBe(sha256(amdManifest));
      expect(outcome.summary.repoTags).toEqual(['multi']);
      expect(outcome.summary.index).toEqual({
        digest: indexDigest, mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { digest: sha256(armManifest), mediaType: 'application/vnd.oci.image.manifest.v1+json', sizeBytes: armManifest.length, os: 'linux', architecture: 'arm64', variant: null, attestation: false,
            configDigest: arm.config.digest, blobs: arm.layers.map((layer) => ({ digest: layer.digest, sizeBytes: layer.bytes.length })) },
          { digest: sha256(amdManifest), mediaType: 'application/vnd.oci.image.manifest.v1+json', sizeBytes: amdManifest.length, os: 'linux', architecture: 'amd64', variant: null, attestation: false,
            configDigest: image.config.digest, blobs: image.layers.map((layer) => ({ digest: layer.digest, sizeBytes: layer.bytes.length })) },
        ],
      });
      expect(outcome.notes.join(' ')).toMatch(/linux\/arm64, linux\/amd64; every one was validated and the image is the whole index/);
      expect(outcome.notes.join(' ')).not.toMatch(/different images/);
      // Their configs agree in everything the chart is made from: nothing to say.
      expect(outcome.notes.join(' ')).not.toMatch(/differ in what the chart is made from/);
    });

    describe('whose platforms\' configs differ in what the chart is made from (found by a review: the first platform\'s port, user and probes were taken without a word)', async () => {
      const s390x = await buildImage({
        ...spec, architecture: 's390x', layers: [{ files: { 's390x': 'yes' } }],
        runConfig: { ...spec.runConfig, ExposedPorts: { '7000/tcp': {} }, User: 'app', Env: ['PATH=/usr/local/bin:/usr/bin', 'LD_LIBRARY_PATH=/usr/lib/s390x-linux-gnu'], Healthcheck: { Test: ['CMD-SHELL', 'curl -f localhost:7000'] } },
      });
      const s390xEntries = ociEntries(s390x);
      const s390xManifest = s390xEntries[2]!.data!;
      const s390xEntry = entryOf(s390xManifest, { os: 'linux', architecture: 's390x' });

      it('names the platform taken, and each fact that differs, when the index has no linux/amd64', async () => {
        const { entries, indexDigest } = layoutOf([both[0]!, s390xEntry], [...armEntries.slice(2), ...s390xEntries.slice(2)]);
        const outcome = accepted(await validate(entries));
        expect(outcome.summary).toMatchObject({ architecture: 'arm64', config: { exposedPorts: ['8080/tcp', '9090/udp'], user: '1000' } });
        const note = outcome.notes.find((text) => text.includes('differ in what the chart is made from'));
        expect(note).toBe(`the platforms of image index ${indexDigest} differ in what the chart is made from: `
          + 'exposed ports (linux/arm64: 8080/tcp, 9090/udp; linux/s390x: 7000/tcp); user (linux/arm64: 1000; linux/s390x: app); '
          + 'healthcheck (linux/arm64: {"test":["CMD","/app/billing","health"],"intervalSeconds":30,"timeoutSeconds":5,"startPeriodSeconds":1,"retries":3}; linux/s390x: {"test":["CMD-SHELL","curl -f localhost:7000"],"intervalSeconds":null,"timeoutSeconds":null,"startPeriodSeconds":null,"retries":null}); '
          + `environment variables LD_LIBRARY_PATH; the chart's ports, user, probes and environment come from linux/arm64 (image index ${indexDigest} has no linux/amd64), and a node of another platform runs its own image with them`);
        expect(outcome.summary.validationNotes).toContain(note);
      });

      it('says so when linux/amd64 is the platform taken too: the other platforms\' nodes still run the chart made from its config', async () => {
        const { entries } = layoutOf([s390xEntry, both[1]!], [...s390xEntries.slice(2), ...amdEntries.slice(2)]);
        const outcome = accepted(await validate(entries));
        expect(outcome.summary.architecture).toBe('amd64');
        const note = outcome.notes.find((text) => text.includes('differ in what the chart is made from'));
        expect(note).toMatch(/: exposed ports \(linux\/s390x: 7000\/tcp; linux\/amd64: 8080\/tcp, 9090\/udp\); user /);
        expect(note).toMatch(/come from linux\/amd64, and a node of another platform/);
      });

      it('says nothing when only what the chart does not read differs (entrypoint, labels), nor for a platform not kept', async () => {
        const relabelled = await buildImage({ ...spec, architecture: 's390x', layers: [{ files: { 's390x': 'yes' } }], runConfig: { ...spec.runConfig, Entrypoint: ['/app/billing-s390x'], Labels: { arch: 's390x' } } });
        const relabelledEntries = ociEntries(relabelled);
        const { entries } = layoutOf([both[0]!, entryOf(relabelledEntries[2]!.data!, { os: 'linux', architecture: 's390x' })], [...armEntries.slice(2), ...relabelledEntries.slice(2)]);
        expect(accepted(await validate(entries)).notes.join(' ')).not.toMatch(/differ in what the chart is made from/);
        // Only arm64 in the archive: the image is that one platform, whose chart fits it.
        const { entries: armOnly } = layoutOf([both[0]!, s390xEntry], armEntries.slice(2));
        const one = accepted(await validate(armOnly));
        expect(one.summary.index).toBeNull();
        expect(one.notes.join(' ')).not.toMatch(/differ in what the chart is made from/);
      });
    });

    it('says so when it lists one platform for two different images (found by a probe: it passed without a word)', async () => {
      const other = await buildImage({ ...spec, layers: [{ files: { 'other': 'amd64 too' } }] });
      const otherEntries = ociEntries(other);
      const otherManifest = otherEntries[2]!.data!;
      const twice = [entryOf(amdManifest, { os: 'linux', architecture: 'amd64' }), entryOf(otherManifest, { os: 'linux', architecture: 'amd64' })];
      const { entries } = layoutOf(twice, [...amdEntries.slice(2), ...otherEntries.slice(2)]);
      const outcome = accepted(await validate(entries));
      expect(outcome.notes.join(' ')).toContain(`linux/amd64 for 2 different images (${sha256(amdManifest)}, ${sha256(otherManifest)}): a runtime runs the first one listed`);
    });

    it('is kept whole when index.json also lists the index\'s own platform manifests, as oras copy --to-oci-layout writes it, or tags one of them too (found by a probe: BAD_MANIFEST)', async () => {
      const { entries, indexDigest } = layoutOf(both, [...amdEntries.slice(2), ...armEntries.slice(2)]);
      const listed = JSON.parse(entries[1]!.data!.toString('utf8')) as { manifests: object[] };
      const asOras = { ...listed, manifests: [...listed.manifests, ...both.map((entry) => ({ ...entry, artifactType: 'application/vnd.oci.image.config.v1+json' }))] };
      const tagged = { ...listed, manifests: [...listed.manifests, { ...both[1]!, annotations: { 'org.opencontainers.image.ref.name': 'amd' } }] };
      for (const layout of [asOras, tagged]) {
        const outcome = accepted(await validate([entries[0]!, { name: 'index.json', data: Buffer.from(JSON.stringify(layout)) }, ...entries.slice(2)]));
        expect(outcome.summary).toMatchObject({ architecture: 'amd64', manifestDigest: sha256(amdManifest), repoTags: ['multi'] });
        expect(outcome.summary.index?.digest).toBe(indexDigest);
        expect(outcome.notes.join(' ')).toMatch(/index\.json also lists \d manifest\(s\) that an image index it lists holds/);
      }
      // Manifests of no index listed there are still other images.
      const stranger = { ...listed, manifests: [both[0]!, both[1]!, { ...both[1]!, digest: sha256(Buffer.from('other')) }] };
      expect(await validate([entries[0]!, { name: 'index.json', data: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [listed.manifests[0]!, stranger.manifests[2]!] })) }, ...entries.slice(2)]))
        .toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST' });
    });

    it('keeps the inner index of an index that lists only another, and says so (found by a probe: the outer one was passed over silently)', async () => {
      const { entries, indexDigest } = layoutOf(both, [...amdEntries.slice(2), ...armEntries.slice(2)]);
      const inner = entries[2]!.data!;
      const indexType = 'application/vnd.oci.image.index.v1+json';
      const outer = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: indexType, manifests: [{ mediaType: indexType, digest: indexDigest, size: inner.length }] }));
      const listed = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: indexType, digest: sha256(outer), size: outer.length }] }));
      const outcome = accepted(await validate([entries[0]!, { name: 'index.json', data: listed }, blob(outer), ...entries.slice(2)]));
      expect(outcome.summary.index?.digest).toBe(indexDigest);
      expect(outcome.notes.join(' ')).toContain(`image index ${sha256(outer)} lists another image index, ${indexDigest}; that inner one is the image kept`);
    });

    it('keeps an index of one platform as the index (buildx --platform linux/amd64 --push, ko): its digest is what the tag names and signatures are about', async () => {
      const { entries, indexDigest } = layoutOf([both[1]!], amdEntries.slice(2));
      const outcome = accepted(await validate(entries));
      expect(outcome.summary).toMatchObject({ architecture: 'amd64', manifestDigest: sha256(amdManifest), repoTags: ['multi'] });
      expect(outcome.summary.index?.digest).toBe(indexDigest);
      expect(outcome.summary.index?.manifests.map((entry) => `${entry.os}/${entry.architecture}`)).toEqual(['linux/amd64']);
    });

    it('is the whole index in a docker save of the containerd image store holding every platform, described by the platform manifest.json names (arm64 on a Mac)', async () => {
      const { entries, indexDigest } = layoutOf(both, [...amdEntries.slice(2), ...armEntries.slice(2)]);
      const manifestJson = Buffer.from(JSON.stringify([{
        Config: blob(arm.config.bytes).name, RepoTags: ['billing-api:1.0.0'], Layers: arm.layers.map((layer) => blob(layer.bytes).name),
      }]));
      const outcome = accepted(await validate([...entries, { name: 'manifest.json', data: manifestJson }]));
      expect(outcome.summary).toMatchObject({ format: 'DOCKER_ARCHIVE', architecture: 'arm64', manifestDigest: sha256(armManifest), repoTags: ['billing-api:1.0.0'] });
      expect(outcome.summary.index?.digest).toBe(indexDigest);
      expect(outcome.summary.index?.manifests.map((entry) => entry.architecture)).toEqual(['arm64', 'amd64']);
    });

    it('is one platform when the archive holds only that one (docker save keeps the whole index but the local platform\'s blobs)', async () => {
      const { entries } = layoutOf(both, armEntries.slice(2));
      const armOnly = accepted(await validate(entries));
      expect(armOnly.summary.architecture).toBe('arm64');
      expect(armOnly.summary.index).toBeNull();
      expect(armOnly.notes.join(' ')).toMatch(/1 not in the archive\); validated linux\/arm64 \(no linux\/amd64 in the archive\), the only platform kept/);
      // Carried with the image, for ViewPort to show why only one platform is there.
      expect(armOnly.summary.validationNotes).toEqual(armOnly.notes);
      // Its manifest there, one layer missing: still not the whole index.
      const { entries: partial } = layoutOf(both, [...amdEntries.slice(2), ...armEntries.slice(2).filter((entry) => entry.name !== blob(arm.layers[0]!.bytes).name)]);
      expect(accepted(await validate(partial)).summary.index).toBeNull();
    });

    it('passes on what the registry pull noted on index.json about the platform it took', async () => {
      const note = 'registry.test/team/app:1 is an image index of linux/amd64, linux/arm64; only linux/amd64 was pulled, because its platforms\' blobs add up to 9 bytes, over the limit of 8';
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(amdManifest), size: amdManifest.length, annotations: { 'dev.orbit.pull-note': note } }] }));
      const outcome = accepted(await validate([amdEntries[0]!, { name: 'index.json', data: index }, ...amdEntries.slice(2)]));
      expect(outcome.summary.validationNotes).toEqual([note]);
    });

    it('is one platform when the index also lists an artifact (a Helm chart), which is no platform to validate', async () => {
      const chartConfig = Buffer.from('{"name":"app","version":"1.0.0"}');
      const chartLayer = Buffer.alloc(64, 5);
      const chart = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: sha256(chartConfig), size: chartConfig.length },
        layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: sha256(chartLayer), size: chartLayer.length }],
      }));
      const { entries } = layoutOf([entryOf(chart, { os: 'linux', architecture: 'arm64' }), both[1]!], [...amdEntries.slice(2), blob(chart), blob(chartConfig), blob(chartLayer)]);
      const outcome = accepted(await validate(entries));
      expect(outcome.summary).toMatchObject({ architecture: 'amd64', manifestDigest: sha256(amdManifest), index: null });
    });

    it('refuses it when another platform\'s layers do not match its config, or its config names another platform than the index', async () => {
      const wrongLayer = await buildImage({ ...spec, architecture: 'arm64', layers: [{ files: { 'arm': 'no' } }] });
      // arm's manifest and config, with the layer of another image under arm's layer digest's name: caught by its digest.
      const swapped = armEntries.slice(2).map((entry) => (entry.name === blob(arm.layers[0]!.bytes).name ? { name: entry.name, data: wrongLayer.layers[0]!.bytes } : entry));
      const mismatched = await validate(layoutOf(both, [...amdEntries.slice(2), ...swapped]).entries);
      expect(mismatched).toMatchObject({ ok: false, reasonCode: 'DIGEST_MISMATCH' });
      expect(mismatched.ok ? '' : mismatched.message).toMatch(/manifest sha256:[0-9a-f]{64} \(linux\/arm64\)/);

      const mislabelled = [entryOf(armManifest, { os: 'linux', architecture: 's390x' }), both[1]!];
      const outcome = await validate(layoutOf(mislabelled, [...amdEntries.slice(2), ...armEntries.slice(2)]).entries);
      expect(outcome).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST' });
      expect(outcome.ok ? '' : outcome.message).toMatch(/listed as linux\/s390x but its config says linux\/arm64/);
    });

    it('keeps a BuildKit attestation inside the index, checking its blobs by digest only', async () => {
      const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2' }));
      const attestationConfig = Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(statement)] } }));
      const attestation = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(attestationConfig), size: attestationConfig.length },
        layers: [{ mediaType: 'application/vnd.in-toto+json', digest: sha256(statement), size: statement.length }],
      }));
      const platforms = [...both, entryOf(attestation, { os: 'unknown', architecture: 'unknown' }, { annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': sha256(amdManifest) } })];
      const { entries, indexDigest } = layoutOf(platforms, [...amdEntries.slice(2), ...armEntries.slice(2), blob(attestation), blob(attestationConfig), blob(statement)]);
      const outcome = accepted(await validate(entries));
      expect(outcome.summary.index?.digest).toBe(indexDigest);
      expect(outcome.summary.index?.manifests[2]).toEqual({
        digest: sha256(attestation), mediaType: 'application/vnd.oci.image.manifest.v1+json', sizeBytes: attestation.length, os: '', architecture: '', variant: null, attestation: true,
        configDigest: sha256(attestationConfig), blobs: [{ digest: sha256(statement), sizeBytes: statement.length }],
      });
      const tampered = [...amdEntries.slice(2), ...armEntries.slice(2), blob(attestation), blob(attestationConfig), { name: blob(statement).name, data: Buffer.from('{"tampered":true}') }];
      expect(await validate(layoutOf(platforms, tampered).entries)).toMatchObject({ ok: false, reasonCode: 'DIGEST_MISMATCH' });
    });

    it('passes over an artifact listed beside the image (regctl index create --ref), as the registry pull does: the image alone, the artifact named', async () => {
      const artifact = artifactOf('application/vnd.example+json', '{"a":1}');
      const artifactEntry = artifact.entry;
      const extra = artifact.blobs;
      const outcome = accepted(await validate(layoutOf([entryOf(amdManifest, { os: 'linux', architecture: 'amd64' }), artifactEntry], [...amdEntries.slice(2), ...extra]).entries));
      expect(outcome.summary.manifestDigest).toBe(sha256(amdManifest));
      expect(outcome.summary.index).toBeNull();
      expect(outcome.notes.join(' ')).toContain(`${artifact.entry.digest}, an artifact (config media type application/vnd.oci.empty.v1+json): not a platform`);

      const alone = await validate(layoutOf([artifactEntry], extra).entries);
      expect(alone).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST' });
      expect(alone.ok ? '' : alone.message).toMatch(/lists only artifacts, not a container image \(config media type application\/vnd\.oci\.empty\.v1\+json\)/);
    });

    it('takes a referrer about a platform the archive does not hold (an SBOM of the arm64 image beside an amd64-only archive): it is still about this image', async () => {
      const { entries } = layoutOf(both, [...amdEntries.slice(2)]);
      const sbom = artifactOf('application/spdx+json', '{"spdxVersion":"SPDX-2.3"}', armManifest);
      const index = JSON.parse(entries[1]!.data!.toString()) as { manifests: object[] };
      index.manifests.push(sbom.entry);
      const outcome = accepted(await validate([entries[0]!, { name: 'index.json', data: Buffer.from(JSON.stringify(index)) }, ...entries.slice(2), ...sbom.blobs]));
      expect(outcome.summary.manifestDigest).toBe(sha256(amdManifest));
      expect(outcome.summary.index).toBeNull();
      expect(outcome.notes.join(' ')).toMatch(/also lists a referrer of the image \(application\/spdx\+json\), checked by digest, kept in the stored archive and not pushed to the registry: they are about manifests it does not get/);
      // Its subject, the arm64 manifest, is never pushed: the referrer would name nothing there.
      expect(outcome.summary.referrers).toBeNull();
    });
  });

  it('skips BuildKit\'s attestation manifest in an index (unknown/unknown), even when it is listed first', async () => {
    const arm = await buildImage({ ...spec, architecture: 'arm64', layers: [{ files: { 'arm': 'yes' } }] });
    const armEntries = ociEntries(arm);
    // What buildx attaches: an in-toto statement as the "layer" of a manifest for platform unknown/unknown.
    const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2' }));
    const attestationConfig = Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(statement)] } }));
    const attestation = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(attestationConfig), size: attestationConfig.length },
      layers: [{ mediaType: 'application/vnd.in-toto+json', digest: sha256(statement), size: statement.length, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
    }));
    const armManifest = armEntries[2]!.data!;
    const index = buildxIndexWithAttestationFirst({ digest: sha256(armManifest), size: armManifest.length }, { digest: sha256(attestation), size: attestation.length });
    const blob = (bytes: Buffer): TarEntry => ({ name: `blobs/sha256/${sha256(bytes).slice(7)}`, data: bytes });
    const outcome = accepted(await validate([armEntries[0]!, { name: 'index.json', data: index }, ...armEntries.slice(2), blob(attestation), blob(attestationConfig), blob(statement)]));
    expect(outcome.summary.architecture).toBe('arm64');
    expect(outcome.summary.manifestDigest).toBe(sha256(armManifest));
    expect(outcome.notes.join(' ')).toMatch(/lists an attestation, linux\/arm64; validated linux\/arm64/);
  });

  describe('OCI 1.1 referrers listed beside the image (oras cp -r, regctl --referrers)', () => {
    const entries = ociEntries(image, { tags: ['1.0.0'] });
    const imageManifest = entries[2]!.data!;
    const sbom = artifactOf('application/spdx+json', '{"spdxVersion":"SPDX-2.3"}', imageManifest);
    const signature = artifactOf('application/vnd.cncf.notary.signature', 'signed', sbom.manifest);
    const layoutWith = (listed: readonly object[], extra: readonly TarEntry[]): TarEntry[] => {
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: listed }));
      return [entries[0]!, { name: 'index.json', data: index }, ...entries.slice(2), ...extra];
    };
    const imageEntry = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(imageManifest), size: imageManifest.length, annotations: { 'org.opencontainers.image.ref.name': '1.0.0' } };

    it('validates the image and keeps its SBOM and the SBOM\'s signature, saying so', async () => {
      for (const listed of [[imageEntry, sbom.entry, signature.entry], [signature.entry, sbom.entry, imageEntry]]) {
        const outcome = accepted(await validate(layoutWith(listed, [...sbom.blobs, ...signature.blobs])));
        expect(outcome.summary.manifestDigest).toBe(sha256(imageManifest));
        expect(outcome.summary.repoTags).toEqual(['1.0.0']);
        expect(outcome.summary.index).toBeNull();
        expect(outcome.notes).toEqual(['index.json also lists 2 referrers of the image (application/spdx+json, application/vnd.cncf.notary.signature), checked by digest, kept in the stored archive and pushed to the registry after the image']);
        // Whatever order index.json lists them in, each is pushed after what it is about.
        expect(outcome.summary.referrers).toEqual([sbom.pushed(imageManifest), signature.pushed(sbom.manifest)]);
      }
    });

    it('pushes at most 64 referrers (they travel in the image\'s events), keeping the rest in the archive and saying so', async () => {
      const many = Array.from({ length: 70 }, (_, at) => artifactOf('application/spdx+json', `sbom ${at}`, imageManifest));
      const outcome = accepted(await validate(layoutWith([imageEntry, ...many.map((one) => one.entry)], many.flatMap((one) => one.blobs))));
      expect(outcome.summary.referrers).toHaveLength(64);
      expect(outcome.notes).toEqual([expect.stringMatching(/^index\.json also lists 70 referrers of the image .*; only the first 64 are pushed, 6 more stay in the archive only$/)]);
    });

    it('reads the referrers tag scheme regctl image copy --referrers writes into an OCI layout: an index tagged sha256-<image hex> listing them', async () => {
      const tagIndex = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [sbom.entry, signature.entry] }));
      const tagEntry = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(tagIndex), size: tagIndex.length, annotations: { 'org.opencontainers.image.ref.name': `sha256-${sha256(imageManifest).slice(7)}` } };
      const outcome = accepted(await validate(layoutWith([tagEntry, imageEntry], [blobOf(tagIndex), ...sbom.blobs, ...signature.blobs])));
      expect(outcome.summary.manifestDigest).toBe(sha256(imageManifest));
      expect(outcome.summary.repoTags).toEqual(['1.0.0']);
      expect(outcome.notes).toEqual([expect.stringMatching(/^index\.json also lists 2 referrers of the image/)]);
      // The tag-scheme index itself is not pushed: the harbor-writer lists the referrers the way the registry it pushes to wants.
      expect(outcome.summary.referrers?.map((referrer) => referrer.digest)).toEqual([sbom.entry.digest, signature.entry.digest]);

      // Tagged so, but listing an image rather than referrers: two images, as before.
      const notReferrers = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [imageEntry] }));
      const posing = await validate(layoutWith([{ ...tagEntry, digest: sha256(notReferrers), size: notReferrers.length }, imageEntry], [blobOf(notReferrers)]));
      expect(posing).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST' });
    });

    it('reads cosign\'s tag scheme (sha256-<image hex>.sig, copied by regctl image copy --digest-tags): a signature of the image, though it names no subject', async () => {
      const simpleSigning = Buffer.from(JSON.stringify({ critical: { image: { 'docker-manifest-digest': sha256(imageManifest) }, type: 'cosign container image signature' } }));
      const sigConfig = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(simpleSigning)] } }));
      const sig = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(sigConfig), size: sigConfig.length },
        layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: sha256(simpleSigning), size: simpleSigning.length, annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ…' } }],
      }));
      const tagged = (hex: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(sig), size: sig.length, annotations: { 'org.opencontainers.image.ref.name': `sha256-${hex}.sig` } });
      const sigBlobs = [blobOf(sig), blobOf(sigConfig), blobOf(simpleSigning)];
      const outcome = accepted(await validate(layoutWith([tagged(sha256(imageManifest).slice(7)), imageEntry], sigBlobs)));
      expect(outcome.summary.manifestDigest).toBe(sha256(imageManifest));
      expect(outcome.summary.repoTags).toEqual(['1.0.0']);
      expect(outcome.notes).toEqual([expect.stringMatching(/^index\.json also lists a referrer of the image \(cosign signature\)/)]);
      expect(outcome.summary.referrers).toEqual([{
        digest: sha256(sig), mediaType: 'application/vnd.oci.image.manifest.v1+json', sizeBytes: sig.length, artifactType: 'application/vnd.oci.image.config.v1+json',
        subject: sha256(imageManifest), tag: `sha256-${sha256(imageManifest).slice(7)}.sig`,
        blobs: [{ digest: sha256(sigConfig), sizeBytes: sigConfig.length }, { digest: sha256(simpleSigning), sizeBytes: simpleSigning.length }],
      }]);

      const ofAnother = await validate(layoutWith([tagged('0'.repeat(64)), imageEntry], sigBlobs));
      expect(ofAnother).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST' });
      expect(ofAnother.ok ? '' : ofAnother.message).toMatch(/\(cosign signature\), a referrer of sha256:0{64}, which is not the image in this archive/);
    });

    it('refuses a referrer of another image, a referrer whose blob was altered, and referrers without their image', async () => {
      const other = artifactOf('application/spdx+json', 'other', Buffer.from('another image'));
      const stray = await validate(layoutWith([imageEntry, other.entry], other.blobs));
      expect(stray).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST' });
      expect(stray.ok ? '' : stray.message).toMatch(new RegExp(`lists ${other.entry.digest} \\(application/spdx\\+json\\), a referrer of sha256:[0-9a-f]{64}, which is not the image in this archive`));

      const altered = [sbom.blobs[0]!, { name: sbom.blobs[1]!.name, data: Buffer.from('{"spdxVersion":"forged"}') }, sbom.blobs[2]!];
      const tampered = await validate(layoutWith([imageEntry, sbom.entry], altered));
      expect(tampered).toMatchObject({ ok: false, reasonCode: 'DIGEST_MISMATCH' });
      expect(tampered.ok ? '' : tampered.message).toMatch(/referrer sha256:[0-9a-f]{64} \(application\/spdx\+json\)'s blob/);

      // A whole runnable image claiming a subject would ride along unvalidated.
      const posing = Buffer.from(JSON.stringify({ ...JSON.parse(imageManifest.toString()) as object, subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(imageManifest), size: imageManifest.length } }));
      const imagePosing = await validate(layoutWith([imageEntry, { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(posing), size: posing.length }], [blobOf(posing)]));
      expect(imagePosing).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST' });
      expect(imagePosing.ok ? '' : imagePosing.message).toMatch(/is a runnable image \(an image config and filesystem layers\), not a signature/);

      // A referrer a registry would refuse (a size written 2.0): refused here, not after the image was pushed.
      const sbomText = sbom.blobs[0]!.data!.toString();
      const respelled = Buffer.from(sbomText.replace(/"size":(\d+)\}/, '"size":$1.0}'));
      expect(respelled.toString()).not.toBe(sbomText);
      const goUnreadable = await validate(layoutWith([imageEntry, { ...sbom.entry, digest: sha256(respelled), size: respelled.length }], [blobOf(respelled), ...sbom.blobs.slice(1)]));
      expect(goUnreadable).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST' });
      expect(goUnreadable.ok ? '' : goUnreadable.message).toMatch(/referrer sha256:[0-9a-f]{64} \(application\/spdx\+json\): (config|layers\[\d+\]|subject)\.size is written \d+\.0/);

      const alone = await validate(layoutWith([sbom.entry], sbom.blobs));
      expect(alone).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST' });
      expect(alone.ok ? '' : alone.message).toMatch(/lists only referrers/);
      // A runnable image naming a subject, alone (mutate.Subject, a registry pull of one): said as that, not as what index.json lists (found by a probe).
      const subjectAlone = await validate(layoutWith([{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(posing), size: posing.length }], [blobOf(posing)]));
      expect(subjectAlone).toMatchObject({ ok: false, reasonCode: 'BAD_MANIFEST' });
      expect(subjectAlone.ok ? '' : subjectAlone.message).toMatch(/names a subject \(sha256:[0-9a-f]{64}\): a manifest with a subject is a referrer of that image/);
    });
  });

  it('refuses a blob the image does not use whose bytes are not what its name says, and keeps one that is (found by a probe: stored and served unchecked)', async () => {
    const entries = ociEntries(image);
    const spare = Buffer.from('spare blob');
    accepted(await validate([...entries, blobOf(spare)]));
    const misnamed = await validate([...entries, { name: `blobs/sha256/${sha256(Buffer.from('something else')).slice(7)}`, data: spare }]);
    expect(misnamed).toMatchObject({ ok: false, reasonCode: 'DIGEST_MISMATCH', message: expect.stringContaining('every blob in the archive is checked') });
  });

  it('accepts the same blob twice when both copies are identical', async () => {
    const entries = ociEntries(image);
    accepted(await validate([...entries, entries[3]!]));
  });

  it('follows docker\'s own layer.tar symlink for a repeated layer (docker save before 25)', async () => {
    const repeated = await buildImage({ layers: [spec.layers[0]!, spec.layers[0]!] });
    const entries = legacyDockerEntries(repeated);
    // entries: dir, VERSION, layer.tar for each layer, then config and manifest.json
    const [firstLayer, secondLayer] = [entries[2]!, entries[5]!];
    const linked = entries.map((entry) => (entry === secondLayer ? { name: secondLayer.name, type: 'symlink' as const, linkname: `../${firstLayer.name}` } : entry));
    const outcome = accepted(await validate(linked));
    expect(outcome.summary.layers.map((layer) => layer.diffId)).toEqual([repeated.layers[0]!.diffId, repeated.layers[0]!.diffId]);
  });

  it('accepts links that stay inside the archive and are not used as blobs', async () => {
    const entries = legacyDockerEntries(image);
    accepted(await validate([...entries, { name: 'extra/layer.tar', type: 'symlink', linkname: '../manifest.json' }]));
  });

  it.skipIf(spawnSync('tar', ['--version']).status !== 0)('reads a tar written in the pre-POSIX v7 format (tar --format=v7), as GNU tar, skopeo and crane do (found by a probe)', async () => {
    const image = await buildImage(spec);
    const folder = mkdtempSync(join(tmpdir(), 'orbit-v7-'));
    try {
      const names = ociEntries(image).map((entry) => {
        mkdirSync(dirname(join(folder, entry.name)), { recursive: true });
        writeFileSync(join(folder, entry.name), entry.data ?? Buffer.alloc(0));
        return entry.name;
      });
      execFileSync('tar', ['--format=v7', '-C', folder, '-cf', join(folder, 'image.tar'), ...names]);
      const v7 = readFileSync(join(folder, 'image.tar'));
      expect(v7.subarray(257, 262).toString('latin1')).not.toBe('ustar');
      const outcome = accepted(await validateArchive(streamOf(v7, 7_001), DEFAULT_VALIDATION_LIMITS));
      expect(outcome.summary.layers.map((layer) => layer.diffId)).toEqual(image.layers.map((layer) => layer.diffId));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('does not count uncompressed layers whose first file name starts with "[" or "{" as JSON kept in memory (a valid image was TOO_LARGE; found by a probe)', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const layers = Array.from({ length: 7 }, (_, index) => ({ files: { [`[data-${index}].bin`]: big } }));
    const outcome = accepted(await validateArchive(streamOf(await archiveOf(ociEntries(await buildImage({ layers }))), 64 * 1024), DEFAULT_VALIDATION_LIMITS));
    expect(outcome.summary.layers).toHaveLength(7);
  });
});
