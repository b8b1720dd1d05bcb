import { describe, expect, it } from 'vitest';
import { FALLBACK_UID } from '../image-facts.js';
import { SCENARIOS, DIGEST, inputOf } from '../testing/inputs.js';
import { goJson, sha256Hex } from './helm-context.js';
import { renderManifests, type K8sObject } from './manifests.js';
import { deploymentOf } from './manifests-workload.js';
import { buildValues } from './values.js';

type Json = Record<string, unknown>;
const kinds = (objects: K8sObject[]) => objects.map((object) => object.kind);
const find = (objects: K8sObject[], kind: string): Json => {
  const found = objects.find((object) => object.kind === kind);
  if (!found) throw new Error(`no ${kind}`);
  return found as unknown as Json;
};
const at = (value: unknown, path: string): unknown => path.split('.').reduce<unknown>((node, key) => (node as Json | undefined)?.[key], value);
const podSpec = (objects: K8sObject[]) => at(find(objects, 'Deployment'), 'spec.template.spec') as Json;
const container = (objects: K8sObject[]) => (podSpec(objects).containers as Json[])[0]!;

describe('renderManifests', () => {
  const realistic = renderManifests(SCENARIOS.realistic!);

  it("renders helm's install order", () => {
    expect(kinds(realistic)).toEqual(['NetworkPolicy', 'PodDisruptionBudget', 'ServiceAccount', 'ConfigMap', 'Service', 'Deployment', 'HorizontalPodAutoscaler']);
  });

  it('pins the image by digest and shows the tag only as a label', () => {
    expect(container(realistic).image).toBe(`registry.example/orbit/billing-api@${DIGEST}`);
    expect(at(find(realistic, 'Deployment'), 'spec.template.metadata.labels')).toMatchObject({ 'orbit/image-tag': 'v1-0-00' });
  });

  it('labels the pods with the tag the image has in the registry they pull from, never the archive\'s own (found by a probe)', () => {
    const tagOf = (over: Partial<typeof SCENARIOS.realistic>): unknown => {
      const input = { ...SCENARIOS.realistic!, image: { ...SCENARIOS.realistic!.image, repoTags: ['myapp:latest'] }, ...over };
      return (at(find(renderManifests(input), 'Deployment'), 'spec.template.metadata.labels') as Json)['orbit/image-tag'];
    };
    expect(tagOf({ registryTag: '127.0.0.1:5050/orbit/billing-api:v1-0-00-sZKFkIPENKme' })).toBe('v1-0-00-sZKFkIPENKme');
    expect(tagOf({})).toBe('v1-0-00');
    expect(tagOf({ registryTag: null })).toBe('v1-0-00');
  });

  it('runs restricted: non-root, no escalation, no capabilities, RuntimeDefault seccomp, read-only root', () => {
    expect(podSpec(realistic).securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container(realistic).securityContext).toEqual({
      allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true,
      capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(podSpec(realistic).automountServiceAccountToken).toBe(false);
    expect(find(realistic, 'ServiceAccount').automountServiceAccountToken).toBe(false);
  });

  it('mounts an emptyDir at /tmp and at each volume path', () => {
    expect(container(realistic).volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }, { name: 'writable-0', mountPath: '/var/lib/billing' }]);
    expect(podSpec(realistic).volumes).toEqual([{ name: 'tmp', emptyDir: {} }, { name: 'writable-0', emptyDir: {} }]);
  });

  it('sets requests and limits, probes from the HEALTHCHECK, and the grace period', () => {
    expect(container(realistic).resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
    expect(container(realistic).livenessProbe).toEqual({ exec: { command: ['/app/billing', 'health'] }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 });
    expect(container(realistic).startupProbe).toMatchObject({ failureThreshold: 4 });
    expect(podSpec(realistic).terminationGracePeriodSeconds).toBe(30);
  });

  it('schedules pods onto nodes of the image\'s platform (mixed arm64/amd64 clusters)', () => {
    expect(podSpec(realistic).nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' });
    const arm = renderManifests(inputOf({ imageName: 'arm-app' }, {}, 'Development', { architecture: 'arm64', os: 'linux' }));
    expect(podSpec(arm).nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' });
  });

  it('pins a multi-platform image by its index and selects only what its platforms share, so each node pulls its own', () => {
    const digest = (c: string): string => `sha256:${c.repeat(64)}`;
    const entry = (os: string, architecture: string, attestation = false) => ({
      digest: digest(architecture === 'arm64' ? 'a' : 'c'), mediaType: 'application/vnd.oci.image.manifest.v1+json', sizeBytes: 400,
      os, architecture, variant: null, attestation, configDigest: digest('b'), blobs: [],
    });
    const indexed = (manifests: ReturnType<typeof entry>[]) =>
      renderManifests(inputOf({ imageName: 'multi' }, {}, 'Development', { index: { digest: digest('e'), mediaType: 'application/vnd.oci.image.index.v1+json', manifests } }));
    const both = indexed([entry('linux', 'amd64'), entry('linux', 'aarch64'), entry('', '', true)]);
    expect(container(both).image).toBe(`registry.example/orbit/multi@${digest('e')}`);
    expect(podSpec(both).nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    // buildx's default: one platform and its attestation: the index is pinned, the platform still selected.
    const one = indexed([entry('linux', 'arm64'), entry('', '', true)]);
    expect(container(one).image).toBe(`registry.example/orbit/multi@${digest('e')}`);
    expect(podSpec(one).nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' });
    expect(podSpec(indexed([entry('linux', 'amd64'), entry('windows', 'amd64')])).nodeSelector).toEqual({ 'kubernetes.io/arch': 'amd64' });
  });

  it('names the platform as nodes label themselves (Go\'s names), and selects nothing by a platform no label can say', () => {
    const selectorOf = (architecture: string, os: string) => podSpec(renderManifests(inputOf({ imageName: 'p' }, {}, 'Development', { architecture, os }))).nodeSelector;
    expect(selectorOf('x86_64', 'Linux')).toEqual({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' });
    expect(selectorOf('aarch64', 'linux')).toEqual({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' });
    expect(selectorOf('i686', 'windows')).toEqual({ 'kubernetes.io/os': 'windows', 'kubernetes.io/arch': '386' });
    // An image config may say anything: a nodeSelector value that is no label value makes the whole Deployment invalid.
    expect(selectorOf('my arch', 'linux')).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(selectorOf('riscv64', `linux-${'x'.repeat(60)}`)).toEqual({ 'kubernetes.io/arch': 'riscv64' });
  });

  it('spreads pods over zones and nodes', () => {
    const selector = { 'app.kubernetes.io/name': 'billing-api', 'app.kubernetes.io/instance': 'billing-api' };
    expect(podSpec(realistic).topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
    ]);
    expect(at(podSpec(realistic), 'affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution')).toHaveLength(1);
  });

  it('passes env through a ConfigMap, and rolls pods when it changes', () => {
    const configMap = find(realistic, 'ConfigMap');
    expect(configMap.data).toEqual({ PATH: '/usr/local/bin:/usr/bin:/bin', MODE: 'prod' });
    expect(container(realistic).envFrom).toEqual([{ configMapRef: { name: 'billing-api-env' } }]);
    expect(at(find(realistic, 'Deployment'), 'spec.template.metadata.annotations')).toMatchObject({ 'checksum/env': sha256Hex(goJson(configMap.data)) });
  });

  it('autoscales 2 to 5 on 80% CPU, so the Deployment has no replicas; keeps one pod through disruptions', () => {
    expect(find(realistic, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 2, maxReplicas: 5, metrics: [{ resource: { target: { averageUtilization: 80 } } }] });
    expect(find(realistic, 'Deployment').spec).not.toHaveProperty('replicas');
    expect(find(realistic, 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  it('admits ingress only to the app port from the same namespace; allows DNS and all egress', () => {
    expect(find(realistic, 'NetworkPolicy').spec).toMatchObject({
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 8080, protocol: 'TCP' }] }],
      egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }, {}],
    });
  });

  it('labels every object with the recommended labels, the environment and the image labels', () => {
    for (const object of realistic) {
      expect(object.metadata.labels).toEqual({
        'helm.sh/chart': 'billing-api-1.0.0', 'app.kubernetes.io/name': 'billing-api', 'app.kubernetes.io/instance': 'billing-api',
        'app.kubernetes.io/version': 'v1-0-00', 'app.kubernetes.io/managed-by': 'Helm', environment: 'Development', team: 'payments',
      });
    }
  });

  it('takes the environment and release name as parameters', () => {
    const production = renderManifests(SCENARIOS.realistic!, 'Production', { releaseName: 'prod' });
    expect(production[0]!.metadata).toMatchObject({ name: 'prod-billing-api', labels: { environment: 'Production', 'app.kubernetes.io/instance': 'prod' } });
  });

  it('serves the lowest EXPOSEd TCP port as the app\'s (80, though Docker stores 443 first) and the others beside it (container, Service, NetworkPolicy), runs USER root as 10001 and probes TCP without a HEALTHCHECK', () => {
    const web = renderManifests(SCENARIOS.webRootManyPorts!);
    expect(find(web, 'Service').spec).toMatchObject({ ports: [
      { name: 'app', port: 80, targetPort: 'app', protocol: 'TCP' }, { name: 'tcp-443', port: 443, targetPort: 'tcp-443', protocol: 'TCP' },
      { name: 'tcp-9113', port: 9113, targetPort: 'tcp-9113', protocol: 'TCP' }, { name: 'udp-443', port: 443, targetPort: 'udp-443', protocol: 'UDP' },
    ] });
    expect(container(web).ports).toEqual([
      { name: 'app', containerPort: 80, protocol: 'TCP' }, { name: 'tcp-443', containerPort: 443, protocol: 'TCP' },
      { name: 'tcp-9113', containerPort: 9113, protocol: 'TCP' }, { name: 'udp-443', containerPort: 443, protocol: 'UDP' },
    ]);
    expect((find(web, 'NetworkPolicy').spec as { ingress: { ports: unknown[] }[] }).ingress[0]!.ports).toEqual([
      { port: 80, protocol: 'TCP' }, { port: 443, protocol: 'TCP' }, { port: 9113, protocol: 'TCP' }, { port: 443, protocol: 'UDP' },
    ]);
    // USER root: no group set, so the runtime gives the unknown UID group 0, as OpenShift runs an arbitrary UID.
    expect(podSpec(web).securityContext).toEqual({ runAsNonRoot: true, runAsUser: FALLBACK_UID, fsGroup: FALLBACK_UID, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container(web).readinessProbe).toMatchObject({ tcpSocket: { port: 'app' } });
  });

  it('without any port: no Service, no ingress, no probes, args from the command override', () => {
    const worker = renderManifests(SCENARIOS.workerNoPorts!);
    expect(kinds(worker)).not.toContain('Service');
    expect(find(worker, 'NetworkPolicy').spec).not.toHaveProperty('ingress');
    expect(container(worker)).not.toHaveProperty('livenessProbe');
    expect(container(worker)).not.toHaveProperty('ports');
    expect(container(worker).args).toEqual(['work', '--queue', 'jobs']);
    expect(container(worker)).not.toHaveProperty('command');
    expect(podSpec(worker).securityContext).toMatchObject({ runAsUser: FALLBACK_UID });
    expect(container(worker).volumeMounts).toContainEqual({ name: 'writable-0', mountPath: '/srv/cache' });
  });

  it('keeps hostile metadata as data: env, commands, working dir, labels', () => {
    const hostile = renderManifests(SCENARIOS.hostile!);
    const deployment = find(hostile, 'Deployment');
    expect(container(hostile).command).toEqual(['/bin/sh', '-c', `exec /app/run --title='a b' "quoted"`]);
    // Every $ doubled: the kubelet reads $$ as $ and expands $(NAME) from the environment, and the container must get '$(date) $$ $HOME'.
    expect(container(hostile).args).toEqual(['--config', '/etc/app/config.yaml', '--greeting', 'hello: {{ world }}', '--at', '$$(date) $$$$ $$HOME', '<<', '=', '<<=']);
    expect(container(hostile).workingDir).toBe('/srv/my app');
    expect(find(hostile, 'ConfigMap').data).toMatchObject({ TEMPLATE: '{{ .Values }} {{ include "orbit.fullname" . }} {{- fail "boom" }}', YES: 'yes', on: 'on', QUOTES: `He said "hi" and 'bye'` });
    expect(podSpec(hostile).securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000 });
    expect(at(deployment, 'metadata.labels')).toMatchObject({ 'example.com/owner': 'team-a', 'app.kubernetes.io/name': 'etrange-service-name', environment: 'Staging' });
    expect(at(deployment, 'spec.template.metadata.labels')).toMatchObject({ 'orbit/image-tag': 'v0-0-01' });
    expect(at(deployment, 'metadata.annotations')).toEqual({ description: 'Free text: {{ not a label }}', note: '=' });
    expect((container(hostile).volumeMounts as Json[]).map((mount) => mount.mountPath)).toEqual(['/tmp', '/\nstarts with a newline', '/data', '/srv/data', '/var/cache\u3000', '/var/log/app']);
  });

  it('names a chart called "yes" as the string "yes"; a UDP port gets a UDP Service and no probes', () => {
    const yes = renderManifests(SCENARIOS.yamlBooleanName!);
    expect(yes.every((object) => object.metadata.name.startsWith('yes'))).toBe(true);
    expect(find(yes, 'Service').spec).toMatchObject({ ports: [{ port: 53, protocol: 'UDP' }] });
    expect(container(yes)).not.toHaveProperty('readinessProbe');
  });

  it('serves metadata.port over UDP, unprobed, when the image EXPOSEs it for UDP only (a TCP port got TCP probes nothing answered: the pod restarted forever)', () => {
    const input = inputOf({ imageName: 'statsd', port: 8125 }, { exposedPorts: ['8125/udp'] });
    const statsd = renderManifests(input);
    expect(container(statsd).ports).toEqual([{ name: 'app', containerPort: 8125, protocol: 'UDP' }]);
    expect(find(statsd, 'Service').spec).toMatchObject({ ports: [{ name: 'app', port: 8125, targetPort: 'app', protocol: 'UDP' }] });
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(container(statsd)).not.toHaveProperty(probe);
    expect(buildValues(input)).toMatchObject({ containerPort: { protocol: 'UDP' }, probes: { enabled: false, disabledReason: expect.stringMatching(/UDP/) } });
  });

  it('keeps an OpenShift-style image\'s group 0 and gives a relative WORKDIR, and a VOLUME under it, the absolute path runc needs (found by a review: gid 1001, no workingDir)', () => {
    const ubi = renderManifests(SCENARIOS.rootGroup!);
    expect(podSpec(ubi).securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1001, runAsGroup: 0, fsGroup: 0, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container(ubi).workingDir).toBe('/app');
    expect(container(ubi).volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }, { name: 'writable-0', mountPath: '/app/data' }]);
  });

  it('leaves a writable path unmounted, or mounts a PVC there, where writablePathOverrides says, keeping each volume\'s writable-N name', () => {
    const input = inputOf({ imageName: 'sonar' }, { volumes: ['/opt/app/data', '/opt/app/extensions', '/opt/app/logs'] });
    const values = { ...buildValues(input), writablePathOverrides: [{ path: '/opt/app/extensions', unmounted: true as const }, { path: '/opt/app/logs', claimName: 'sonar-logs' }] };
    const spec = at(deploymentOf({ values, releaseName: 'r', chartName: 'sonar', chartVersion: '1.0.0', appVersion: 'v1-0-0' }), 'spec.template.spec') as Json;
    expect((spec.containers as Json[])[0]!.volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' }, { name: 'writable-0', mountPath: '/opt/app/data' }, { name: 'writable-2', mountPath: '/opt/app/logs' },
    ]);
    expect(spec.volumes).toEqual([{ name: 'tmp', emptyDir: {} }, { name: 'writable-0', emptyDir: {} }, { name: 'writable-2', persistentVolumeClaim: { claimName: 'sonar-logs' } }]);
  });

  it('keeps names within 63 characters (the ConfigMap adds -env: its name may be a 253-character DNS subdomain)', () => {
    for (const object of renderManifests(SCENARIOS.longName!, 'Production', { releaseName: 'a-release-name-that-is-rather-long-too' })) {
      const name = object.kind === 'ConfigMap' ? object.metadata.name.replace(/-env$/, '') : object.metadata.name;
      expect(name.length, object.kind).toBeLessThanOrEqual(63);
      expect(name).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    }
  });
});

describe('goJson', () => {
  it("matches Go's json.Marshal: sorted keys and HTML-safe escapes", () => {
    expect(goJson({ b: '<&>', a: '\u2028', c: 'é"\n' })).toBe('{"a":"\\u2028","b":"\\u003c\\u0026\\u003e","c":"é\\"\\n"}');
  });

  it('sorts keys JavaScript lists first (integer-like ones) and keys beyond U+FFFF among the rest by their bytes, as Go does', () => {
    expect(goJson({ '123': 'a', '0X_1F': 'b', B: { '7': 1, '10': 2, '08': 3 }, '\uff01': 'c', '\u{1f680}': 'd' }))
      .toBe('{"0X_1F":"b","123":"a","B":{"08":3,"10":2,"7":1},"\uff01":"c","\u{1f680}":"d"}');
  });
});
