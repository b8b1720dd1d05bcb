import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainMergeOrValueKeys } from '../../../test/helpers/yaml.js';
import { apiServerVerdict, installChartTools, parseObjectStream, writeTree, type ChartTool } from '../../../deploy/local/tools/chart-tools.js';
import {
  chartNameOf, chartVersionOf, ENVIRONMENTS, kustomizeBase, kustomizeOverlay, overlaidManifests, overlayDirOf, OVERLAY_SETTINGS,
  packageChart, packageFileNameOf, renderChart, renderManifests, repinnedImage, type ChartInput, type K8sObject,
} from './index.js';
import { chartPullingFrom } from './repackage-chart.js';
import { deploymentOf } from './chart/manifests-workload.js';
import { buildValues } from './chart/values.js';
import { SCENARIOS } from './testing/inputs.js';

/**
 * The chart against the real tools: helm lint --strict, helm template equal
 * to renderManifests, kube-linter's default checks with zero findings, helm
 * package's file list, kustomize build of every overlay, and kube-apiserver's
 * own decoding and create validation (k8s-validate) of what they render.
 */

const execFileAsync = promisify(execFile);
let tools: Record<ChartTool, string | null>;
let workDir: string;

beforeAll(async () => {
  const installed = await installChartTools();
  tools = { ...installed.paths };
  console.info(installed.report);
  workDir = await mkdtemp(join(tmpdir(), 'orbit-chart-tools-'));
}, 15 * 60_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function run(tool: ChartTool, args: string[], cwd = workDir): Promise<string> {
  const path = tools[tool];
  if (path === null) throw new Error(`${tool} is not installed`);
  try {
    const { stdout } = await execFileAsync(path, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`${tool} ${args.join(' ')} failed:\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`, { cause: error });
  }
}

/** `kubectl kustomize` embeds the same library; when a kubectl is on PATH its output must match. Null without kubectl. */
async function kubectlKustomize(dir: string): Promise<string | null> {
  try {
    return (await execFileAsync('kubectl', ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** helm's and kustomize's output, as the API server would read it. */
const parseStream = (text: string): K8sObject[] => parseObjectStream<K8sObject>(text);

function tarNames(tgz: Buffer): string[] {
  const tar = gunzipSync(tgz);
  const names: string[] = [];
  for (let offset = 0; offset + 512 <= tar.length;) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const prefix = header.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
    const size = Number.parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0);
    if (type === '0' || type === '\0') names.push(prefix ? `${prefix}/${name}` : name);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names.sort();
}

describe.each(Object.entries(SCENARIOS))('chart for %s', (scenario, input: ChartInput) => {
  const chartName = chartNameOf(input.metadata.imageName, input.imageUID);
  const chartVersion = chartVersionOf(input.metadata.imageVersion);
  let chartDir: string;

  beforeAll(async () => {
    chartDir = join(workDir, scenario, chartName);
    await writeTree(chartDir, renderChart(input));
  });

  it('passes helm lint --strict', async () => {
    const out = await run('helm', ['lint', '--strict', chartDir]);
    expect(out).toContain('0 chart(s) failed');
    expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it('renders with helm template exactly what renderManifests returns', async () => {
    const rendered = parseStream(await run('helm', ['template', chartName, chartDir, '--skip-tests']));
    expect(rendered).toEqual(renderManifests(input, input.environment));
  });

  it('writes, and helm renders, no plain `<<` or `=`, which YAML 1.1 readers (PyYAML, the Python kubernetes client) take for the merge and value keys and refuse (found by a review)', async () => {
    const rendered = await run('helm', ['template', chartName, chartDir]);
    const ours = [...renderChart(input), ...kustomizeBase(renderManifests(input))].filter(([path]) => path.endsWith('.yaml'));
    for (const [path, text] of [['helm template', rendered], ...ours] as const) expect(plainMergeOrValueKeys(text), path).toEqual([]);
  });

  it('renders the same under another release name and namespace', async () => {
    const rendered = parseStream(await run('helm', ['template', 'other-release', chartDir, '--skip-tests', '--namespace', 'elsewhere']));
    expect(rendered).toEqual(renderManifests(input, input.environment, { releaseName: 'other-release' }));
  });

  it('adds only the test hook pod when tests are not skipped', async () => {
    const all = parseStream(await run('helm', ['template', chartName, chartDir]));
    const manifests = renderManifests(input, input.environment);
    const extra = all.slice(manifests.length);
    expect(all.slice(0, manifests.length)).toEqual(manifests);
    const tcpService = manifests.some((object) => object.kind === 'Service' && JSON.stringify(object).includes('"protocol":"TCP"'));
    expect(extra.map((object) => [object.kind, object.metadata.annotations?.['helm.sh/hook']])).toEqual(tcpService ? [['Pod', 'test']] : []);
  });

  it('renders, test hook included, only objects kube-apiserver would create without a warning', async () => {
    const stream = await run('helm', ['template', chartName, chartDir, '--namespace', 'orbit-apps']);
    const verdict = await apiServerVerdict(tools['k8s-validate'] ?? 'k8s-validate', stream, 'orbit-apps');
    expect(verdict.problems).toEqual([]);
    expect(verdict.checked).toBe(parseStream(stream).length);
  });

  it('has zero kube-linter findings with the default checks', async (ctx) => {
    if (tools['kube-linter'] === null) ctx.skip(); // the module proxy refuses kube-linter here; see install-chart-tools.sh
    const out = await run('kube-linter', ['lint', chartDir]);
    expect(out).toContain('No lint errors found!');
  });

  it('packs the same file list as helm package', async () => {
    const helmOut = join(workDir, scenario, 'helm-package');
    await mkdir(helmOut, { recursive: true });
    await run('helm', ['package', chartDir, '--destination', helmOut]);
    expect(await readdir(helmOut)).toEqual([packageFileNameOf(chartName, chartVersion)]);
    const helmTgz = await readFile(join(helmOut, packageFileNameOf(chartName, chartVersion)));
    const ours = await packageChart(renderChart(input), chartName, chartVersion);
    expect(tarNames(ours)).toEqual(tarNames(helmTgz));
    // helm can install what packageChart wrote: template the archive itself.
    const tgzPath = join(workDir, scenario, 'ours.tgz');
    await writeFile(tgzPath, ours);
    expect(parseStream(await run('helm', ['template', chartName, tgzPath, '--skip-tests']))).toEqual(renderManifests(input));
  });

  it('builds every Kustomize overlay, each with zero kube-linter findings and every object one kube-apiserver would create', async () => {
    const root = join(workDir, scenario, 'kustomize');
    await writeTree(root, kustomizeBase(renderManifests(input)));
    for (const environment of ENVIRONMENTS) await writeTree(root, kustomizeOverlay(environment));
    for (const environment of ENVIRONMENTS) {
      const text = await run('kustomize', ['build', join(root, overlayDirOf(environment))]);
      const built = parseStream(text);
      expect(await apiServerVerdict(tools['k8s-validate'] ?? 'k8s-validate', text)).toEqual({ checked: built.length, problems: [] });
      const kubectlBuilt = await kubectlKustomize(join(root, overlayDirOf(environment)));
      if (kubectlBuilt !== null) expect(parseStream(kubectlBuilt)).toEqual(built);
      if (tools['kube-linter'] !== null) {
        const file = join(root, `built-${environment}.yaml`);
        await writeFile(file, text);
        expect(await run('kube-linter', ['lint', file])).toContain('No lint errors found!');
      }
      // The environment's kustomize table holds overlaidManifests: exactly what kustomize builds, in the base's order.
      const byKindAndName = (objects: readonly K8sObject[]) => [...objects].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
      expect(byKindAndName(overlaidManifests(renderManifests(input), environment))).toEqual(byKindAndName(built));
      const settings = OVERLAY_SETTINGS[environment];
      expect(built).toHaveLength(renderManifests(input).length);
      for (const object of built) {
        expect((object.metadata as { namespace?: string }).namespace).toBe(settings.namespace);
        expect(object.metadata.labels?.environment).toBe(environment);
      }
      const hpa = built.find((object) => object.kind === 'HorizontalPodAutoscaler') as unknown as { spec: { minReplicas: number; maxReplicas: number } };
      expect(hpa.spec).toMatchObject({ minReplicas: settings.minReplicas, maxReplicas: settings.maxReplicas });
      const deployment = built.find((object) => object.kind === 'Deployment') as unknown as {
        spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { containers: { resources: unknown }[] } } };
      };
      expect(deployment.spec.selector.matchLabels).not.toHaveProperty('environment');
      expect(deployment.spec.template.metadata.labels.environment).toBe(environment);
      if (settings.resources) expect(deployment.spec.template.spec.containers[0]?.resources).toEqual(settings.resources);
    }
  });

  it('pulls from an environment\'s own registry where its overlay names one, by the same digest, as the promoted chart row does', async () => {
    const root = join(workDir, scenario, 'kustomize-renamed');
    const manifests = renderManifests(input);
    await writeTree(root, kustomizeBase(manifests));
    const newName = `testing.registry.example:8443/orbit-testing/${chartNameOf(input.metadata.imageName, input.imageUID)}`;
    await writeTree(root, kustomizeOverlay('Testing', { name: input.imageRepository, newName }));
    const built = parseStream(await run('kustomize', ['build', join(root, overlayDirOf('Testing'))]));
    const pinned = (manifests.find((object) => object.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image;
    const digest = pinned.slice(pinned.indexOf('@') + 1);
    const byKindAndName = (objects: readonly K8sObject[]) => [...objects].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
    expect(byKindAndName(repinnedImage(overlaidManifests(manifests, 'Testing'), `${newName}@${digest}`))).toEqual(byKindAndName(built));
    expect(JSON.stringify(built)).toContain(`"image":"${newName}@${digest}"`);
    expect(JSON.stringify(built)).not.toContain(`${input.imageRepository}@`);
  });

  it('renders, packaged again for an environment\'s own registry, what the promoted row pins there', async () => {
    const newName = `testing.registry.example:8443/orbit-testing/${chartName}`;
    const manifests = renderManifests(input);
    const pinned = (manifests.find((object) => object.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image;
    const repacked = await chartPullingFrom(await packageChart(renderChart(input), chartName, chartVersion), chartName, chartVersion, newName);
    const tgzPath = join(workDir, scenario, 'testing.tgz');
    await writeFile(tgzPath, repacked);
    expect(await run('helm', ['lint', '--strict', tgzPath])).toContain('0 chart(s) failed');
    const rendered = parseStream(await run('helm', ['template', chartName, tgzPath, '--skip-tests']));
    expect(rendered).toEqual(repinnedImage(manifests, `${newName}@${pinned.slice(pinned.indexOf('@') + 1)}`));
  });
});

describe('values a user sets at helm install', () => {
  it('are refused by helm itself when the API server would refuse what they render (names, label and annotation maps, env keys, tolerations, HPA bounds), and good ones render objects it takes', async () => {
    const input = SCENARIOS['realistic'] as ChartInput;
    const chartDir = join(workDir, 'overrides', chartNameOf(input.metadata.imageName, input.imageUID));
    await writeTree(chartDir, renderChart(input));
    const refused = [
      'nameOverride=Other', 'nameOverride=-x', 'fullnameOverride=9lives', 'fullnameOverride=my_app', 'serviceAccount.name=Bad',
      'commonLabels.team=a b', 'commonLabels.a/b/c=x', 'nodeSelector.a b=c', 'podAnnotations.bad key=x', 'env.BAD KEY=x', 'env.\\.\\.data=x',
      'tolerations[0].key=a,tolerations[0].operator=Bogus', 'writablePaths={/tmp}', 'writablePaths={/data,/tmp/}', 'resources.limits.cpu=-1', 'resources.limits.memory=lots',
      // Keys the chart sets itself: a selector label gave a Deployment the API server refuses, the rest a key twice (found by a probe).
      'commonLabels.app\\.kubernetes\\.io/name=x', 'commonLabels.app\\.kubernetes\\.io/instance=zz', 'commonLabels.environment=prod',
      // Found by a review with the API server's own validation: each passed the schema and was refused at apply.
      'extraPorts[0].name=a--b,extraPorts[0].containerPort=9090,extraPorts[0].protocol=TCP', 'extraPorts[0].name=app,extraPorts[0].containerPort=9090,extraPorts[0].protocol=TCP',
      'probes.liveness.successThreshold=2', 'probes.startup.successThreshold=3', 'securityContext.seccompProfile.type=Localhost',
      'podAntiAffinity.topologyKey=Bad Key!', 'tolerations[0].key=a,tolerations[0].operator=Exists,tolerations[0].value=x',
      'tolerations[0].key=a,tolerations[0].operator=Exists,tolerations[0].effect=NoSchedule,tolerations[0].tolerationSeconds=30', 'image.tag=bad tag',
      // The pods run image.digest: another tag changed nothing but the orbit/image-tag label (found by a review: Argo CD Image Updater's override).
      'image.tag=1.4.2_rc-1', 'workingDir=app',
      'writablePathOverrides[0].path=/var/lib/billing,writablePathOverrides[0].unmounted=true,writablePathOverrides[0].claimName=x',
      'writablePathOverrides[0].path=/var/lib/billing', 'writablePathOverrides[0].path=/var/lib/billing,writablePathOverrides[0].claimName=Bad',
      'priorityClassName=High Priority', 'runtimeClassName=Bad_Name', 'podLabels.environment=x', 'podLabels.orbit/image-tag=x', 'service.annotations.bad key=x',
      'lifecycle.preStop.sleep.seconds=5,lifecycle.preStop.exec.command={/bin/drain}', 'lifecycle.preStop.sleep.seconds=-1', 'lifecycle.onExit.sleep.seconds=1', 'affinity.bogus.a=b',
      // Root only with allowRoot, and then consistently (the kubelet refuses UID 0 where runAsNonRoot is true).
      'podSecurityContext.runAsNonRoot=false', 'podSecurityContext.runAsUser=0', 'securityContext.capabilities.add={NET_BIND_SERVICE}',
      'allowRoot=true,podSecurityContext.runAsUser=0,podSecurityContext.runAsNonRoot=false', 'allowRoot=true,tests.securityContext.runAsNonRoot=false',
      'networkPolicy.ingressFrom[0].ipBlock.cidr=10.0.0.0/8,networkPolicy.ingressFrom[0].podSelector.matchLabels.a=b',
    ];
    for (const bad of refused) {
      await expect(run('helm', ['template', 'rel', chartDir, '--set', bad]), bad).rejects.toThrow(/values don't meet the specifications of the schema/);
    }
    await expect(run('helm', ['template', 'rel', chartDir, '--set', 'autoscaling.minReplicas=5,autoscaling.maxReplicas=2'])).rejects.toThrow(/autoscaling\.minReplicas \(5\) must not exceed autoscaling\.maxReplicas \(2\)/);
    // Each refusal says what to change: allowRoot for root, the chart's own tag for image.tag, a path of writablePaths for an override.
    await expect(run('helm', ['template', 'rel', chartDir, '--set', 'podSecurityContext.runAsUser=0,podSecurityContext.runAsNonRoot=false,securityContext.runAsNonRoot=false'])).rejects.toThrow(/- allowRoot: allowRoot does not match: true/);
    await expect(run('helm', ['template', 'rel', chartDir, '--set', 'image.tag=1.10.0'])).rejects.toThrow(/- image\.tag: image\.tag does not match: "v1-0-00"/);
    await expect(run('helm', ['template', 'rel', chartDir, '--set', 'writablePathOverrides[0].path=/var/lib/other,writablePathOverrides[0].unmounted=true']))
      .rejects.toThrow(/writablePathOverrides\[0\]: path "\/var\/lib\/other" is not one of writablePaths/);
    await expect(run('helm', ['template', 'rel', chartDir, '--set', 'podLabels.team=x'])).rejects.toThrow(/podLabels: "team" is a commonLabels key already/);
    // The API server refuses a sleep past the grace period: said at install, not after the other objects went in (found by a reread).
    await expect(run('helm', ['template', 'rel', chartDir, '--set', 'terminationGracePeriodSeconds=20,lifecycle.preStop.sleep.seconds=21']))
      .rejects.toThrow(/lifecycle\.preStop\.sleep\.seconds \(21\) must not exceed terminationGracePeriodSeconds \(20\)/);
    await run('helm', ['template', 'rel', chartDir, '--set', 'terminationGracePeriodSeconds=20,lifecycle.preStop.sleep.seconds=20']);
    // A release installed from a chart before these values (helm upgrade --reuse-values keeps its values, which lack them) still renders,
    // without the no-command warning (found by a reread: every such upgrade failed "podLabels is required").
    const reused = await run('helm', ['template', 'rel', chartDir, '--set',
      'podLabels=null,imageHasCommand=null,writablePathOverrides=null,lifecycle=null,priorityClassName=null,runtimeClassName=null,affinity=null,service.annotations=null']);
    expect(reused).toContain('kind: Deployment');
    const taken = [
      'nameOverride=other', 'fullnameOverride=custom-name', 'nameOverride=', 'serviceAccount.name=ci.bot', 'commonLabels.example\\.com/team=a_b',
      'nodeSelector.node\\.kubernetes\\.io/instance-type=m5\\.large', 'podAnnotations.example\\.com/note=any text: yes', 'env.\\.hidden=visible',
      'tolerations[0].key=dedicated,tolerations[0].operator=Equal,tolerations[0].value=orbit,tolerations[0].effect=NoSchedule', 'autoscaling.minReplicas=3,autoscaling.maxReplicas=3',
      'writablePaths={/data,/tmp/cache}', 'resources.limits.cpu=2,resources.requests.cpu=0.5',
      'autoscaling.minReplicas=1', 'autoscaling.enabled=false,replicaCount=1', 'podDisruptionBudget.maxUnavailable=2', 'global.region=eu',
      'securityContext.seccompProfile.type=Localhost,securityContext.seccompProfile.localhostProfile=profiles/app.json', 'podAntiAffinity.topologyKey=topology.kubernetes.io/zone',
      'tolerations[0].operator=Exists', 'tolerations[0].key=node.kubernetes.io/unreachable,tolerations[0].operator=Exists,tolerations[0].effect=NoExecute,tolerations[0].tolerationSeconds=30',
      'probes.readiness.successThreshold=2', 'image.tag=v1-0-00', 'extraPorts[0].name=h3,extraPorts[0].containerPort=8080,extraPorts[0].protocol=UDP',
      // Group 0 is no root: the restricted Pod Security Standard bounds the UID only (found by a review: refused without allowRoot).
      'podSecurityContext.runAsGroup=0,podSecurityContext.fsGroup=0',
      'writablePathOverrides[0].path=/var/lib/billing,writablePathOverrides[0].unmounted=true',
      'writablePathOverrides[0].path=/var/lib/billing,writablePathOverrides[0].claimName=billing-data',
      // Everyday platform settings Argo CD users cannot post-render in (found by a review: the closed schema refused each).
      'priorityClassName=high', 'runtimeClassName=gvisor', 'podLabels.example\\.com/cost-centre=c42', 'service.annotations.external-dns\\.alpha\\.kubernetes\\.io/hostname=billing.example.com',
      'lifecycle.preStop.sleep.seconds=5', 'lifecycle.preStop.exec.command={/bin/drain}', 'lifecycle.preStop.httpGet.path=/drain,lifecycle.preStop.httpGet.port=app',
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool,affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=In,affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values={apps}',
      'allowRoot=true,podSecurityContext.runAsUser=0,podSecurityContext.runAsGroup=0,podSecurityContext.fsGroup=0,podSecurityContext.runAsNonRoot=false,securityContext.runAsNonRoot=false,securityContext.readOnlyRootFilesystem=false,securityContext.capabilities.add={CHOWN,SETUID,SETGID,NET_BIND_SERVICE}',
      'networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=ingress-nginx,networkPolicy.ingressFrom[1].ipBlock.cidr=10.0.0.0/8,networkPolicy.ingressFrom[1].ipBlock.except={10.1.0.0/16}',
    ];
    for (const good of taken) {
      const stream = await run('helm', ['template', 'rel', chartDir, '--set', good]);
      expect(await apiServerVerdict(tools['k8s-validate'] ?? 'k8s-validate', stream), good).toEqual({ checked: parseStream(stream).length, problems: [] });
    }
    // A sysctl's value is a string: --set would make `0` a number, which the schema refuses.
    const sysctl = await run('helm', ['template', 'rel', chartDir, '--set-string', 'podSecurityContext.sysctls[0].name=net.ipv4.ip_unprivileged_port_start,podSecurityContext.sysctls[0].value=0']);
    expect(await apiServerVerdict(tools['k8s-validate'] ?? 'k8s-validate', sysctl)).toEqual({ checked: parseStream(sysctl).length, problems: [] });
  });

  it('renders the settings a platform adds (PVC or unmounted VOLUME paths, pod labels, priority and runtime class, preStop, affinity, Service annotations) as the manifests path does, and kube-apiserver takes them', async () => {
    const input = SCENARIOS['webRootManyPorts'] as ChartInput;
    const chartName = chartNameOf(input.metadata.imageName, input.imageUID);
    const chartDir = join(workDir, 'platform', chartName);
    await writeTree(chartDir, renderChart(input));
    const overrides = {
      writablePathOverrides: [{ path: '/var/cache/nginx', unmounted: true as const }, { path: '/var/run', claimName: 'web-run' }],
      podLabels: { 'example.com/cost-centre': 'c42' }, priorityClassName: 'high', runtimeClassName: 'gvisor',
      lifecycle: { preStop: { sleep: { seconds: 5 } } },
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['apps'] }] }] } } },
      service: { ...buildValues(input).service, annotations: { 'external-dns.alpha.kubernetes.io/hostname': 'web.example.com' } },
    };
    const valuesFile = join(workDir, 'platform', 'values.json');
    await writeFile(valuesFile, JSON.stringify(overrides));
    const stream = await run('helm', ['template', 'rel', chartDir, '-f', valuesFile, '--skip-tests']);
    expect(await apiServerVerdict(tools['k8s-validate'] ?? 'k8s-validate', stream)).toEqual({ checked: parseStream(stream).length, problems: [] });
    const rendered = parseStream(stream);
    const values = { ...buildValues(input), ...overrides };
    const ctx = { values, releaseName: 'rel', chartName, chartVersion: chartVersionOf(input.metadata.imageVersion), appVersion: input.metadata.imageVersion };
    expect(rendered.find((object) => object.kind === 'Deployment')).toEqual(deploymentOf(ctx));
    expect(rendered.find((object) => object.kind === 'Service')?.metadata.annotations).toEqual({ 'external-dns.alpha.kubernetes.io/hostname': 'web.example.com' });
    const pod = (deploymentOf(ctx).spec as { template: { spec: { volumes: unknown[]; affinity: unknown } } }).template.spec;
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: {} }, { name: 'writable-1', persistentVolumeClaim: { claimName: 'web-run' } }]);
    expect(pod.affinity).toEqual(overrides.affinity);
  });

  it('refuses two ports alike, which the schema cannot compare, naming them (found by a review: the API server refused the Deployment or the Service)', async () => {
    const input = SCENARIOS['realistic'] as ChartInput;
    const chartDir = join(workDir, 'ports', chartNameOf(input.metadata.imageName, input.imageUID));
    await writeTree(chartDir, renderChart(input));
    const extra = (index: number, name: string, port: number, protocol = 'TCP'): string =>
      `extraPorts[${index}].name=${name},extraPorts[${index}].containerPort=${port},extraPorts[${index}].protocol=${protocol}`;
    const refusals: [string, RegExp][] = [
      [extra(0, 'metrics', 8080), /extraPorts\[0\]: port 8080\/TCP is containerPort's already/],
      [`service.port=80,${extra(0, 'metrics', 80)}`, /extraPorts\[0\]: port 80\/TCP is the Service's app port \(service\.port\) already/],
      [`${extra(0, 'metrics', 9090)},${extra(1, 'metrics', 9091)}`, /extraPorts\[1\]: name "metrics" is extraPorts\[0\]'s already/],
      [`${extra(0, 'metrics', 9090)},${extra(1, 'admin', 9090)}`, /extraPorts\[1\]: port 9090\/TCP is extraPorts\[0\]'s already/],
    ];
    for (const [set, message] of refusals) await expect(run('helm', ['template', 'rel', chartDir, '--set', set]), set).rejects.toThrow(message);
    // The same number for another protocol is another port (HTTP/3 beside HTTPS), and with no Service only the container's ports count.
    for (const set of [`${extra(0, 'metrics', 9090)},${extra(1, 'metrics-udp', 9090, 'UDP')}`, `service.enabled=false,service.port=80,${extra(0, 'web', 80)}`]) {
      const stream = await run('helm', ['template', 'rel', chartDir, '--set', set]);
      expect(await apiServerVerdict(tools['k8s-validate'] ?? 'k8s-validate', stream), set).toEqual({ checked: parseStream(stream).length, problems: [] });
    }
  });

  it('admits an Ingress controller and a Prometheus from other namespaces where asked: networkPolicy.ingressFrom with helm, a patch of ones own with kustomize (found by a review: only the release\'s namespace got in)', async () => {
    const input = SCENARIOS['webRootManyPorts'] as ChartInput;
    const chartDir = join(workDir, 'ingress-from', chartNameOf(input.metadata.imageName, input.imageUID));
    await writeTree(chartDir, renderChart(input));
    const peers = [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } },
    ];
    const valuesFile = join(workDir, 'ingress-from', 'values.yaml');
    await writeFile(valuesFile, JSON.stringify({ networkPolicy: { ingressFrom: peers } }));
    const stream = await run('helm', ['template', 'rel', chartDir, '-f', valuesFile]);
    expect(await apiServerVerdict(tools['k8s-validate'] ?? 'k8s-validate', stream)).toEqual({ checked: parseStream(stream).length, problems: [] });
    const policyOf = (objects: readonly K8sObject[]) => objects.find((object) => object.kind === 'NetworkPolicy')?.spec as { ingress: { from: unknown[]; ports: unknown[] }[] };
    const base = policyOf(renderManifests(input)).ingress[0]!;
    expect(policyOf(parseStream(stream)).ingress).toEqual([{ ...base, from: [{ podSelector: {} }, ...peers] }]);

    // What the README tells a kustomize user: an overlay of their own over Orbit's, with a JSON patch appending the peers.
    const root = join(workDir, 'ingress-from', 'kustomize');
    await writeTree(root, kustomizeBase(renderManifests(input)));
    await writeTree(root, kustomizeOverlay('Production'));
    await writeTree(root, new Map([['overlays/mine/kustomization.yaml', [
      'resources:', '  - ../production', 'patches:', '  - target: {kind: NetworkPolicy}', '    patch: |-',
      ...peers.map((peer) => `      - {op: add, path: /spec/ingress/0/from/-, value: ${JSON.stringify(peer)}}`), '',
    ].join('\n')]]));
    const built = await run('kustomize', ['build', join(root, 'overlays/mine')]);
    expect(await apiServerVerdict(tools['k8s-validate'] ?? 'k8s-validate', built)).toEqual({ checked: parseStream(built).length, problems: [] });
    expect(policyOf(parseStream(built)).ingress).toEqual([{ ...base, from: [{ podSelector: {} }, ...peers] }]);
  });

  it('works as a dependency of an umbrella chart, which passes it Helm\'s global values (found by a probe: the schema refused `global`)', async () => {
    const input = SCENARIOS['realistic'] as ChartInput;
    const name = chartNameOf(input.metadata.imageName, input.imageUID);
    const parent = join(workDir, 'umbrella');
    await writeTree(join(parent, 'charts', name), renderChart(input));
    await writeFile(join(parent, 'Chart.yaml'), `apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n  - name: ${name}\n    version: "${chartVersionOf(input.metadata.imageVersion)}"\n`);
    await writeFile(join(parent, 'values.yaml'), 'global:\n  region: eu\n');
    expect(await run('helm', ['lint', '--strict', parent])).toContain('0 chart(s) failed');
    const rendered = parseStream(await run('helm', ['template', 'rel', parent, '--skip-tests']));
    expect(rendered.map((object) => object.kind)).toContain('Deployment');
  });

  it('gives a PodDisruptionBudget a node drain can get past when one pod may be all there is, as the Testing overlay does', async () => {
    const input = SCENARIOS['realistic'] as ChartInput;
    const chartDir = join(workDir, 'pdb', chartNameOf(input.metadata.imageName, input.imageUID));
    await writeTree(chartDir, renderChart(input));
    const budgetOf = async (...set: string[]): Promise<unknown> => {
      const objects = parseStream(await run('helm', ['template', 'rel', chartDir, '--skip-tests', ...set.flatMap((value) => ['--set', value])]));
      const { selector: _selector, unhealthyPodEvictionPolicy: _policy, ...bound } = objects.find((object) => object.kind === 'PodDisruptionBudget')?.spec as Record<string, unknown>;
      return bound;
    };
    expect(await budgetOf()).toEqual({ minAvailable: 1 });
    expect(await budgetOf('environment=Testing,autoscaling.minReplicas=1')).toEqual({ maxUnavailable: 1 });
    expect(await budgetOf('autoscaling.enabled=false,replicaCount=1')).toEqual({ maxUnavailable: 1 });
    expect(await budgetOf('podDisruptionBudget.maxUnavailable=2')).toEqual({ maxUnavailable: 2 });
    expect(await budgetOf('autoscaling.minReplicas=4,podDisruptionBudget.minAvailable=3')).toEqual({ minAvailable: 3 });
  });
});

/** NOTES.txt as helm renders it: helm template cannot show NOTES, so the chart gets a copy of it commented out as a template of its own. */
async function notesOf(input: ChartInput, dir: string, ...set: string[]): Promise<string> {
  const chartDir = join(workDir, dir, chartNameOf(input.metadata.imageName, input.imageUID));
  const files = renderChart(input);
  files.set('templates/zz-notes.yaml', `#\n${files.get('templates/NOTES.txt')!.split('\n').map((line) => `# ${line}`).join('\n')}\n`);
  await writeTree(chartDir, files);
  const out = await run('helm', ['template', 'rel', chartDir, '--namespace', 'team-a', '--show-only', 'templates/zz-notes.yaml', ...set.flatMap((value) => ['--set', value])]);
  return out.split('\n').filter((line) => line.startsWith('#')).map((line) => line.replace(/^# ?/, '')).join('\n');
}

describe('NOTES.txt', () => {
  it('offers port-forward and helm test only for a TCP app port, which both carry (found by a review: a UDP-only chart was told to use both)', async () => {
    const tcp = await notesOf(SCENARIOS['realistic'] as ChartInput, 'notes-tcp');
    expect(tcp).toContain('port-forward service/rel-billing-api 8080');
    expect(tcp).toContain('helm test rel --namespace team-a');
    const udp = await notesOf(SCENARIOS['yamlBooleanName'] as ChartInput, 'notes-udp');
    expect(udp).toContain('answers at rel-yes.team-a.svc:53 (UDP)');
    expect(udp).not.toContain('port-forward');
    expect(udp).not.toContain('helm test');
    expect(await notesOf(SCENARIOS['realistic'] as ChartInput, 'notes-untested', 'tests.enabled=false')).not.toContain('helm test');
  });

  it('warns of an image with neither ENTRYPOINT nor CMD until command or args are set (found by a review: charted silently, and no runtime starts it)', async () => {
    const bare = SCENARIOS['yamlBooleanName'] as ChartInput;
    expect(await notesOf(bare, 'notes-bare')).toMatch(/neither ENTRYPOINT nor CMD, so no container runtime can start it/);
    expect(await notesOf(bare, 'notes-bare-set', 'command={/serve}')).not.toContain('ENTRYPOINT');
    expect(await notesOf(SCENARIOS['realistic'] as ChartInput, 'notes-command')).not.toContain('ENTRYPOINT');
  });

  it('says an emptyDir hides what the image ships at a writable path, and how to keep it (found by a review: sonarqube-style extensions vanished)', async () => {
    expect(await notesOf(SCENARIOS['realistic'] as ChartInput, 'notes-volume')).toMatch(/hides whatever the image ships at that path\.\n.*writablePathOverrides/);
    expect(await notesOf(SCENARIOS['yamlBooleanName'] as ChartInput, 'notes-novolume')).not.toContain('writablePathOverrides');
  });
});

describe('reading what the tools print', () => {
  it('reads it as Kubernetes does (go-yaml\'s YAML 1.1): `-.` and `.` are strings, `yes` is true, `1.5` and `.5` are floats (found by the random charts: a ConfigMap key `-.` read as NaN)', () => {
    expect(parseStream('-.: a\n.: b\n1.5: c\nd: .5\ne: yes\nf: 1_0.5\n')).toEqual([{ '-.': 'a', '.': 'b', '1.5': 'c', d: 0.5, e: true, f: 10.5 }]);
  });
});
