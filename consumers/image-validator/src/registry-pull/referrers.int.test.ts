import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { createReadStream, createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@orbit/lib';
import { orasBinary, regctlBinary } from '../../../../test/helpers/image-tools.js';
import { buildImage, type BuiltImage } from '../../../../test/helpers/images.js';
import { startRegistry, type RegistryServer, type TestRegistry } from '../../../../test/helpers/registry.js';
import { DEFAULT_VALIDATION_LIMITS, validateArchive } from '../archive/index.js';
import { pullAsOciArchive } from './pull.js';

const RUN: ExecFileSyncOptions = { stdio: ['ignore', 'pipe', 'pipe'] };

let image: BuiltImage;
let oras: string;
let regctl: string;

beforeAll(() => {
  image = buildImage({ name: 'team/app', tag: 'v1', layers: [{ files: { 'app/run': '#!/bin/sh\necho hi\n' } }] });
  oras = orasBinary();
  regctl = regctlBinary();
}, 600_000);

afterAll(() => image.cleanup());

/** `oras attach` of one file to `subject`, answering the referrer's digest. */
function attach(subject: string, artifactType: string, name: string, content: string): string {
  writeFileSync(join(image.dir, name), content);
  const out = execFileSync(oras, ['attach', '--plain-http', '--format', 'json', '--artifact-type', artifactType, subject, `${name}:${artifactType}`], { cwd: image.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return (JSON.parse(out) as { digest: string }).digest;
}

describe.each<[RegistryServer, string]>([
  ['docker-registry', 'docker-registry 2.8, which oras fills through the referrers tag scheme'],
  ['referrers-api', 'a registry with the referrers API'],
])('an image named by reference comes with its referrers (%s)', (server, how) => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ server });
  }, 300_000);
  afterAll(async () => registry.stop());

  it(`brings the SBOM oras attached, the signature of that SBOM and cosign's tagged signature into the pulled archive, which validates with them listed in push order (${how})`, async () => {
    const repository = `${registry.address}/team/signed`;
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', image.layoutRef, `docker://${repository}:v1`], RUN);
    const imageDigest = execFileSync(regctl, ['--host', `reg=${registry.address},tls=disabled`, 'image', 'digest', `${repository}:v1`], { encoding: 'utf8' }).trim();
    const sbom = attach(`${repository}:v1`, 'application/spdx+json', 'sbom.spdx.json', '{"spdxVersion":"SPDX-2.3"}');
    const signature = attach(`${repository}@${sbom}`, 'application/vnd.cncf.notary.signature', 'sbom.sig', 'signed');
    const payload = join(image.dir, 'simplesigning.json');
    writeFileSync(payload, JSON.stringify({ critical: { image: { 'docker-manifest-digest': imageDigest }, type: 'cosign container image signature' } }));
    const sigConfig = join(image.dir, 'sig-config.json');
    writeFileSync(sigConfig, JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [] } }));
    const cosignTag = `sha256-${imageDigest.slice(7)}.sig`;
    execFileSync(regctl, ['--host', `reg=${registry.address},tls=disabled`, 'artifact', 'put', '--config-type', 'application/vnd.oci.image.config.v1+json', '--config-file', sigConfig,
      '--file', payload, '--file-media-type', 'application/vnd.dev.cosign.simplesigning.v1+json', `${repository}:${cosignTag}`], RUN);
    const cosign = execFileSync(regctl, ['--host', `reg=${registry.address},tls=disabled`, 'image', 'digest', `${repository}:${cosignTag}`], { encoding: 'utf8' }).trim();
    let gone: string | undefined;
    if (server === 'docker-registry') {
      // A referrer deleted after the tag-scheme index listed it: the listing is stale, and the pull must not fail for it.
      gone = attach(`${repository}:v1`, 'application/vnd.cyclonedx+json', 'old.cdx.json', '{"bomFormat":"CycloneDX"}');
      expect((await fetch(`http://${registry.address}/v2/team/signed/manifests/${gone}`, { method: 'DELETE' })).status).toBe(202);
    }

    const client = new RegistryClient({ registry: registry.address, repository: 'team/signed', insecure: true });
    const file = join(image.dir, `pulled-${server}.tar`);
    const sink = createWriteStream(file);
    const pulled = await pullAsOciArchive(client, { tag: 'v1', digest: null, maxBytes: 1024 ** 3 }, sink);
    await finished(sink);
    expect(pulled.manifestDigest).toBe(imageDigest);
    const outcome = await validateArchive(createReadStream(file), DEFAULT_VALIDATION_LIMITS);
    if (!outcome.ok) throw new Error(`${outcome.reasonCode}: ${outcome.message}`);
    const referrers = outcome.summary.referrers ?? [];
    expect(referrers.map((referrer) => referrer.digest).sort()).toEqual([sbom, signature, cosign].sort());
    expect(referrers.findIndex((referrer) => referrer.digest === signature)).toBeGreaterThan(referrers.findIndex((referrer) => referrer.digest === sbom));
    expect(referrers.find((referrer) => referrer.digest === cosign)).toMatchObject({ subject: imageDigest, tag: cosignTag });
    expect(referrers.find((referrer) => referrer.digest === signature)).toMatchObject({ subject: sbom, artifactType: 'application/vnd.cncf.notary.signature' });
    if (gone !== undefined) expect(outcome.notes).toContainEqual(expect.stringMatching(/1 more referrer listed at the registry was left there/));
  }, 120_000);
});

it('brings the referrers of each platform of a multi-platform image (an SBOM per platform, cosign sign --recursive) along with the index\'s own', async () => {
  const registry = await startRegistry();
  const arm = buildImage({ name: 'team/app', tag: 'v1', architecture: 'arm64', layers: [{ files: { 'app/run': '#!/bin/sh\necho arm\n' } }] });
  try {
    const repository = `${registry.address}/team/multi`;
    const host = ['--host', `reg=${registry.address},tls=disabled`];
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', image.layoutRef, `docker://${repository}:amd64`], RUN);
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', arm.layoutRef, `docker://${repository}:arm64`], RUN);
    execFileSync(regctl, [...host, 'index', 'create', `${repository}:1`, '--ref', `${repository}:amd64`, '--ref', `${repository}:arm64`], RUN);
    const digestOf = (tag: string): string => execFileSync(regctl, [...host, 'image', 'digest', `${repository}:${tag}`], { encoding: 'utf8' }).trim();
    const armSbom = attach(`${repository}@${digestOf('arm64')}`, 'application/spdx+json', 'arm.spdx.json', '{"name":"arm"}');
    const indexSignature = attach(`${repository}:1`, 'application/vnd.cncf.notary.signature', 'index.sig', 'signed index');

    const client = new RegistryClient({ registry: registry.address, repository: 'team/multi', insecure: true });
    const file = join(image.dir, 'pulled-multi.tar');
    const sink = createWriteStream(file);
    expect((await pullAsOciArchive(client, { tag: '1', digest: null, maxBytes: 1024 ** 3 }, sink)).manifestDigest).toBe(digestOf('1'));
    await finished(sink);
    const outcome = await validateArchive(createReadStream(file), DEFAULT_VALIDATION_LIMITS);
    if (!outcome.ok) throw new Error(`${outcome.reasonCode}: ${outcome.message}`);
    expect(outcome.summary.index?.digest).toBe(digestOf('1'));
    expect(outcome.summary.referrers?.map((referrer) => [referrer.digest, referrer.subject]).sort()).toEqual([[armSbom, digestOf('arm64')], [indexSignature, digestOf('1')]].sort());
  } finally {
    arm.cleanup();
    await registry.stop();
  }
}, 120_000);
