import jsonPatch, { type Operation } from 'fast-json-patch';
import type { K8sObject } from './chart/manifests.js';
import type { Environment } from './environment.js';
import { toYamlText } from '@orbit/lib';

export const KUSTOMIZE_BASE_DIR = 'base';
export const overlayDirOf = (environment: Environment): string => `overlays/${environment.toLowerCase()}`;

/** Per-environment settings; the base (the chart's defaults) is min 2 / max 5 replicas. */
interface OverlaySettings {
  readonly namespace: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly resources?: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
}

export const OVERLAY_SETTINGS: Readonly<Record<Environment, OverlaySettings>> = {
  Development: { namespace: 'orbit-development', minReplicas: 1, maxReplicas: 2 },
  Testing: { namespace: 'orbit-testing', minReplicas: 1, maxReplicas: 3 },
  Staging: { namespace: 'orbit-staging', minReplicas: 2, maxReplicas: 5 },
  Production: {
    namespace: 'orbit-production', minReplicas: 3, maxReplicas: 10,
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  },
};

function fileNameOf(object: K8sObject, taken: Set<string>): string {
  const stem = `${object.kind.toLowerCase()}-${object.metadata.name}`;
  let name = `${stem}.yaml`;
  for (let n = 2; taken.has(name); n += 1) name = `${stem}-${n}.yaml`;
  taken.add(name);
  return name;
}

/** base/kustomization.yaml plus one file per object, named <kind>-<name>.yaml. */
export function kustomizeBase(manifests: readonly K8sObject[]): Map<string, string> {
  const files = new Map<string, string>();
  const taken = new Set<string>();
  const resources: string[] = [];
  for (const object of manifests) {
    const name = fileNameOf(object, taken);
    resources.push(name);
    files.set(`${KUSTOMIZE_BASE_DIR}/${name}`, toYamlText(object));
  }
  files.set(`${KUSTOMIZE_BASE_DIR}/kustomization.yaml`, toYamlText({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources }));
  // Code-unit order, not localeCompare: the same manifests must give the same file order on every machine.
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A JSON patch of the objects of one kind. */
interface KindPatch {
  readonly kind: string;
  readonly ops: readonly Operation[];
}

/**
 * Patches select by kind only, so they fit any base this generator made
 * whatever the release is called; a kind the base lacks (no HPA, no PDB)
 * is simply not matched.
 */
function patchesOf(settings: OverlaySettings): KindPatch[] {
  const patches: KindPatch[] = [{
    kind: 'HorizontalPodAutoscaler',
    ops: [{ op: 'replace', path: '/spec/minReplicas', value: settings.minReplicas }, { op: 'replace', path: '/spec/maxReplicas', value: settings.maxReplicas }],
  }];
  if (settings.minReplicas < 2) {
    // With one pod, minAvailable 1 would forbid every voluntary eviction and block node drains.
    patches.push({ kind: 'PodDisruptionBudget', ops: [{ op: 'remove', path: '/spec/minAvailable' }, { op: 'add', path: '/spec/maxUnavailable', value: 1 }] });
  }
  if (settings.resources !== undefined) {
    patches.push({ kind: 'Deployment', ops: [{ op: 'replace', path: '/spec/template/spec/containers/0/resources', value: settings.resources }] });
  }
  return patches;
}

/** The image's repository in the base, and the one an environment with a registry of its own pulls it from instead. */
export interface ImageRename {
  readonly name: string;
  readonly newName: string;
}

/**
 * overlays/<environment>/kustomization.yaml over ../../base: the namespace,
 * the `environment` label (on pod templates too, never on selectors, which
 * are immutable), replica bounds and, in Production, larger resources; and,
 * for an environment with a registry of its own, the image's repository there
 * (same digest).
 */
export function kustomizeOverlay(environment: Environment, rename?: ImageRename): Map<string, string> {
  const settings = OVERLAY_SETTINGS[environment];
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: settings.namespace,
    resources: [`../../${KUSTOMIZE_BASE_DIR}`],
    labels: [{ pairs: { environment }, includeSelectors: false, includeTemplates: true }],
    patches: patchesOf(settings).map(({ kind, ops }) => ({ target: { kind }, patch: toYamlText(ops) })),
    ...(rename ? { images: [{ name: rename.name, newName: rename.newName }] } : {}),
  };
  return new Map([[`${overlayDirOf(environment)}/kustomization.yaml`, toYamlText(kustomization)]]);
}

/** Kinds whose pod template kustomize's `labels` (includeTemplates) also labels. */
const TEMPLATED_KINDS = new Set(['Deployment', 'ReplicaSet', 'ReplicationController', 'StatefulSet', 'DaemonSet', 'Job']);

/**
 * What `kustomize build overlays/<environment>` gives for a base of these
 * manifests, without running kustomize: the manifests an environment's
 * kustomize table holds. The same settings and the same JSON patches make
 * both, and a test holds this equal to kustomize's own output. Objects come
 * back in the base's order; the base is not changed.
 */
export function overlaidManifests(base: readonly K8sObject[], environment: Environment): K8sObject[] {
  const settings = OVERLAY_SETTINGS[environment];
  const patches = patchesOf(settings);
  return base.map((object) => {
    let overlaid = structuredClone(object) as K8sObject & { metadata: { namespace?: string; labels?: Record<string, string> }; spec?: { template?: { metadata?: { labels?: Record<string, string> } } } };
    // kustomize's namespace replaces any the object had; name first, as kustomize writes it.
    const { name, namespace: _replaced, ...metadata } = overlaid.metadata;
    overlaid.metadata = { name, namespace: settings.namespace, ...metadata, labels: { ...metadata.labels, environment } };
    const template = overlaid.spec?.template;
    if (TEMPLATED_KINDS.has(overlaid.kind) && template) template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, environment } };
    for (const patch of patches) {
      if (patch.kind === overlaid.kind) overlaid = jsonPatch.applyPatch(overlaid, structuredClone(patch.ops) as Operation[], true, true).newDocument;
    }
    return overlaid;
  });
}

/**
 * Points every container that runs the image (by its digest) at `reference`,
 * the same image in another registry: what kustomize's `images` transformer
 * does with a newName, for an environment that pulls from a registry of its
 * own. Containers of other images (a chart test's) are left alone.
 */
export function repinnedImage(manifests: readonly K8sObject[], reference: string): K8sObject[] {
  const digest = reference.slice(reference.lastIndexOf('@') + 1);
  const repin = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(repin);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([key, field]) =>
      [key, key === 'image' && typeof field === 'string' && field.endsWith(`@${digest}`) ? reference : repin(field)]));
  };
  return manifests.map((object) => repin(object) as K8sObject);
}
