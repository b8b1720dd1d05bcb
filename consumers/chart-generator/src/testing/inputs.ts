import type { ImageConfigFacts, ImageMetadata, ImageSummary } from '@orbit/schemas';
import type { ChartInput } from '../chart/input.js';
import type { Environment } from '../environment.js';

/** Chart inputs for tests: one realistic image and the hostile shapes metadata and images really arrive in. */

export const TEST_UID = 'Qm7xK2pL9vR4tY8wZ3nB6cD1fG5hJ0kM2sA4eU7iO9yT1rE3wQ5zX8cV6bNm';
export const DIGEST = `sha256:${'3f'.repeat(32)}`;

export function configOf(over: Partial<ImageConfigFacts> = {}): ImageConfigFacts {
  return {
    exposedPorts: [], env: ['PATH=/usr/local/bin:/usr/bin:/bin'], entrypoint: [], cmd: [], workingDir: null, user: null,
    labels: {}, healthcheck: null, stopSignal: null, volumes: [], ...over,
  };
}

export function imageOf(config: Partial<ImageConfigFacts> = {}, over: Partial<ImageSummary> = {}): ImageSummary {
  return {
    format: 'OCI_ARCHIVE', compression: 'GZIP', manifestDigest: DIGEST, configDigest: `sha256:${'b'.repeat(64)}`,
    repoTags: [], architecture: 'amd64', os: 'linux', layers: [], config: configOf(config), ...over,
  };
}

export function metadataOf(over: Partial<ImageMetadata> = {}): ImageMetadata {
  return {
    imageName: 'app', imageVersion: 'v1-0-0', imageCategory: null, description: null, part: null, port: null,
    envVars: [], volumes: [], imageLabels: [], commandOverride: null, entrypointOverride: null, workingDir: null, extraJson: null, ...over,
  };
}

export function inputOf(metadata: Partial<ImageMetadata> = {}, config: Partial<ImageConfigFacts> = {}, environment: Environment = 'Development', image: Partial<ImageSummary> = {}): ChartInput {
  const meta = metadataOf(metadata);
  return {
    imageUID: TEST_UID, metadata: meta, image: imageOf(config, image), environment,
    imageRepository: `registry.example/orbit/${meta.imageName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'image'}`,
  };
}

/** Env values YAML, JSON and Go templates each read as something else if they are not quoted and escaped. */
export const HOSTILE_ENV = [
  { key: 'QUOTES', value: `He said "hi" and 'bye'` },
  { key: 'NEWLINES', value: 'line one\nline two\n' },
  { key: 'TEMPLATE', value: '{{ .Values }} {{ include "orbit.fullname" . }} {{- fail "boom" }}' },
  { key: 'COLON', value: 'key: value' },
  { key: 'STAR', value: '*alias' },
  { key: 'AMP', value: '&anchor' },
  { key: 'YES', value: 'yes' },
  { key: 'on', value: 'on' },
  { key: 'y', value: 'n' },
  { key: 'OFF', value: 'Off' },
  { key: 'NUMBER', value: '0123' },
  { key: 'FLOAT', value: '1e3' },
  { key: 'OCTAL', value: '0o17' },
  { key: 'HEX', value: '0x1F' },
  { key: 'NULL', value: 'null' },
  { key: 'TILDE', value: '~' },
  { key: 'EMPTY', value: '' },
  { key: 'HASH', value: '#not a comment' },
  { key: 'DASH', value: '- item' },
  { key: 'TABS', value: '\tindented\t' },
  { key: 'SPACES', value: '  padded  ' },
  { key: 'UNICODE', value: 'Café ✓ 日本 🚀' },
  { key: 'HTML', value: '<b>&amp;</b>' },
  { key: 'DATE', value: '2026-11-22' },
  { key: 'BACKSLASH', value: 'C:\\path\\n' },
  { key: '123', value: 'numeric key' },
  { key: 'a.b-c_d', value: 'dots and dashes' },
  // Refused at upload: DEL, C1 controls, U+2028/9, U+FFFE/F (helm cannot carry them); these it can.
  { key: 'BOM_NBSP', value: '\ufeffbom and\u00a0nbsp' },
  { key: 'ESC_BELL', value: '\u001b[1m\u0007' },
  // Unicode spaces go-yaml writes plain and helm trimmed off a document's end: `8080` became a number, `on` true. `zz` sorts
  // last (helm orders keys by byte), so its value ended the ConfigMap.
  // 40 characters or more with a line of one space: the yaml library wrote that line as an escape read back as a backslash.
  { key: 'APP_CONFIG', value: 'server:\n  port: 8080\n \nlogging:\n  level: info\n' },
  { key: 'PORT', value: '8080\u00a0' },
  { key: 'zz', value: 'on\u3000' },
  // YAML 1.1's merge and value keys: written plain, PyYAML and the Python kubernetes client refused the whole file.
  { key: 'MERGE', value: '<<' },
  { key: 'EQUALS', value: '=' },
  // Object.prototype's names: `__proto__` was stored but in no chart, manifest or overlay.
  { key: '__proto__', value: 'a variable like any other' },
  { key: 'constructor', value: 'a variable too' },
  { key: 'toString', value: 'and another' },
] as const;

