import { CHART_OWN_LABELS, userKeyedRecord } from '@orbit/lib';
import { ChartInputError } from '../errors.js';
import { appPortOf, envOf, extraPortsOf, imageRepositoryOf, manifestDigestOf, runAsOf, workingDirOf, writablePathsOf, type NamedPort, type PortProtocol } from '../image-facts.js';
import { kubeletLiteral } from '../kubelet-words.js';
import { isLabelValue, isQualifiedName } from '../naming.js';
import { probesOf, type ProbeValues } from '../probes.js';
import { splitShellWords } from '../shell-words.js';
import type { ChartInput } from './input.js';

/** The chart's values.yaml as data: renderManifests reads the same object helm reads. */
export interface ChartValues {
  nameOverride: string;
  fullnameOverride: string;
  environment: string;
  imageUID: string;
  replicaCount: number;
  revisionHistoryLimit: number;
  image: { repository: string; digest: string; tag: string; pullPolicy: 'IfNotPresent' | 'Always' | 'Never' };
  imagePullSecrets: { name: string }[];
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  podAnnotations: Record<string, string>;
  /** Labels on the pods only (a team's, a cost centre's, a mesh's): not a key commonLabels or the chart sets. */
  podLabels: Record<string, string>;
  serviceAccount: { create: boolean; name: string; annotations: Record<string, string> };
  /** Whether the image config has an Entrypoint or Cmd: without one, and without command or args, no runtime starts it (NOTES says so). */
  imageHasCommand: boolean;
  command: string[];
  args: string[];
  workingDir: string;
  env: Record<string, string>;
  containerPort: { enabled: boolean; port: number; protocol: PortProtocol };
  extraPorts: NamedPort[];
  service: { enabled: boolean; type: 'ClusterIP'; port: number; annotations: Record<string, string> };
  /** Opt-in for images that need root: only then does the schema take runAsNonRoot false, UID 0 or added capabilities. */
  allowRoot: boolean;
  podSecurityContext: PodSecurityContext;
  securityContext: ContainerSecurityContext;
  resources: Resources;
  probes: ProbeValues;
  writablePaths: string[];
  /** Per writablePaths entry: leave it unmounted, or mount a PVC instead of the emptyDir (which hides what the image ships there). */
  writablePathOverrides: WritablePathOverride[];
  terminationGracePeriodSeconds: number;
  /** The container's lifecycle hooks, e.g. preStop sleep 5, so a rolling update drops no connection the Service still sent. */
  lifecycle: Record<string, unknown>;
  priorityClassName: string;
  runtimeClassName: string;
  /** A pod affinity of the user's own; when set it replaces podAntiAffinity's. */
  affinity: Record<string, unknown>;
  podAntiAffinity: { enabled: boolean; topologyKey: string; weight: number };
  topologySpreadConstraints: { maxSkew: number; topologyKey: string; whenUnsatisfiable: 'ScheduleAnyway' | 'DoNotSchedule' }[];
  nodeSelector: Record<string, string>;
  tolerations: Record<string, unknown>[];
  autoscaling: { enabled: boolean; minReplicas: number; maxReplicas: number; targetCPUUtilizationPercentage: number };
  /** maxUnavailable, when set, is used instead of minAvailable. */
  podDisruptionBudget: { enabled: boolean; minAvailable: number; maxUnavailable?: number };
  /** ingressFrom: NetworkPolicy peers admitted beside the release's namespace (an Ingress controller's, a Prometheus'). */
  networkPolicy: { enabled: boolean; ingressFrom: Record<string, unknown>[]; allowAllEgress: boolean; extraEgress: Record<string, unknown>[] };
  tests: { enabled: boolean; image: { repository: string; digest: string }; securityContext: ContainerSecurityContext; resources: Resources };
}

export type WritablePathOverride = { path: string; unmounted: true } | { path: string; claimName: string };

export interface PodSecurityContext {
  /** runAsGroup only when the image USER names a numeric group: without it the runtime keeps the image's (runAsOf). */
  runAsNonRoot: true; runAsUser: number; runAsGroup?: number; fsGroup: number; seccompProfile: { type: 'RuntimeDefault' };
}
export interface ContainerSecurityContext {
  allowPrivilegeEscalation: false; privileged: false; readOnlyRootFilesystem: true; runAsNonRoot: true;
  capabilities: { drop: ['ALL'] }; seccompProfile: { type: 'RuntimeDefault' };
}
export interface Resources { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } }

/** busybox 1.36.1 by digest: test pods are pulled in production clusters too, so no floating tags. */
export const TEST_IMAGE = {
  repository: 'docker.io/library/busybox',
  digest: 'sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662',
} as const;

/**
 * metadata.imageLabels split by what Kubernetes accepts: a valid key with a
 * label-shaped value is a label; a valid key with free text ("Billing API v2")
 * is an annotation, which has no value rules; an invalid key cannot be stored at all.
 */
export function userLabelsOf(input: ChartInput): { labels: Record<string, string>; annotations: Record<string, string> } {
  const labels = userKeyedRecord<string>();
  const annotations = userKeyedRecord<string>();
  for (const { key, value } of input.metadata.imageLabels) {
    if (!isQualifiedName(key)) {
      throw new ChartInputError('metadata.imageLabels', `label name ${JSON.stringify(key)} is not a Kubernetes label key ([prefix/]name, 63 characters at most)`);
    }
    // The gateway refuses them now; a version stored before that still gets its chart, without them.
    if (CHART_OWN_LABELS.has(key)) continue;
    if (isLabelValue(value)) labels[key] = value;
    else annotations[key] = value;
  }
  return { labels, annotations };
}

