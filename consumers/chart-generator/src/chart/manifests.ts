import type { Environment } from '../environment.js';
import { chartNameOf, chartVersionOf } from '../naming.js';
import { fullname, isEmpty, labels, selectorLabels, serviceAccountName, type HelmContext } from './helm-context.js';
import type { ChartInput } from './input.js';
import { deploymentOf } from './manifests-workload.js';
import { buildValues } from './values.js';

/** A Kubernetes object as plain JSON data. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

export interface RenderOptions {
  /** Release name; defaults to the chart name, which makes the fullname the chart name too. */
  readonly releaseName?: string;
}

function contextOf(input: ChartInput, releaseName: string | undefined): HelmContext {
  const chartName = chartNameOf(input.metadata.imageName, input.imageUID);
  return {
    values: buildValues(input),
    releaseName: releaseName ?? chartName,
    chartName,
    chartVersion: chartVersionOf(input.metadata.imageVersion),
    appVersion: input.metadata.imageVersion,
  };
}

const meta = (ctx: HelmContext, name = fullname(ctx)) => ({ name, labels: labels(ctx) });

function networkPolicyOf(ctx: HelmContext): K8sObject {
  const v = ctx.values;
  const dns = { to: [{ namespaceSelector: {} }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(ctx),
    spec: {
      podSelector: { matchLabels: selectorLabels(ctx) },
      policyTypes: ['Ingress', 'Egress'],
      ...(v.service.enabled && v.containerPort.enabled ? {
        ingress: [{ from: [{ podSelector: {} }, ...v.networkPolicy.ingressFrom], ports: [{ port: v.containerPort.port, protocol: v.containerPort.protocol }, ...v.extraPorts.map(({ containerPort, protocol }) => ({ port: containerPort, protocol }))] }],
      } : {}),
      egress: [dns, ...(v.networkPolicy.allowAllEgress ? [{}] : []), ...v.networkPolicy.extraEgress],
    },
  };
}

/** As the chart's template: maxUnavailable when set, or when there are no more pods than minAvailable (a drain would block). */
function podDisruptionBudgetOf(ctx: HelmContext): K8sObject {
  const { podDisruptionBudget: budget, autoscaling, replicaCount } = ctx.values;
  const pods = autoscaling.enabled ? autoscaling.minReplicas : replicaCount;
  const bound = budget.maxUnavailable !== undefined ? { maxUnavailable: budget.maxUnavailable }
    : pods <= budget.minAvailable ? { maxUnavailable: 1 } : { minAvailable: budget.minAvailable };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(ctx),
    spec: { ...bound, unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: { matchLabels: selectorLabels(ctx) } },
  };
}

function serviceAccountOf(ctx: HelmContext): K8sObject {
  const { annotations } = ctx.values.serviceAccount;
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { ...meta(ctx, serviceAccountName(ctx)), ...(isEmpty(annotations) ? {} : { annotations }) },
    automountServiceAccountToken: false,
  };
}

function configMapOf(ctx: HelmContext): K8sObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(ctx, `${fullname(ctx)}-env`), data: ctx.values.env };
}

function serviceOf(ctx: HelmContext): K8sObject {
  const v = ctx.values;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...meta(ctx), ...(isEmpty(v.service.annotations) ? {} : { annotations: v.service.annotations }) },
    spec: {
      type: v.service.type,
      selector: selectorLabels(ctx),
      ports: [
        { name: 'app', port: v.service.port, targetPort: 'app', protocol: v.containerPort.protocol },
        ...v.extraPorts.map(({ name, containerPort, protocol }) => ({ name, port: containerPort, targetPort: name, protocol })),
      ],
    },
  };
}

function hpaOf(ctx: HelmContext): K8sObject {
  const { minReplicas, maxReplicas, targetCPUUtilizationPercentage } = ctx.values.autoscaling;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta(ctx),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: fullname(ctx) },
      minReplicas,
      maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: targetCPUUtilizationPercentage } } }],
    },
  };
}

/**
 * The objects `helm template --skip-tests` renders from the chart with its
 * default values, in helm's install order (NetworkPolicy, PDB,
 * ServiceAccount, ConfigMap, Service, Deployment, HPA). The test hook pod is
 * left out: it is not part of the application, and the Chart Store's
 * manifests are what gets applied.
 */
export function renderManifests(input: ChartInput, environment: Environment = input.environment, options: RenderOptions = {}): K8sObject[] {
  const ctx = contextOf({ ...input, environment }, options.releaseName);
  const v = ctx.values;
  return [
    ...(v.networkPolicy.enabled ? [networkPolicyOf(ctx)] : []),
    ...(v.podDisruptionBudget.enabled ? [podDisruptionBudgetOf(ctx)] : []),
    ...(v.serviceAccount.create ? [serviceAccountOf(ctx)] : []),
    configMapOf(ctx),
    ...(v.service.enabled && v.containerPort.enabled ? [serviceOf(ctx)] : []),
    deploymentOf(ctx),
    ...(v.autoscaling.enabled ? [hpaOf(ctx)] : []),
  ];
}
