/**
 * An environment with a registry (here a project) of its own,
 * ORBIT_ENVIRONMENT_REGISTRIES: a transfer pushes the image there from the
 * target's copy, the target's manifests pin it there by the same digest, its
 * Helm repository serves a chart pulling from there, and clients Orbit did
 * not write (skopeo, helm) pull it. Development keeps pinning the upload
 * registry. Giving an environment a registry, or taking it away, moves the
 * versions promoted before on transfers:reconcile.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownerPathOf } from '@orbit/lib';
import { startPipeline, stopPipeline } from '@orbit/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, finished, tokenFor, uploadArchive, GATEWAY_URL } from '../helpers/gateway.js';
import { deployedImage, kustomizeBuilt, withHelm } from '../helpers/helm.js';
import { buildImage, type BuiltImage } from '../helpers/images.js';
import { uniqueSuffix, waitFor } from '../helpers/index.js';
import { pullWithSkopeo } from '../helpers/registry.js';

const USER = `env-registry-${uniqueSuffix()}`;
const VERSION = 'v1-0-00';
const UPLOAD_REGISTRY = process.env['ORBIT_IMAGE_REGISTRY'] ?? '';
// Another project of the local registry: what a Harbor with a project per environment looks like.
const TESTING_REGISTRY = `${UPLOAD_REGISTRY.slice(0, UPLOAD_REGISTRY.indexOf('/'))}/orbit-testing`;
let image: BuiltImage;
/** Images transferred here, moved back to the upload registry at the end so later reconcile runs find a healthy system. */
const transferred: string[] = [];

type Manifests = { items: { kind: string; spec?: { template?: { spec: { containers: { image: string }[] } } } }[] };
const pinnedIn = async (imageUID: string, environment: string): Promise<string> =>
  (await api<Manifests>(USER, `/v1/images/${imageUID}/versions/${VERSION}/manifests?environment=${environment}`)).body.items
    .find((item) => item.kind === 'Deployment')?.spec?.template?.spec.containers[0]?.image ?? '';

/** The pipeline restarted with (or without) a registry of Testing's own. */
async function restartWith(testingRegistry: string | undefined): Promise<void> {
  await stopPipeline();
  if (testingRegistry) process.env['ORBIT_ENVIRONMENT_REGISTRIES'] = `Testing=${testingRegistry}`;
  else delete process.env['ORBIT_ENVIRONMENT_REGISTRIES'];
  await startPipeline(() => undefined);
}

/** transfers:reconcile for the images named, with the configuration the pipeline runs with. */
const reconcile = (...imageUIDs: string[]): string =>
  execFileSync(process.execPath, ['consumers/harbor-writer/dist/reconcile-cli.js', ...imageUIDs.flatMap((uid) => ['--image', uid])], { encoding: 'utf8' });

async function uploadAndTransfer(name: string): Promise<{ imageUID: string; uploaded: string }> {
  const accepted = await uploadArchive(USER, readFileSync(image.dockerArchive), { imageName: `${name}-${uniqueSuffix()}`, imageVersion: VERSION, port: 8080 });
  expect(accepted.status).toBe(202);
  expect((await finished(USER, accepted.body.requestId)).status).toBe('succeeded');
  const { imageUID } = accepted.body;
  const response = await fetch(`${GATEWAY_URL}/v1/images/${imageUID}/transfers`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor(USER, [])}` },
    body: JSON.stringify({ imageVersion: VERSION, transferEnvironment: 'Testing' }),
  });
  expect(response.status).toBe(202);
  transferred.push(imageUID);
  const done = await finished(USER, String(((await response.json()) as Record<string, unknown>)['requestId']));
  expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
  return { imageUID, uploaded: await pinnedIn(imageUID, 'Development') };
}

/** The image Testing's (or another environment's) Kustomize overlay deploys, as kustomize builds the tree the gateway serves. */
const kustomizeDeploys = async (imageUID: string, environment: string): Promise<string> => {
  type Built = { kind?: string; spec?: { template?: { spec?: { containers?: { image?: string }[] } } } };
  const objects = await kustomizeBuilt(GATEWAY_URL, tokenFor(USER, []), `/v1/images/${imageUID}/versions/${VERSION}`, environment) as Built[];
  return objects.find((object) => object.kind === 'Deployment')?.spec?.template?.spec?.containers?.[0]?.image ?? '';
};

/** The image a chart from an owner's Helm repository of an environment deploys, as helm pulls and renders it. */
const helmDeploys = (environment: string, chartName: string): Promise<string> => withHelm((helm, home) => {
  helm('repo', 'add', 'orbit', `${GATEWAY_URL}/helm/${environment}/${encodeURIComponent(USER)}`, '--username', 'helm', '--password', tokenFor(USER, []));
  helm('pull', `orbit/${chartName}`, '--destination', home);
  return deployedImage(helm('template', 'release', join(home, `${chartName}-1.0.0.tgz`), '--skip-tests'));
});

/** The image the chart pushed as an OCI artifact deploys, pulled by its tag (`registry/path/charts/name:version`). */
const ociChartDeploys = (chartTag: string): Promise<string> => withHelm((helm) => {
  const at = chartTag.lastIndexOf(':');
  return deployedImage(helm('template', 'release', `oci://${chartTag.slice(0, at)}`, '--version', chartTag.slice(at + 1), '--plain-http', '--skip-tests'));
});

beforeAll(async () => {
  image = buildImage({ name: 'orbit-e2e/env-registry', tag: '1', exposedPort: '8080/tcp', layers: [{ files: { 'bin/app': 'app' } }] });
  delete process.env['ORBIT_ENVIRONMENT_REGISTRIES'];
  await startPipeline(() => undefined);
}, 180_000);

