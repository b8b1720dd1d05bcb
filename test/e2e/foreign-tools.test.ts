/**
 * Images made by tools Orbit's own fixtures do not come from: Jib (how Java
 * teams build images with Maven and no Docker) and ORAS (which copies an
 * image with its SBOM and signatures, OCI 1.1 referrers, into an OCI layout).
 * Each goes in through the gateway as a user sends it and must come out
 * stored, charted and pullable from the stack's registry, with its referrers
 * beside it there.
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useWorkbench } from '../helpers/e2e-workbench.js';
import { api, readyUpload, uploadArchive, uploadReference } from '../helpers/gateway.js';
import { orasBinary, regctlBinary } from '../helpers/image-tools.js';
import { uniqueSuffix } from '../helpers/index.js';
import { pullWithSkopeo } from '../helpers/registry.js';

const USER = `e2e-tools-${uniqueSuffix()}`;
const RUN: ExecFileSyncOptions = { stdio: ['ignore', 'pipe', 'pipe'] };
const JIB_PROJECT = resolve('test/fixtures/jib/pom.xml');

function metadata(imageName: string): Record<string, unknown> {
  return { imageName, imageVersion: 'v1-0-00', imageCategory: 'e2e', port: 8080 };
}

interface VersionView {
  readonly status: string;
  readonly digest: string;
  readonly configDigest: string;
  readonly layers: readonly { digest: string }[];
  readonly imageReference: string;
  readonly validationNotes: readonly string[];
  readonly referrers?: readonly { digest: string; mediaType?: string; artifactType: string | null; subject: string; sizeBytes?: number; tag?: string }[];
}

const succeeded = (send: () => ReturnType<typeof uploadArchive>): Promise<{ imageUID: string; version: VersionView }> => readyUpload<VersionView>(USER, send);

describe('images made by Jib and ORAS', () => {
  let pushed: string;
  let pushedDigest: string;
  let pushedManifest: { config: { digest: string }; layers: { digest: string }[] };
  const bench = useWorkbench('jib', ({ registry, work }) => {
    pushed = `${registry.address}/team/jib-demo:1.0`;
    // One Maven run: the docker-format tar, then the same image pushed (Jib's default: Docker media types).
    execFileSync('mvn', [
      '-B', '-q', '-f', JIB_PROJECT, `-Djib.demo.target=${join(work, 'target')}`, `-Djib.to.image=${pushed}`, '-Djib.allowInsecureRegistries=true',
      'compile', 'jib:buildTar', 'jib:build',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    pushedDigest = pullWithSkopeo(pushed);
    pushedManifest = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${pushed}`], { encoding: 'utf8' })) as typeof pushedManifest;
  });

  it('takes jib:buildTar\'s archive (config.json, gzip layers named by digest, epoch timestamps): the chart runs it as its user, on its port, from the stack\'s registry', async () => {
    const { work } = bench;
    const archive = readFileSync(join(work, 'target', 'jib-image.tar'));
    const { imageUID, version } = await succeeded(() => uploadArchive(USER, archive, metadata(`jib-${uniqueSuffix()}`)));
    // The image Jib pushed, config and layers; the manifest is the canonical one for the archive (a docker-format tar holds none).
    expect(version.configDigest).toBe(pushedManifest.config.digest);
    expect(version.layers.map((layer) => layer.digest)).toEqual(pushedManifest.layers.map((layer) => layer.digest));
    expect(pullWithSkopeo(version.imageReference)).toBe(version.digest);
    const manifests = await api<{ items: { kind: string; spec?: { template?: { spec: { securityContext?: Record<string, unknown>; containers: { ports?: { containerPort: number }[] }[] } } } }[] }>(USER, `/v1/images/${imageUID}/versions/v1-0-00/manifests`);
    const pod = manifests.body.items.find((item) => item.kind === 'Deployment')?.spec?.template?.spec;
    expect(pod?.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000 });
    expect(pod?.containers[0]?.ports?.[0]?.containerPort).toBe(8080);
  }, 120_000);

  it('pulls what jib:build pushed, by reference', async () => {
    const { version } = await succeeded(() => uploadReference(USER, pushed, metadata(`jib-pulled-${uniqueSuffix()}`)));
    expect(version.digest).toBe(pushedDigest);
  }, 120_000);

  it('takes the image with the SBOM oras attached to it, copied by oras cp -r into an OCI layout: the image is validated and stored, and oras discover finds the SBOM at the stack\'s registry', async () => {
    const { work } = bench;
    const oras = orasBinary();
    const sbom = join(work, 'sbom.spdx.json');
    writeFileSync(sbom, JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'jib-demo' }));
    execFileSync(oras, ['attach', '--plain-http', '--artifact-type', 'application/spdx+json', pushed, 'sbom.spdx.json:application/spdx+json'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    const layout = join(work, 'layout');
    execFileSync(oras, ['cp', '-r', '--from-plain-http', pushed, '--to-oci-layout', `${layout}:1.0`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const listed = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; artifactType?: string }[] };
    expect(listed.manifests.map((entry) => entry.artifactType ?? null)).toEqual([null, 'application/spdx+json']);
    const archivePath = join(work, 'with-sbom.tar');
    execFileSync('tar', ['-C', layout, '-cf', archivePath, '.']);
    const archive = readFileSync(archivePath);

    const { version } = await succeeded(() => uploadArchive(USER, archive, metadata(`oras-${uniqueSuffix()}`)));
    expect(version.digest).toBe(pushedDigest);
    expect(version.validationNotes).toContainEqual(expect.stringMatching(/index\.json also lists a referrer of the image \(application\/spdx\+json\), checked by digest, kept in the stored archive and pushed to the registry after the image/));
    // What a signature-checking admission controller does at the registry the chart pulls from: the SBOM is found there, and pulled whole.
    const found = execFileSync(oras, ['discover', '--plain-http', '--format', 'json', version.imageReference], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const sbomDigest = listed.manifests[1]!.digest;
    expect(found).toContain(sbomDigest);
    const sbomManifest = readFileSync(join(layout, 'blobs', 'sha256', sbomDigest.slice(7)));
    const { config, layers } = JSON.parse(sbomManifest.toString('utf8')) as { config: { size: number }; layers: { size: number }[] };
    const sbomBytes = [config, ...layers].reduce((total, blob) => total + blob.size, sbomManifest.length);
    expect(version.referrers).toEqual([{ digest: sbomDigest, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/spdx+json', subject: pushedDigest, sizeBytes: sbomBytes }]);
    const pulledTo = join(work, 'sbom-pulled');
    execFileSync(oras, ['pull', '--plain-http', '-o', pulledTo, `${version.imageReference.split('@')[0]!}@${sbomDigest}`], RUN);
    expect(JSON.parse(readFileSync(join(pulledTo, 'sbom.spdx.json'), 'utf8'))).toEqual({ spdxVersion: 'SPDX-2.3', name: 'jib-demo' });
  }, 240_000);

  it('takes what regctl writes: the image with an SBOM and a cosign-style signature (copy --referrers --digest-tags into an OCI layout), both found by regctl at the stack\'s registry (and brought along when the image is named by reference), and an index listing an artifact beside it (index create, image export)', async () => {
    const { registry, work } = bench;
    const regctl = regctlBinary();
    const host = ['--host', `reg=${registry.address},tls=disabled`];
    const repository = `${registry.address}/team/jib-regctl`;
    execFileSync(regctl, [...host, 'image', 'copy', pushed, `${repository}:1.0`], RUN);
    const sbom = join(work, 'regctl-sbom.json');
    writeFileSync(sbom, JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'jib-regctl' }));
    execFileSync(regctl, [...host, 'artifact', 'put', '--artifact-type', 'application/spdx+json', '--file', sbom, '--file-media-type', 'application/spdx+json', '--subject', `${repository}:1.0`], RUN);
    // cosign's older scheme: a manifest tagged sha256-<image hex>.sig whose config is an image config.
    const signed = join(work, 'simplesigning.json');
    writeFileSync(signed, JSON.stringify({ critical: { image: { 'docker-manifest-digest': pushedDigest }, type: 'cosign container image signature' } }));
    const sigConfig = join(work, 'sig-config.json');
    writeFileSync(sigConfig, JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [] } }));
    execFileSync(regctl, [...host, 'artifact', 'put', '--config-type', 'application/vnd.oci.image.config.v1+json', '--config-file', sigConfig,
      '--file', signed, '--file-media-type', 'application/vnd.dev.cosign.simplesigning.v1+json', `${repository}:sha256-${pushedDigest.slice(7)}.sig`], RUN);
    const layout = join(work, 'regctl-layout');
    execFileSync(regctl, [...host, 'image', 'copy', '--referrers', '--digest-tags', `${repository}:1.0`, `ocidir://${layout}:1.0`], RUN);
    const withReferrers = join(work, 'regctl-referrers.tar');
    execFileSync('tar', ['-C', layout, '-cf', withReferrers, '.']);
    const { version } = await succeeded(() => uploadArchive(USER, readFileSync(withReferrers), metadata(`regctl-${uniqueSuffix()}`)));
    expect(version.digest).toBe(pushedDigest);
    expect(version.validationNotes).toContainEqual(expect.stringMatching(/index\.json also lists 2 referrers of the image \(application\/spdx\+json, cosign signature\)/));
    // At the stack's registry: regctl lists the SBOM as a referrer, and cosign's tag names the signature the layout held.
    const stackRepository = version.imageReference.split('@')[0]!;
    const stackHost = ['--host', `reg=${stackRepository.split('/')[0]!},tls=disabled`];
    const layoutIndex = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
    const signature = layoutIndex.manifests.find((entry) => entry.annotations?.['org.opencontainers.image.ref.name']?.endsWith('.sig'));
    expect(execFileSync(regctl, [...stackHost, 'image', 'digest', `${stackRepository}:sha256-${pushedDigest.slice(7)}.sig`], { encoding: 'utf8' }).trim()).toBe(signature?.digest);
    const referrers = execFileSync(regctl, [...stackHost, 'artifact', 'list', version.imageReference, '--format', '{{jsonPretty .}}'], { encoding: 'utf8' });
    expect(referrers).toContain('application/spdx+json');
    // The same image named by reference: its SBOM and cosign's signature come along from the registry, and are pushed beside it too.
    const byReference = await succeeded(() => uploadReference(USER, `${repository}:1.0`, metadata(`regctl-ref-${uniqueSuffix()}`)));
    expect(byReference.version.digest).toBe(pushedDigest);
    expect(byReference.version.referrers?.map((referrer) => referrer.tag ?? referrer.artifactType).sort()).toEqual(['application/spdx+json', `sha256-${pushedDigest.slice(7)}.sig`]);
    const pulledRepository = byReference.version.imageReference.split('@')[0]!;
    expect(execFileSync(regctl, [...stackHost, 'artifact', 'list', byReference.version.imageReference, '--format', '{{jsonPretty .}}'], { encoding: 'utf8' })).toContain('application/spdx+json');
    expect(execFileSync(regctl, [...stackHost, 'image', 'digest', `${pulledRepository}:sha256-${pushedDigest.slice(7)}.sig`], { encoding: 'utf8' }).trim()).toBe(signature?.digest);

    execFileSync(regctl, [...host, 'artifact', 'put', '--artifact-type', 'application/vnd.example+json', '--file', sbom, '--file-media-type', 'application/json', `${repository}:artifact`], RUN);
    execFileSync(regctl, [...host, 'index', 'create', `${repository}:mixed`, '--ref', `${repository}:1.0`, '--ref', `${repository}:artifact`], RUN);
    const exported = join(work, 'regctl-mixed.tar');
    execFileSync(regctl, [...host, 'image', 'export', `${repository}:mixed`, exported], RUN);
    const mixed = await succeeded(() => uploadArchive(USER, readFileSync(exported), metadata(`regctl-mixed-${uniqueSuffix()}`)));
    expect(mixed.version.digest).toBe(pushedDigest);
    expect(mixed.version.validationNotes).toContainEqual(expect.stringMatching(/an artifact \(config media type application\/vnd\.oci\.empty\.v1\+json\): not a platform/));
  }, 240_000);
});
