import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderManifests } from './chart/manifests.js';
import { ENVIRONMENTS } from './environment.js';
import { kustomizeBase, kustomizeOverlay, overlaidManifests, OVERLAY_SETTINGS, repinnedImage } from './kustomize.js';
import { SCENARIOS } from './testing/inputs.js';

const read = (text: string | undefined): Record<string, unknown> => parse(text ?? '', { version: '1.1' }) as Record<string, unknown>;

describe('kustomizeBase', () => {
  const manifests = renderManifests(SCENARIOS.realistic!);
  const base = kustomizeBase(manifests);

  it('writes one file per object and a kustomization listing them', () => {
    expect([...base.keys()]).toEqual([
      'base/configmap-billing-api-env.yaml', 'base/deployment-billing-api.yaml', 'base/horizontalpodautoscaler-billing-api.yaml',
      'base/kustomization.yaml', 'base/networkpolicy-billing-api.yaml', 'base/poddisruptionbudget-billing-api.yaml',
      'base/service-billing-api.yaml', 'base/serviceaccount-billing-api.yaml',
    ]);
    const kustomization = read(base.get('base/kustomization.yaml'));
    expect(kustomization).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' });
    expect([...(kustomization.resources as string[])].sort()).toEqual([...base.keys()].filter((path) => !path.endsWith('kustomization.yaml')).map((path) => path.slice(5)));
  });

  it('keeps each object exactly, hostile strings included', () => {
    const hostile = renderManifests(SCENARIOS.hostile!);
    const files = kustomizeBase(hostile);
    const objects = [...files].filter(([path]) => !path.endsWith('kustomization.yaml')).map(([, text]) => read(text));
    expect(objects).toEqual(expect.arrayContaining(hostile.map((object) => JSON.parse(JSON.stringify(object)) as unknown)));
    expect(objects).toHaveLength(hostile.length);
  });

  it('gives same-named objects of one kind distinct files', () => {
    const twice = kustomizeBase([manifests[0]!, manifests[0]!]);
    expect([...twice.keys()]).toEqual(['base/kustomization.yaml', 'base/networkpolicy-billing-api-2.yaml', 'base/networkpolicy-billing-api.yaml']);
  });
});

describe('kustomizeOverlay', () => {
  it.each(ENVIRONMENTS)('%s: namespace, environment label off the selectors, HPA bounds', (environment) => {
    const files = kustomizeOverlay(environment);
    const path = `overlays/${environment.toLowerCase()}/kustomization.yaml`;
    expect([...files.keys()]).toEqual([path]);
    const kustomization = read(files.get(path));
    const settings = OVERLAY_SETTINGS[environment];
    expect(kustomization).toMatchObject({
      namespace: settings.namespace,
      resources: ['../../base'],
      labels: [{ pairs: { environment }, includeSelectors: false, includeTemplates: true }],
    });
    const patches = kustomization.patches as { target: { kind: string }; patch: string }[];
    const hpa = patches.find((patch) => patch.target.kind === 'HorizontalPodAutoscaler');
    expect(parse(hpa!.patch)).toEqual([
      { op: 'replace', path: '/spec/minReplicas', value: settings.minReplicas },
      { op: 'replace', path: '/spec/maxReplicas', value: settings.maxReplicas },
    ]);
  });

  it('scales up from Development to Production and bumps resources only in Production', () => {
    const mins = ENVIRONMENTS.map((environment) => OVERLAY_SETTINGS[environment].minReplicas);
    expect(mins).toEqual([...mins].sort((a, b) => a - b));
    const production = read(kustomizeOverlay('Production').get('overlays/production/kustomization.yaml'));
    const deploymentPatch = (production.patches as { target: { kind: string }; patch: string }[]).find((patch) => patch.target.kind === 'Deployment');
    expect(parse(deploymentPatch!.patch)).toEqual([{ op: 'replace', path: '/spec/template/spec/containers/0/resources', value: OVERLAY_SETTINGS.Production.resources }]);
    for (const environment of ['Development', 'Testing', 'Staging'] as const) {
      const overlay = read(kustomizeOverlay(environment).get(`overlays/${environment.toLowerCase()}/kustomization.yaml`));
      expect((overlay.patches as { target: { kind: string } }[]).map((patch) => patch.target.kind)).not.toContain('Deployment');
    }
  });

  it('swaps the PDB to maxUnavailable where one replica is allowed, so drains are not blocked', () => {
    const development = read(kustomizeOverlay('Development').get('overlays/development/kustomization.yaml'));
    const pdb = (development.patches as { target: { kind: string }; patch: string }[]).find((patch) => patch.target.kind === 'PodDisruptionBudget');
    expect(parse(pdb!.patch)).toEqual([{ op: 'remove', path: '/spec/minAvailable' }, { op: 'add', path: '/spec/maxUnavailable', value: 1 }]);
    const staging = read(kustomizeOverlay('Staging').get('overlays/staging/kustomization.yaml'));
    expect((staging.patches as { target: { kind: string } }[]).map((patch) => patch.target.kind)).not.toContain('PodDisruptionBudget');
  });
});

