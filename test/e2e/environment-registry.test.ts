/**
 * A transfer into an environment with a registry (here a project) of its own,
 * ORBIT_ENVIRONMENT_REGISTRIES: the image is pushed there from the target's
 * copy, the target's manifests pin it there by the same digest, and a client
 * Orbit did not write (skopeo) pulls it from there. Development's manifests
 * keep pinning the upload registry.
 */
import { readFileSync } from 'node:fs';
import { startPipeline, stopPipeline } from '@orbit/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, finished, tokenFor, uploadArchive, GATEWAY_URL } from '../helpers/gateway.js';
import { buildImage, type BuiltImage } from '../helpers/images.js';
import { uniqueSuffix } from '../helpers/index.js';
import { pullWithSkopeo } from '../helpers/registry.js';

const USER = `env-registry-${uniqueSuffix()}`;
const VERSION = 'v1-0-00';
const UPLOAD_REGISTRY = process.env['ORBIT_IMAGE_REGISTRY'] ?? '';
// Another project of the local registry: what a Harbor with a project per environment looks like.
const TESTING_REGISTRY = `${UPLOAD_REGISTRY.slice(0, UPLOAD_REGISTRY.indexOf('/'))}/orbit-testing`;
let image: BuiltImage;

type Manifests = { items: { kind: string; spec?: { template?: { spec: { containers: { image: string }[] } } } }[] };
const pinnedIn = async (imageUID: string, environment: string): Promise<string> =>
  (await api<Manifests>(USER, `/v1/images/${imageUID}/versions/${VERSION}/manifests?environment=${environment}`)).body.items
    .find((item) => item.kind === 'Deployment')?.spec?.template?.spec.containers[0]?.image ?? '';

beforeAll(async () => {
  process.env['ORBIT_ENVIRONMENT_REGISTRIES'] = `Testing=${TESTING_REGISTRY}`;
  image = buildImage({ name: 'orbit-e2e/env-registry', tag: '1', exposedPort: '8080/tcp', layers: [{ files: { 'bin/app': 'app' } }] });
  await startPipeline(() => undefined);
}, 180_000);

afterAll(async () => {
  await stopPipeline();
  delete process.env['ORBIT_ENVIRONMENT_REGISTRIES'];
  image?.cleanup();
});

describe('an environment with a registry of its own', () => {
  it('receives the image on transfer: Testing\'s manifests pin its own registry by the upload\'s digest, and the image pulls from there', async () => {
    const accepted = await uploadArchive(USER, readFileSync(image.dockerArchive), { imageName: `own-registry-${uniqueSuffix()}`, imageVersion: VERSION, port: 8080 });
    expect(accepted.status).toBe(202);
    expect((await finished(USER, accepted.body.requestId)).status).toBe('succeeded');
    const { imageUID } = accepted.body;
    const uploaded = await pinnedIn(imageUID, 'Development');
    expect(uploaded.startsWith(`${UPLOAD_REGISTRY}/own-registry-`)).toBe(true);
    const digest = uploaded.slice(uploaded.indexOf('@') + 1);

    const response = await fetch(`${GATEWAY_URL}/v1/images/${imageUID}/transfers`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor(USER, [])}` },
      body: JSON.stringify({ imageVersion: VERSION, transferEnvironment: 'Testing' }),
    });
    expect(response.status).toBe(202);
    const transferred = await finished(USER, String(((await response.json()) as Record<string, unknown>)['requestId']));
    expect(transferred.status, JSON.stringify(transferred.error)).toBe('succeeded');

    const promoted = await pinnedIn(imageUID, 'Testing');
    expect(promoted).toBe(`${TESTING_REGISTRY}/${uploaded.slice(UPLOAD_REGISTRY.length + 1, uploaded.indexOf('@'))}@${digest}`);
    expect(pullWithSkopeo(promoted)).toBe(digest);
    expect(await pinnedIn(imageUID, 'Development')).toBe(uploaded);
    // ViewPort says where each environment pulls from: the version's own reference, and Testing's promotion its copy.
    const view = await api<{ versions: { imageReference: string; promotions: Record<string, { imageReference?: string; imageTag?: string }> }[] }>(USER, `/v1/images/${imageUID}`);
    expect(view.body.versions[0]?.imageReference).toBe(uploaded);
    expect(view.body.versions[0]?.promotions['Testing']).toMatchObject({ imageReference: promoted, imageTag: `${promoted.slice(0, promoted.indexOf('@'))}:${VERSION}` });
  }, 240_000);
});