/** The words of an override as the container's command or args, each as the kubelet passes it on (the container gets them as they were sent). */
function overrideWords(text: string | null, field: string): string[] {
  return text === null || text.trim() === '' ? [] : splitShellWords(text, field).map(kubeletLiteral);
}

/**
 * The image tag shown as a label: the one the image has in the registry the
 * pods pull from, else the version it will be tagged with there. Not the tag
 * the archive carried (often `latest`): no such tag exists in that registry.
 */
function imageTagOf(input: ChartInput): string {
  const reference = input.registryTag ?? '';
  const tag = reference.slice(reference.lastIndexOf(':') + 1);
  if (reference.includes(':') && !tag.includes('/') && tag !== '' && isLabelValue(tag)) return tag;
  return isLabelValue(input.metadata.imageVersion) ? input.metadata.imageVersion : '';
}

const restricted = (): ContainerSecurityContext => ({
  allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true,
  capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
});

export const DEFAULT_RESOURCES: Resources = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};

/** Names builders write for an architecture, by the GOARCH a node's kubernetes.io/arch label says (containerd normalizes the same way). */
const ARCHITECTURE_ALIASES: Readonly<Record<string, string>> = {
  x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', armv6l: 'arm', armv7l: 'arm', i386: '386', i486: '386', i586: '386', i686: '386',
};

/**
 * Kubernetes' well-known node labels for the platform the image was built
 * for: in a cluster with arm64 and amd64 node pools, a single-platform image
 * scheduled on the other kind fails its pull or its first exec. A
 * multi-platform image selects only what all its platforms share: each node
 * pulls its own platform from the index. Nodes label themselves with Go's
 * names (linux, amd64), so the image's are lower-cased and its aliases
 * mapped; one that still is no label value (the config may say anything)
 * selects nothing rather than make the Deployment invalid.
 */
function platformSelectorOf(image: Pick<ChartInput['image'], 'os' | 'architecture' | 'index'>): Record<string, string> {
  const platforms = image.index?.manifests.filter((entry) => !entry.attestation) ?? [image];
  const shared = (values: readonly string[]): string | undefined => (new Set(values).size === 1 ? values[0] : undefined);
  const os = shared(platforms.map((platform) => platform.os.toLowerCase())) ?? '';
  const architecture = shared(platforms.map((platform) => {
    const lower = platform.architecture.toLowerCase();
    return ARCHITECTURE_ALIASES[lower] ?? lower;
  })) ?? '';
  return {
    ...(os !== '' && isLabelValue(os) ? { 'kubernetes.io/os': os } : {}),
    ...(architecture !== '' && isLabelValue(architecture) ? { 'kubernetes.io/arch': architecture } : {}),
  };
}

export function buildValues(input: ChartInput): ChartValues {
  const { metadata, image } = input;
  const port = appPortOf(metadata, image);
  const runAs = runAsOf(image.config.user);
  const userLabels = userLabelsOf(input);
  return {
    nameOverride: '',
    fullnameOverride: '',
    environment: input.environment,
    imageUID: input.imageUID,
    replicaCount: 2,
    revisionHistoryLimit: 5,
    image: { repository: imageRepositoryOf(input.imageRepository), digest: manifestDigestOf(image), tag: imageTagOf(input), pullPolicy: 'IfNotPresent' },
    imagePullSecrets: [],
    commonLabels: userLabels.labels,
    commonAnnotations: userLabels.annotations,
    podAnnotations: {},
    podLabels: {},
    serviceAccount: { create: true, name: '', annotations: {} },
    imageHasCommand: image.config.entrypoint.length > 0 || image.config.cmd.length > 0,
    command: overrideWords(metadata.entrypointOverride, 'metadata.entrypointOverride'),
    args: overrideWords(metadata.commandOverride, 'metadata.commandOverride'),
    workingDir: workingDirOf(metadata, image),
    env: envOf(metadata, image),
    containerPort: { enabled: port !== null, port: port?.port ?? 8080, protocol: port?.protocol ?? 'TCP' },
    extraPorts: extraPortsOf(image, port),
    service: { enabled: port !== null, type: 'ClusterIP', port: port?.port ?? 8080, annotations: {} },
    allowRoot: false,
    podSecurityContext: {
      runAsNonRoot: true, runAsUser: runAs.uid, ...(runAs.gid === null ? {} : { runAsGroup: runAs.gid }), fsGroup: runAs.fsGroup, seccompProfile: { type: 'RuntimeDefault' },
    },
    securityContext: restricted(),
    resources: DEFAULT_RESOURCES,
    probes: probesOf(image.config.healthcheck, port, image.config.shell ?? null),
    writablePaths: writablePathsOf(metadata, image),
    writablePathOverrides: [],
    terminationGracePeriodSeconds: 30,
    lifecycle: {},
    priorityClassName: '',
    runtimeClassName: '',
    affinity: {},
    podAntiAffinity: { enabled: true, topologyKey: 'kubernetes.io/hostname', weight: 100 },
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' },
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' },
    ],
    nodeSelector: platformSelectorOf(image),
    tolerations: [],
    autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 80 },
    podDisruptionBudget: { enabled: true, minAvailable: 1 },
    networkPolicy: { enabled: true, ingressFrom: [], allowAllEgress: true, extraEgress: [] },
    // The test pod keeps its own copy so loosening the app's security context never loosens the test's.
    tests: { enabled: true, image: { ...TEST_IMAGE }, securityContext: restricted(), resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } } },
  };
}
