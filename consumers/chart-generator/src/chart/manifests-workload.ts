import { fullname, goJson, isEmpty, labels, selectorLabels, serviceAccountName, sha256Hex, type HelmContext } from './helm-context.js';
import type { K8sObject } from './manifests.js';

/** templates/deployment.yaml as data; each `with`/`if` there is an isEmpty/condition here. */
export function deploymentOf(ctx: HelmContext): K8sObject {
  const v = ctx.values;
  const podAnnotations = { ...v.commonAnnotations, ...v.podAnnotations, 'checksum/env': sha256Hex(goJson(v.env)), 'orbit/image-uid': v.imageUID };
  const podLabels = { ...labels(ctx), ...(isEmpty(v.image.tag) ? {} : { 'orbit/image-tag': v.image.tag }), ...v.podLabels };
  // As the template: an override leaves a path unmounted or puts a PVC there; the names keep their writablePaths index.
  const writable = v.writablePaths.flatMap((path, index) => {
    const override = v.writablePathOverrides.find((entry) => entry.path === path);
    if (override !== undefined && 'unmounted' in override) return [];
    const source = override !== undefined && 'claimName' in override ? { persistentVolumeClaim: { claimName: override.claimName } } : { emptyDir: {} };
    return [{ name: `writable-${index}`, path, source }];
  });

  const container: Record<string, unknown> = {
    name: 'app',
    image: `${v.image.repository}@${v.image.digest}`,
    imagePullPolicy: v.image.pullPolicy,
    ...(isEmpty(v.command) ? {} : { command: v.command }),
    ...(isEmpty(v.args) ? {} : { args: v.args }),
    ...(isEmpty(v.workingDir) ? {} : { workingDir: v.workingDir }),
    ...(v.containerPort.enabled ? { ports: [{ name: 'app', containerPort: v.containerPort.port, protocol: v.containerPort.protocol }, ...v.extraPorts] } : {}),
    envFrom: [{ configMapRef: { name: `${fullname(ctx)}-env` } }],
    securityContext: v.securityContext,
    resources: v.resources,
    ...(v.probes.enabled && !isEmpty(v.probes.startup) ? { startupProbe: v.probes.startup } : {}),
    ...(v.probes.enabled && !isEmpty(v.probes.liveness) ? { livenessProbe: v.probes.liveness } : {}),
    ...(v.probes.enabled && !isEmpty(v.probes.readiness) ? { readinessProbe: v.probes.readiness } : {}),
    ...(isEmpty(v.lifecycle) ? {} : { lifecycle: v.lifecycle }),
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...writable.map(({ name, path }) => ({ name, mountPath: path }))],
  };

  const podSpec: Record<string, unknown> = {
    serviceAccountName: serviceAccountName(ctx),
    automountServiceAccountToken: false,
    ...(isEmpty(v.imagePullSecrets) ? {} : { imagePullSecrets: v.imagePullSecrets }),
    securityContext: v.podSecurityContext,
    terminationGracePeriodSeconds: v.terminationGracePeriodSeconds,
    ...(isEmpty(v.priorityClassName) ? {} : { priorityClassName: v.priorityClassName }),
    ...(isEmpty(v.runtimeClassName) ? {} : { runtimeClassName: v.runtimeClassName }),
    containers: [container],
    volumes: [{ name: 'tmp', emptyDir: {} }, ...writable.map(({ name, source }) => ({ name, ...source }))],
    ...(!isEmpty(v.affinity) ? { affinity: v.affinity } : v.podAntiAffinity.enabled ? {
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{
            weight: v.podAntiAffinity.weight,
            podAffinityTerm: { topologyKey: v.podAntiAffinity.topologyKey, labelSelector: { matchLabels: selectorLabels(ctx) } },
          }],
        },
      },
    } : {}),
    ...(isEmpty(v.topologySpreadConstraints) ? {} : {
      topologySpreadConstraints: v.topologySpreadConstraints.map((constraint) => ({
        maxSkew: constraint.maxSkew,
        topologyKey: constraint.topologyKey,
        whenUnsatisfiable: constraint.whenUnsatisfiable,
        labelSelector: { matchLabels: selectorLabels(ctx) },
      })),
    }),
    ...(isEmpty(v.nodeSelector) ? {} : { nodeSelector: v.nodeSelector }),
    ...(isEmpty(v.tolerations) ? {} : { tolerations: v.tolerations }),
  };

  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: fullname(ctx),
      labels: labels(ctx),
      ...(isEmpty(v.commonAnnotations) ? {} : { annotations: v.commonAnnotations }),
    },
    spec: {
      ...(v.autoscaling.enabled ? {} : { replicas: v.replicaCount }),
      revisionHistoryLimit: v.revisionHistoryLimit,
      selector: { matchLabels: selectorLabels(ctx) },
      template: {
        metadata: { annotations: podAnnotations, labels: podLabels },
        spec: podSpec,
      },
    },
  };
}