/** Realistic and hostile images; the unit tests and the tool tests (helm, kube-linter, kustomize) share them. */
export const SCENARIOS: Readonly<Record<string, ChartInput>> = {
  realistic: inputOf(
    {
      imageName: 'billing-api', imageVersion: 'v1-0-00', imageCategory: 'backend', description: 'Billing API', port: 8080,
      envVars: [{ key: 'MODE', value: 'prod' }], volumes: [{ key: 'data', value: '/var/lib/billing' }],
      imageLabels: [{ key: 'team', value: 'payments' }], workingDir: '/app',
    },
    {
      exposedPorts: ['8080/tcp'], entrypoint: ['/app/billing'], workingDir: '/app', user: '1000',
      healthcheck: { test: ['CMD', '/app/billing', 'health'], intervalSeconds: 30, timeoutSeconds: 5, startPeriodSeconds: 20, retries: 3 },
      volumes: ['/var/lib/billing'],
    },
    'Development',
    { repoTags: ['billing-api:1.0.0'] },
  ),
  webRootManyPorts: inputOf(
    { imageName: 'Public Web', imageVersion: '2.4.1' },
    // HTTP/3 beside HTTPS on 443, a metrics port, one entry twice, a range (skipped); in the order Docker stores them, keys sorted as strings.
    { exposedPorts: ['443/tcp', '443/udp', '80/tcp', '8000-8010/tcp', '9113', '9113/tcp'], user: 'root', volumes: ['/var/cache/nginx', '/var/run'] },
    'Production',
  ),
  workerNoPorts: inputOf(
    { imageName: 'queue-worker', imageVersion: 'v2', commandOverride: 'work --queue jobs', volumes: [{ key: 'cache', value: 'cache' }] },
    { user: 'nobody', workingDir: '/srv', healthcheck: null },
    'Testing',
  ),
  hostile: inputOf(
    {
      imageName: '../../ÉTRANGE..Service__NAME!!',
      imageVersion: 'v0-0-01',
      description: 'Contains {{ .Values.secret }} and "quotes": yes\u00a0\u001b',
      port: 8443,
      envVars: HOSTILE_ENV,
      imageLabels: [
        { key: 'example.com/owner', value: 'team-a' },
        { key: 'example.com/flag', value: 'yes' },
        { key: 'example.com/count', value: '0123' },
        { key: 'description', value: 'Free text: {{ not a label }}' },
        { key: 'app.kubernetes.io/name', value: 'spoofed' },
        { key: 'orbit/image-tag', value: 'spoofed' },
        { key: 'environment', value: 'Production' },
        // Numbers to Go's YAML reader (helm, kubectl, kustomize), though not to YAML 1.1: unquoted they became labels 15, 31 and 5.
        { key: '0o17', value: 'octal' },
        { key: '0X1F', value: 'hex' },
        { key: '0B101', value: 'binary' },
        // Free text, so an annotation: YAML 1.1's value key, which PyYAML refused the whole manifest for when written plain.
        { key: 'note', value: '=' },
      ],
      entrypointOverride: `/bin/sh -c "exec /app/run --title='a b' \\"quoted\\""`,
      commandOverride: `--config /etc/app/config.yaml --greeting 'hello: {{ world }}' --at '$(date) $$ $HOME' '<<' = '<<='`,
      workingDir: '/srv/my app',
      // Linux paths may hold any byte but NUL: a newline too.
      volumes: [{ key: 'up', value: '../data/../data' }, { key: 'tmp', value: '/tmp' }, { key: 'lines', value: '/\nstarts with a newline' }],
    },
    {
      exposedPorts: ['8443/tcp'], user: '1000:1000',
      env: ['PATH=/usr/bin', 'QUOTES=from image', 'BAD KEY=x', 'NOVALUE', 'NBSP_FROM_IMAGE=nb\u00a0sp', 'LEFT_TO_THE_IMAGE=del\u007f', 'LEFT_TOO=nel\u0085', '0o1_7=octal', '0X_1F=hex', 'valueOf=from the image', 'MERGE_FROM_IMAGE=<<'],
      healthcheck: { test: ['CMD-SHELL', 'wget -qO- "http://127.0.0.1:8443/{{health}}" || exit 1'], intervalSeconds: 7.5, timeoutSeconds: 0.5, startPeriodSeconds: 60, retries: 5 },
      // Kept as the image has it, U+3000 included: the chart trimmed it off, and mounted /var/cache.
      volumes: ['/data', '/var/log/app/', '/var/cache\u3000'],
    },
    'Staging',
  ),
  // A HEALTHCHECK whose words YAML 1.1 reads as its value and merge keys: helm's toYaml wrote them plain, and PyYAML refused the file.
  yamlKeyWords: inputOf(
    { imageName: 'state-check', imageVersion: 'v1-0-0', port: 8080 },
    { exposedPorts: ['8080/tcp'], healthcheck: { test: ['CMD', 'test', '-s', '/run/state', '-a', '<<', '=', '<<'], intervalSeconds: 10, timeoutSeconds: 2, startPeriodSeconds: null, retries: 3 } },
    'Development',
  ),
  yamlBooleanName: inputOf(
    { imageName: 'Yes', imageVersion: 'v3-1' },
    { exposedPorts: ['53/udp'], user: '0:0' },
    'Development',
  ),
  // OpenShift/UBI style: USER 1001:0 reading root-group files through gid 0; a hand-built config's relative WORKDIR and VOLUME.
  rootGroup: inputOf(
    { imageName: 'ubi-app', imageVersion: '1.0.0' },
    { exposedPorts: ['8080/tcp'], user: '1001:0', entrypoint: ['./run.sh'], workingDir: 'app', volumes: ['data'] },
    'Development',
  ),
  longName: inputOf(
    // The 63-character cut of the helm.sh/chart label falls on a dot of the version.
    { imageName: `${'Very Long Service Name '.repeat(5)}Final`, imageVersion: '99999999.999999999.999999999' },
    { exposedPorts: ['3000'], user: '65532:65532', healthcheck: { test: ['NONE'], intervalSeconds: null, timeoutSeconds: null, startPeriodSeconds: null, retries: null } },
    'Production',
  ),
};
