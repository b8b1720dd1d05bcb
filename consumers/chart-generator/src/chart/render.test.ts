import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { HOSTILE_ENV, inputOf, SCENARIOS, TEST_UID } from '../testing/inputs.js';
import { renderChart, TEMPLATE_FILES } from './render.js';
import { VALUES_ADDED_LATER, VALUES_SCHEMA, valuesSchemaOf } from './values-schema.js';
import { buildValues } from './values.js';

const EXPECTED_FILES = [
  'Chart.yaml', 'values.yaml', 'values.schema.json',
  'templates/_helpers.tpl', 'templates/configmap.yaml', 'templates/deployment.yaml', 'templates/hpa.yaml', 'templates/networkpolicy.yaml',
  'templates/NOTES.txt', 'templates/pdb.yaml', 'templates/service.yaml', 'templates/serviceaccount.yaml', 'templates/tests/test-connection.yaml',
];
const validate = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true }).compile(VALUES_SCHEMA);

describe('renderChart', () => {
  it('writes every file of the chart', () => {
    expect([...renderChart(SCENARIOS.realistic!).keys()].sort()).toEqual([...EXPECTED_FILES].sort());
  });

  it('writes a Helm 3 Chart.yaml', () => {
    const chart = parse(renderChart(SCENARIOS.realistic!).get('Chart.yaml')!, { version: '1.1' }) as Record<string, unknown>;
    expect(chart).toMatchObject({
      apiVersion: 'v2', name: 'billing-api', version: '1.0.0', appVersion: 'v1-0-00', type: 'application', description: 'Billing API',
      annotations: { 'orbit/image-uid': TEST_UID, 'orbit/image-category': 'backend' },
    });
  });

  it('keeps hostile descriptions and versions as strings in Chart.yaml', () => {
    const chart = parse(renderChart(SCENARIOS.hostile!).get('Chart.yaml')!, { version: '1.1' }) as Record<string, unknown>;
    expect(chart).toMatchObject({ name: 'etrange-service-name', version: '0.0.1', appVersion: 'v0-0-01', description: SCENARIOS.hostile!.metadata.description });
  });

  it('writes values.yaml that reads back, as YAML 1.1, to exactly the values', () => {
    for (const input of Object.values(SCENARIOS)) {
      expect(parse(renderChart(input).get('values.yaml')!, { version: '1.1' })).toEqual(JSON.parse(JSON.stringify(buildValues(input))));
    }
  });

  it('quotes every hostile env value in values.yaml', () => {
    const text = renderChart(SCENARIOS.hostile!).get('values.yaml')!;
    const env = (parse(text, { version: '1.1' }) as { env: Record<string, unknown> }).env;
    for (const { key, value } of HOSTILE_ENV) expect(env[key]).toBe(value);
    // From the image's Env: what no chart can carry (DEL, NEL) is left to the image, which has it anyway.
    expect(env['NBSP_FROM_IMAGE']).toBe('nb\u00a0sp');
    expect(env).not.toHaveProperty('LEFT_TO_THE_IMAGE');
    expect(env).not.toHaveProperty('LEFT_TOO');
    expect(text).toContain('"on": "on"');
    expect(text).toContain('"YES": "yes"');
    expect(text).toContain('"y": "n"');
    // YAML 1.1's merge and value keys, which PyYAML refused as values: quoted, and "<<" tagged as the string it is.
    expect(text).toContain('MERGE: !!str "<<"');
    expect(text).toContain('EQUALS: "="');
    expect(text).toMatch(/^ {2}- !!str "<<"$/m);
  });

  it('never puts user data into templates: the template files are the same for every image', () => {
    for (const input of Object.values(SCENARIOS)) {
      const files = renderChart(input);
      for (const [path, text] of TEMPLATE_FILES) expect(files.get(path)).toBe(text);
    }
    const all = [...TEMPLATE_FILES.values()].join('\n');
    for (const { value } of HOSTILE_ENV.filter(({ value }) => value.length > 3)) expect(all).not.toContain(value);
  });

  it('ends every object a template renders with the chart\'s own text, never a value written by toYaml', () => {
    // helm trims each rendered document, cutting a trailing no-break or ideographic space off a value go-yaml wrote plain.
    const control = /^\s*\{\{-?\s*(?:end|else|if |with |range |\/\*).*\}\}\s*$/;
    for (const [path, text] of TEMPLATE_FILES) {
      if (!path.endsWith('.yaml')) continue;
      const last = text.split('\n').filter((line) => line.trim() !== '' && !control.test(line)).at(-1);
      expect(last, path).not.toContain('toYaml');
    }
  });

  it('writes annotations, where an image label of free text (`note: =`) lands, each key and value quoted, never by toYaml: go-yaml wrote `note: =` plain and PyYAML refused the manifest (found by a review)', () => {
    expect(SCENARIOS.hostile!.metadata.imageLabels).toContainEqual({ key: 'note', value: '=' });
    expect(renderChart(SCENARIOS.hostile!).get('values.yaml')).toMatch(/^ {2}note: "="$/m);
    const deployment = TEMPLATE_FILES.get('templates/deployment.yaml')!;
    expect(deployment).not.toMatch(/toYaml[^}]*[Aa]nnotations/);
    expect(deployment.match(/^ *annotations:\n *\{\{- include "orbit\.quotedMap" \S+ \| nindent \d+ \}\}$/gm)).toHaveLength(2);
    expect(TEMPLATE_FILES.get('templates/_helpers.tpl')).toMatch(/\{\{- define "orbit\.quotedMap" -\}\}\n(?:.*\n)*?.*\{\{ \$key \| quote \}\}: \{\{ \$value \| quote \}\}\n/);
  });

  it('writes every word of a command, its args and a probe\'s exec command quoted, by one define', () => {
    const deployment = TEMPLATE_FILES.get('templates/deployment.yaml')!;
    expect(deployment.match(/^ *(?:command|args):\n *\{\{- include "orbit\.quotedWords" \. \| nindent 12 \}\}$/gm)).toHaveLength(2);
    expect(TEMPLATE_FILES.get('templates/_helpers.tpl')).toContain('{{- include "orbit.quotedWords" .exec.command | nindent 4 }}');
  });

  it('writes a draft-07 values.schema.json the default values satisfy', () => {
    const schema = JSON.parse(renderChart(SCENARIOS.realistic!).get('values.schema.json')!) as Record<string, unknown>;
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    for (const [name, input] of Object.entries(SCENARIOS)) {
      expect(validate(JSON.parse(JSON.stringify(buildValues(input)))), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('describes every value and requires every top-level key but those added later (a release installed before lacks them)', () => {
    const walk = (node: Record<string, unknown>, path: string): void => {
      for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        expect(child.description, `${path}.${key}`).toBeTypeOf('string');
        walk(child, `${path}.${key}`);
      }
      if (node.items && typeof node.items === 'object') walk(node.items as Record<string, unknown>, `${path}[]`);
    };
    walk(VALUES_SCHEMA, '');
    // All but `global`, which Helm itself passes (a parent chart's, to its dependencies).
    const ownKeys = Object.keys(VALUES_SCHEMA.properties as object).filter((key) => key !== 'global');
    expect(VALUES_SCHEMA.required).toEqual(ownKeys.filter((key) => !VALUES_ADDED_LATER.includes(key)));
    expect(ownKeys.sort()).toEqual(Object.keys(buildValues(SCENARIOS.realistic!)).sort());
  });

  it('rejects typos, wrong types and values below their minimums', () => {
    const good = JSON.parse(JSON.stringify(buildValues(SCENARIOS.realistic!))) as Record<string, unknown>;
    expect(validate({ ...good, replicas: 3 })).toBe(false);
    expect(validate({ ...good, replicaCount: '3' })).toBe(false);
    expect(validate({ ...good, replicaCount: 0 })).toBe(false);
    expect(validate({ ...good, env: { A: 1 } })).toBe(false);
    expect(validate({ ...good, image: { ...(good.image as object), digest: 'latest' } })).toBe(false);
    expect(validate({ ...good, securityContext: { ...(good.securityContext as object), allowPrivilegeEscalation: true } })).toBe(false);
    expect(validate({ ...good, autoscaling: { ...(good.autoscaling as object), targetCPUUtilizationPercentage: 101 } })).toBe(false);
    // A label the chart sets itself, as a selector label, would make a Deployment the API server refuses (found by a probe).
    for (const key of ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'environment']) expect(validate({ ...good, commonLabels: { [key]: 'x' } }), key).toBe(false);
    expect(validate({ ...good, commonLabels: { team: 'payments' } })).toBe(true);
  });

  const good = JSON.parse(JSON.stringify(buildValues(SCENARIOS.realistic!))) as Record<string, Record<string, unknown>>;
  const port = { name: 'metrics', containerPort: 9090, protocol: 'TCP' };
  const probe = (kind: string): Record<string, unknown> => (good.probes as Record<string, Record<string, unknown>>)[kind]!;
  /** What an image that needs root is installed with. */
  const root = {
    allowRoot: true,
    podSecurityContext: { ...good.podSecurityContext, runAsNonRoot: false, runAsUser: 0, runAsGroup: 0, fsGroup: 0 },
    securityContext: { ...good.securityContext, runAsNonRoot: false, readOnlyRootFilesystem: false, capabilities: { drop: ['ALL'], add: ['CHOWN', 'SETUID', 'SETGID', 'NET_BIND_SERVICE'] } },
  };
  it.each<[string, Record<string, unknown>]>([
    ['a privileged container', { securityContext: { ...good.securityContext, privileged: true } }],
    ['capabilities that do not drop ALL', { securityContext: { ...good.securityContext, capabilities: { drop: ['NET_RAW'] } } }],
    ['a label value of 64 characters', { commonLabels: { team: 'a'.repeat(64) } }],
    ['a nameOverride of 64 characters', { nameOverride: 'a'.repeat(64) }],
    ['an anti-affinity weight above 100', { podAntiAffinity: { ...good.podAntiAffinity, weight: 101 } }],
    ['maxReplicas 0', { autoscaling: { ...good.autoscaling, maxReplicas: 0 } }],
    ['the same extra port twice', { extraPorts: [port, port] }],
    // Found by a review against the API server's own validation: each of these passed the schema and was refused at apply.
    ['an extra port name with two dashes in a row', { extraPorts: [{ ...port, name: 'a--b' }] }],
    ['an extra port name without a letter', { extraPorts: [{ ...port, name: '9090' }] }],
    ['an extra port named app, as containerPort is', { extraPorts: [{ ...port, name: 'app' }] }],
    ['a liveness probe passing on 2 successes', { probes: { ...good.probes, liveness: { ...probe('liveness'), successThreshold: 2 } } }],
    ['a startup probe passing on 3 successes', { probes: { ...good.probes, startup: { ...probe('startup'), successThreshold: 3 } } }],
    ['seccomp Localhost without its profile', { securityContext: { ...good.securityContext, seccompProfile: { type: 'Localhost' } } }],
    ['a Localhost profile with RuntimeDefault', { podSecurityContext: { ...good.podSecurityContext, seccompProfile: { type: 'RuntimeDefault', localhostProfile: 'a.json' } } }],
    ['a Localhost profile above the seccomp directory', { podSecurityContext: { ...good.podSecurityContext, seccompProfile: { type: 'Localhost', localhostProfile: '../a.json' } } }],
    ['an anti-affinity topologyKey that is no label key', { podAntiAffinity: { ...good.podAntiAffinity, topologyKey: 'Bad Key!' } }],
    ['a toleration of Exists with a value', { tolerations: [{ key: 'a', operator: 'Exists', value: 'x' }] }],
    ['tolerationSeconds for a NoSchedule taint', { tolerations: [{ key: 'a', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 30 }] }],
    ['a toleration of Equal without a key', { tolerations: [{ operator: 'Equal', value: 'x' }] }],
    ['an image tag with a space', { image: { ...good.image, tag: 'bad tag' } }],
    ['root without allowRoot', { ...root, allowRoot: false }],
    ['added capabilities without allowRoot', { securityContext: { ...good.securityContext, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }],
    ['UID 0 with runAsNonRoot still true (the kubelet would refuse every start)', { ...root, podSecurityContext: { ...root.podSecurityContext, runAsNonRoot: true } }],
    ['CAP_SYS_ADMIN, which needs privilege escalation', { ...root, securityContext: { ...root.securityContext, capabilities: { drop: ['ALL'], add: ['CAP_SYS_ADMIN'] } } }],
    ['a root test pod, even with allowRoot', { ...root, tests: { ...good.tests, securityContext: { ...(good.tests?.securityContext as object), runAsNonRoot: false } } }],
    ['an ingressFrom peer of nothing', { networkPolicy: { ...good.networkPolicy, ingressFrom: [{}] } }],
    ['an ingressFrom ipBlock beside a selector', { networkPolicy: { ...good.networkPolicy, ingressFrom: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] } }],
    ['an ingressFrom CIDR that is none', { networkPolicy: { ...good.networkPolicy, ingressFrom: [{ ipBlock: { cidr: '10.0.0.0/33' } }] } }],
    ['a priorityClassName that is no DNS name', { priorityClassName: 'High Priority' }],
    ['a runtimeClassName that is no DNS name', { runtimeClassName: 'Bad_Name' }],
    ['a pod label the chart sets itself', { podLabels: { 'orbit/image-tag': 'x' } }],
    ['a preStop hook of two actions', { lifecycle: { preStop: { sleep: { seconds: 5 }, exec: { command: ['/bin/drain'] } } } }],
    ['a lifecycle hook Kubernetes does not have', { lifecycle: { onExit: { sleep: { seconds: 1 } } } }],
    ['an affinity kind Kubernetes does not have', { affinity: { zoneAffinity: {} } }],
    ['a Service annotation key that is no qualified name', { service: { ...good.service, annotations: { 'bad key': 'x' } } }],
    ['an ingressFrom In without values', { networkPolicy: { ...good.networkPolicy, ingressFrom: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } }] } }],
  ])('refuses %s before anything reaches the cluster', (_, override) => {
    expect(validate({ ...good, commonLabels: {}, extraPorts: [port], ...override })).toBe(false);
    // The same values without the override pass: it is the override that is refused.
    expect(validate({ ...good, commonLabels: {}, extraPorts: [port] }), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each<[string, Record<string, unknown>]>([
    ['root and added capabilities, with allowRoot', root],
    // The restricted Pod Security Standard bounds the UID only: OpenShift-style images run as 1001:0 (found by a review: refused without allowRoot).
    ['group 0 and fsGroup 0 without allowRoot', { podSecurityContext: { ...good.podSecurityContext, runAsGroup: 0, fsGroup: 0 } }],
    ['no runAsGroup (the image keeps its own)', { podSecurityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } } }],
    ['a Localhost seccomp profile', { securityContext: { ...good.securityContext, seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/app.json' } } }],
    ['a safe sysctl, which needs no root', { podSecurityContext: { ...good.podSecurityContext, sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] } }],
    ['a toleration of every taint', { tolerations: [{ operator: 'Exists' }] }],
    // Found by a review: the closed schema refused each, and Argo CD has no post-renderer to add them after.
    ['everyday platform settings', {
      priorityClassName: 'high', runtimeClassName: 'gvisor', podLabels: { 'example.com/cost-centre': 'c42' },
      lifecycle: { preStop: { sleep: { seconds: 5 } } }, affinity: { nodeAffinity: {} },
      service: { ...good.service, annotations: { 'external-dns.alpha.kubernetes.io/hostname': 'billing.example.com' } },
    }],
    ['a NoExecute toleration for 30 seconds', { tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }] }],
    ['an extra port of containerPort\'s number for another protocol (HTTP/3 beside HTTPS)', { extraPorts: [{ name: 'udp-8080', containerPort: 8080, protocol: 'UDP' }] }],
    ['ingress from an Ingress controller\'s namespace, a Prometheus\' pods and an address block', {
      networkPolicy: {
        ...good.networkPolicy,
        ingressFrom: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
          { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['monitoring'] }] }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } },
          { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
          { ipBlock: { cidr: 'fd00::/8' } },
        ],
      },
    }],
  ])('takes %s', (_, override) => {
    expect(validate({ ...good, ...override }), JSON.stringify(validate.errors)).toBe(true);
  });

  it('names allowRoot when root is asked for without it (found by a review: helm said only `Must validate "else" as "if" was not valid`)', () => {
    for (const override of [
      { podSecurityContext: { ...good.podSecurityContext, runAsUser: 0, runAsNonRoot: false } },
      { securityContext: { ...good.securityContext, runAsNonRoot: false } },
      { securityContext: { ...good.securityContext, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } },
    ]) {
      expect(validate({ ...good, ...override })).toBe(false);
      expect(validate.errors?.map(({ instancePath }) => instancePath)).toContain('/allowRoot');
    }
  });

  it('refuses, in a chart\'s own values.schema.json, an image.tag other than its image\'s: the pods run image.digest, and the label claimed the other (found by a review: Argo CD Image Updater\'s image.tag)', () => {
    const own = JSON.parse(renderChart(SCENARIOS.realistic!).get('values.schema.json')!) as Record<string, unknown>;
    expect(own).toEqual(JSON.parse(JSON.stringify(valuesSchemaOf('v1-0-00'))));
    const validateOwn = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true }).compile(own);
    const values = JSON.parse(JSON.stringify(buildValues(SCENARIOS.realistic!))) as Record<string, Record<string, unknown>>;
    expect(validateOwn(values), JSON.stringify(validateOwn.errors)).toBe(true);
    expect(validateOwn({ ...values, image: { ...values.image, tag: '1.10.0' } })).toBe(false);
    expect(validateOwn.errors?.map(({ instancePath }) => instancePath)).toEqual(['/image/tag']);
    expect(JSON.stringify(own)).toMatch(/pinned by digest, so to deploy another version install that version's chart/);
  });

  it('tells in values which images set no command, and asks for an absolute workingDir (runc refuses a relative one)', () => {
    expect(buildValues(SCENARIOS.realistic!).imageHasCommand).toBe(true);
    expect(buildValues(SCENARIOS.yamlBooleanName!).imageHasCommand).toBe(false);
    expect(buildValues(inputOf({}, { cmd: ['serve'] })).imageHasCommand).toBe(true);
    expect(validate({ ...good, workingDir: 'app' })).toBe(false);
    expect(validate({ ...good, workingDir: '' })).toBe(true);
  });

  it.each<[string, unknown[], boolean]>([
    ['a path left unmounted and one on a PVC', [{ path: '/var/lib/billing', unmounted: true }, { path: '/data', claimName: 'billing-data' }], true],
    ['both at once', [{ path: '/var/lib/billing', unmounted: true, claimName: 'x' }], false],
    ['neither', [{ path: '/var/lib/billing' }], false],
    ['unmounted false', [{ path: '/var/lib/billing', unmounted: false }], false],
    ['a claim name the API server refuses', [{ path: '/var/lib/billing', claimName: 'Bad Name' }], false],
    ['a relative path', [{ path: 'data', unmounted: true }], false],
  ])('writablePathOverrides: %s', (_, overrides, ok) => {
    expect(validate({ ...good, writablePathOverrides: overrides }), JSON.stringify(validate.errors)).toBe(ok);
  });

  it('fails with a coded error on input no chart can express', () => {
    expect(() => renderChart(inputOf({ imageVersion: 'latest' }))).toThrow(expect.objectContaining({ code: 'ORBIT_ERR_CHART_VERSION' }));
    expect(() => renderChart(inputOf({ entrypointOverride: '"open' }))).toThrow(expect.objectContaining({ code: 'ORBIT_ERR_CHART_COMMAND' }));
    expect(() => renderChart(inputOf({ imageLabels: [{ key: 'bad key', value: 'x' }] }))).toThrow(expect.objectContaining({ code: 'ORBIT_ERR_CHART_INPUT' }));
    expect(() => renderChart({ ...inputOf(), imageRepository: 'Registry/App:latest' })).toThrow(expect.objectContaining({ code: 'ORBIT_ERR_CHART_INPUT' }));
  });
});