describe('overlaidManifests', () => {
  type Workload = { metadata: { namespace?: string; labels: Record<string, string> }; spec: Record<string, unknown> & { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { containers: { resources: unknown }[] } } } };
  const base = renderManifests(SCENARIOS.realistic!);
  const of = (objects: readonly unknown[], kind: string) => (objects as { kind: string }[]).find((object) => object.kind === kind) as unknown as Workload;

  it.each(ENVIRONMENTS)('%s: every object in its namespace and labelled with it, selectors untouched, replicas bounded', (environment) => {
    const settings = OVERLAY_SETTINGS[environment];
    const overlaid = overlaidManifests(base, environment);
    expect(overlaid.map((object) => [object.kind, object.metadata.name])).toEqual(base.map((object) => [object.kind, object.metadata.name]));
    for (const object of overlaid as unknown as Workload[]) {
      expect(object.metadata.namespace).toBe(settings.namespace);
      expect(object.metadata.labels['environment']).toBe(environment);
    }
    const deployment = of(overlaid, 'Deployment');
    expect(deployment.spec.template.metadata.labels['environment']).toBe(environment);
    expect(deployment.spec.selector.matchLabels).toEqual(of(base, 'Deployment').spec.selector.matchLabels);
    expect(of(overlaid, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: settings.minReplicas, maxReplicas: settings.maxReplicas });
    expect(deployment.spec.template.spec.containers[0]?.resources).toEqual(settings.resources ?? of(base, 'Deployment').spec.template.spec.containers[0]?.resources);
  });

  it('lets one pod be evicted where one replica is allowed, and keeps minAvailable where two are', () => {
    expect(of(overlaidManifests(base, 'Testing'), 'PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1 });
    expect(of(overlaidManifests(base, 'Testing'), 'PodDisruptionBudget').spec).not.toHaveProperty('minAvailable');
    expect(of(overlaidManifests(base, 'Staging'), 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: of(base, 'PodDisruptionBudget').spec['minAvailable'] });
  });

  it('replaces a namespace the object had, as kustomize does', () => {
    const placed = base.map((object) => ({ ...object, metadata: { ...object.metadata, namespace: 'orbit-testing' } }));
    expect(overlaidManifests(placed, 'Staging').map((object) => (object.metadata as { namespace?: string }).namespace)).toEqual(base.map(() => 'orbit-staging'));
  });

  it('leaves the base as it was, so each environment starts from the same manifests', () => {
    const before = structuredClone(base);
    overlaidManifests(base, 'Production');
    overlaidManifests(base, 'Development');
    expect(base).toEqual(before);
  });
});

describe('repinnedImage', () => {
  type Pod = { spec: { template: { spec: { containers: { name: string; image: string }[]; initContainers?: { name: string; image: string }[] } } } };
  const manifests = renderManifests(SCENARIOS.realistic!);
  const deploymentOf = (objects: readonly unknown[]): Pod => objects.find((object) => (object as { kind: string }).kind === 'Deployment') as Pod;
  const pinned = deploymentOf(manifests).spec.template.spec.containers[0]!.image;
  const digest = pinned.slice(pinned.indexOf('@') + 1);
  const elsewhere = `testing.registry.example:8443/orbit-testing/billing-api@${digest}`;

  it('points every container of the image at its copy in another registry, by the same digest, and no other container', () => {
    const withOthers = structuredClone(manifests);
    const pod = deploymentOf(withOthers).spec.template.spec;
    pod.initContainers = [{ name: 'migrate', image: pinned }];
    pod.containers.push({ name: 'proxy', image: 'envoyproxy/envoy@sha256:' + 'a'.repeat(64) });
    const repinned = deploymentOf(repinnedImage(withOthers, elsewhere)).spec.template.spec;
    expect(repinned.containers.map((container) => container.image)).toEqual([elsewhere, 'envoyproxy/envoy@sha256:' + 'a'.repeat(64)]);
    expect(repinned.initContainers?.map((container) => container.image)).toEqual([elsewhere]);
  });

  it('changes nothing else, and leaves the manifests it was given as they were', () => {
    const before = structuredClone(manifests);
    const repinned = repinnedImage(manifests, elsewhere);
    expect(manifests).toEqual(before);
    const back = repinnedImage(repinned, pinned);
    expect(back).toEqual(manifests);
  });
});