afterAll(async () => {
  await stopPipeline();
  delete process.env['ORBIT_ENVIRONMENT_REGISTRIES'];
  image?.cleanup();
});

describe('an environment with a registry of its own', () => {
  let earlier: { imageUID: string; uploaded: string };

  it('promoted before Testing had one, a version moves there on transfers:reconcile once it has', async () => {
    earlier = await uploadAndTransfer('before-registry');
    expect(await pinnedIn(earlier.imageUID, 'Testing')).toBe(earlier.uploaded);
    expect(earlier.uploaded.startsWith(`${UPLOAD_REGISTRY}/${ownerPathOf(USER)}/before-registry-`)).toBe(true);

    await restartWith(TESTING_REGISTRY);
    const report = reconcile(earlier.imageUID);
    expect(report).toContain(`not Testing's own registry ${TESTING_REGISTRY}`);
    expect(report).toContain('re-drove 1');
    const moved = await waitFor(async () => {
      const pinned = await pinnedIn(earlier.imageUID, 'Testing');
      return pinned.startsWith(`${TESTING_REGISTRY}/`) && pinned;
    }, { timeoutMs: 90_000, what: 'Testing to pin its own registry' });
    const digest = earlier.uploaded.slice(earlier.uploaded.indexOf('@') + 1);
    expect(moved).toBe(`${TESTING_REGISTRY}/${earlier.uploaded.slice(UPLOAD_REGISTRY.length + 1)}`);
    expect(pullWithSkopeo(moved)).toBe(digest);
    // Its Kustomize overlay was written before Testing had a registry: served, it pulls from there too.
    expect(await kustomizeDeploys(earlier.imageUID, 'Testing')).toBe(moved);
    await waitFor(async () => /0 need repair/.test(reconcile(earlier.imageUID)), { timeoutMs: 60_000, what: 'the promotion to carry the chart packaged for Testing' });
  }, 300_000);

  it('receives the image on transfer: Testing\'s manifests and Helm chart pull from its own registry by the upload\'s digest, and the image pulls from there', async () => {
    const { imageUID, uploaded } = await uploadAndTransfer('own-registry');
    expect(uploaded.startsWith(`${UPLOAD_REGISTRY}/${ownerPathOf(USER)}/own-registry-`)).toBe(true);
    const digest = uploaded.slice(uploaded.indexOf('@') + 1);
    const promoted = await pinnedIn(imageUID, 'Testing');
    expect(promoted).toBe(`${TESTING_REGISTRY}/${uploaded.slice(UPLOAD_REGISTRY.length + 1, uploaded.indexOf('@'))}@${digest}`);
    expect(pullWithSkopeo(promoted)).toBe(digest);
    expect(await pinnedIn(imageUID, 'Development')).toBe(uploaded);
    // ViewPort says where each environment pulls from: the version's own reference, and Testing's promotion its copy and its chart.
    type Promotion = { imageReference?: string; imageTag?: string; chartLocation?: unknown; chartReference?: string; chartTag?: string };
    type View = { versions: { imageReference: string; chartName: string; chartLocation: unknown; chartTag: string; promotions: Record<string, Promotion> }[] };
    const view = await api<View>(USER, `/v1/images/${imageUID}`);
    const version = view.body.versions[0];
    expect(version?.imageReference).toBe(uploaded);
    expect(version?.promotions['Testing']).toMatchObject({ imageReference: promoted, imageTag: `${promoted.slice(0, promoted.indexOf('@'))}:${VERSION}` });
    expect(version?.promotions['Testing']?.chartLocation).not.toEqual(version?.chartLocation);
    // helm, from each environment's repository: Testing's chart deploys Testing's copy, Development's the upload.
    expect(await helmDeploys('Testing', version?.chartName ?? '')).toBe(promoted);
    expect(await helmDeploys('Development', version?.chartName ?? '')).toBe(uploaded);
    // kustomize, from the tree each environment serves: the same images.
    expect(await kustomizeDeploys(imageUID, 'Testing')).toBe(promoted);
    expect(await kustomizeDeploys(imageUID, 'Development')).toBe(uploaded);
    // The same from the OCI artifacts: the upload's chart beside the upload, Testing's in Testing's registry.
    expect(version?.promotions['Testing']?.chartTag).toBe(`${TESTING_REGISTRY}/${ownerPathOf(USER)}/charts/${version?.chartName ?? ''}:1.0.0`);
    expect(await ociChartDeploys(version?.promotions['Testing']?.chartTag ?? '')).toBe(promoted);
    expect(await ociChartDeploys(version?.chartTag ?? '')).toBe(uploaded);
    expect(reconcile(imageUID, earlier.imageUID)).toMatch(/0 need repair/);
  }, 240_000);

  it('taken away again, its versions move back to the upload registry on transfers:reconcile', async () => {
    await restartWith(undefined);
    const report = reconcile(...transferred);
    expect(report).toContain(`re-drove ${transferred.length}`);
    expect(report).toContain('but Testing pulls from the upload registry');
    for (const imageUID of transferred) {
      const uploaded = await pinnedIn(imageUID, 'Development');
      await waitFor(async () => (await pinnedIn(imageUID, 'Testing')) === uploaded, { timeoutMs: 90_000, what: `Testing to pin the upload registry again for ${imageUID}` });
    }
    await waitFor(async () => /0 need repair/.test(reconcile(...transferred)), { timeoutMs: 60_000, what: 'the promotions to serve the upload\'s chart again' });
  }, 300_000);
});
