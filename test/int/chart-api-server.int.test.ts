import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toYamlText } from '@orbit/lib';
import type { Healthcheck, ImageConfigFacts, ImageSummary } from '@orbit/schemas';
import { apiServerVerdict, installChartTools, parseObjectStream, writeTree } from '../../deploy/local/tools/chart-tools.js';
import { chartNameOf, ENVIRONMENTS, kustomizeBase, kustomizeOverlay, overlaidManifests, overlayDirOf, renderChart, renderManifests, type ChartInput } from '../../consumers/chart-generator/src/index.js';
import { inputOf } from '../../consumers/chart-generator/src/testing/inputs.js';
import { parseMetadata } from '../../producers/portal-gateway/src/metadata.js';

/**
 * Whatever metadata the gateway lets through, on whatever image config the
 * validator takes, must render objects kube-apiserver would create, in every
 * environment: otherwise an upload succeeds and its chart fails at
 * `kubectl apply`. Inputs are drawn at random from a fixed seed, from the
 * shapes both formats allow rather than the ones our fixtures have; the
 * judge is the API server's own code (k8s-validate), not our reading of it.
 */

/** Fixed in CI; set ORBIT_CHART_DRAWS and ORBIT_CHART_DRAW_SEED to search further by hand. */
const INPUTS = Number(process.env['ORBIT_CHART_DRAWS'] ?? 300);
const SEED = Number(process.env['ORBIT_CHART_DRAW_SEED'] ?? 20261202);
/** Charts also rendered by helm template, a process each (ORBIT_HELM_DRAWS to search further). */
const HELM_INPUTS = Number(process.env['ORBIT_HELM_DRAWS'] ?? 100);
/** Kustomize trees also built by kustomize, four overlays each (ORBIT_KUSTOMIZE_DRAWS to search further). */
const KUSTOMIZE_INPUTS = Number(process.env['ORBIT_KUSTOMIZE_DRAWS'] ?? 25);
const INT32_MAX = 2 ** 31 - 1;

/** mulberry32: small, seeded, good enough to spread inputs. */
function randomSource(seed: number) {
  let state = seed;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const below = (n: number): number => Math.floor(next() * n);
  const pick = <T,>(items: readonly T[]): T => items[below(items.length)] as T;
  const text = (alphabet: string, min: number, max: number): string => Array.from({ length: min + below(max - min + 1) }, () => pick([...alphabet])).join('');
  const some = <T,>(max: number, make: () => T): T[] => Array.from({ length: below(max + 1) }, make);
  return { next, below, pick, text, some };
}

type Random = ReturnType<typeof randomSource>;

const ANY_TEXT = 'aZ09 -_./:;@#$%&*()[]{}|\\"\'`~!?=+,<>\t\nÉ日🚀\u200b';
const DNS = 'abcdefghijklmnopqrstuvwxyz0123456789-';

function dnsLabel(r: Random): string {
  const label = r.pick(['tmp', 'data', 'cache', 'config', 'orbit-tmp', 'kube-api-access', r.text('abc', 1, 1) + r.text(DNS, 0, 60) + r.text('xyz9', 1, 1)]);
  return label.slice(0, 63);
}

function absolutePath(r: Random): string {
  return r.pick(['/', '/tmp', '/data', '/var/lib/app', '/a b/c', '/x/../y', '//double//slash/', '/srv/:colon', '/é/日', `/${r.text(ANY_TEXT, 0, 40)}`]);
}

function labelKey(r: Random): string {
  const prefix = r.pick(['', '', 'example.com/', 'app.kubernetes.io/', 'kubernetes.io/', 'helm.sh/', `${r.text('abc', 1, 1)}${r.text(DNS.replace('-', '.'), 0, 100)}x/`]);
  const name = r.pick(['name', 'instance', 'version', 'component', 'managed-by', 'environment', 'part-of', `${r.text('aZ9', 1, 1)}${r.text('aZ9-_.', 0, 61)}${r.text('aZ9', 1, 1)}`]);
  return `${prefix}${name}`;
}

function labelValue(r: Random): string {
  return r.pick(['', 'x', 'yes', '0123', 'Production', `${r.text('aZ9', 1, 1)}${r.text('aZ9-_.', 0, 61)}${r.text('aZ9', 1, 1)}`]);
}

function commandLine(r: Random): string {
  const word = (): string => r.pick(['run', '--flag=1', '"two words"', "'single $HOME'", '$(VAR)', '$VAR', '*.log', 'a\\ b', '"esc \\" quote"', '{{ .Values }}', 'é🚀', '--', '-']);
  return r.some(6, word).join(r.pick([' ', '  ', '\t']));
}

/**
 * Up to four volumes; one draw in four as they come, whose repeated keys and paths (`/data` twice, `/`) the gateway
 * refuses, the others each with a key and a path of its own.
 */
function volumeList(r: Random): { key: string; value: string }[] {
  const volumes = r.some(4, () => ({ key: dnsLabel(r), value: absolutePath(r) }));
  if (r.below(4) === 0) return volumes;
  return volumes.map(({ key, value }, index) => ({ key: `${key.slice(0, 60)}-${index}`, value: `${value}/${index}` }));
}

/** Metadata as a client might send it, some of it beyond what the gateway takes (those are dropped). */
function rawMetadata(r: Random): Record<string, unknown> {
  return {
    imageName: r.pick(['app', 'a', `${r.text('abc', 1, 1)}${r.text('abc019._-', 0, 126)}${r.text('xyz', 1, 1)}`, 'my.app_name--x', '9lives', 'a__b']),
    imageVersion: r.pick(['v1-0-00', '1.2.3', 'v9999-9999-9999', '999999999.999999999.999999999', 'v0-0-01']),
    imageCategory: r.pick([null, 'backend', r.text(ANY_TEXT, 0, 64)]),
    Description: r.pick([null, r.text(ANY_TEXT, 0, 300)]),
    Part: r.pick([null, r.text(ANY_TEXT, 0, 128)]),
    port: r.pick([null, 1, 80, 8080, 65535, 1 + r.below(65535)]),
    envVars: r.some(5, () => ({ key: `${r.pick(['A', '_', 'x'])}${r.text('ABCxyz_019', 0, r.pick([4, 30, 252]))}`, value: r.pick(['', 'v', 'yes', '0o17', r.text(ANY_TEXT, 0, 80)]) })),
    volumes: volumeList(r),
    imageLabels: r.some(5, () => ({ key: labelKey(r), value: labelValue(r) })),
    commandOverride: r.pick([null, commandLine(r)]),
    entrypointOverride: r.pick([null, commandLine(r)]),
    workingDir: r.pick([null, absolutePath(r)]),
  };
}

/** An image config as the validator passes it on: any text without NUL, healthcheck seconds and retries up to 2^31-1, a SHELL or none. */
function imageConfig(r: Random): ImageConfigFacts {
  const seconds = (): number | null => r.pick([null, 1, 2, 30, 3600, INT32_MAX]);
  const healthcheck: Healthcheck | null = r.pick([null, {
    test: r.pick([['CMD', 'true'], ['CMD-SHELL', r.text(ANY_TEXT, 1, 30)], ['CMD-SHELL', r.text(ANY_TEXT, 1, 30), r.text(ANY_TEXT, 0, 12)], ['CMD'], ['BOGUS', 'x']]),
    intervalSeconds: seconds(), timeoutSeconds: seconds(), startPeriodSeconds: seconds(), retries: r.pick([null, 0, 3, INT32_MAX]),
  }]);
  return {
    exposedPorts: r.some(4, () => `${r.pick(['0', '1', '80', '8080', '65535', '65536', '70000', '8000-8002', 'http', String(r.below(70000))])}${r.pick(['/tcp', '/udp', '/sctp', '', '/TCP', '/http'])}`),
    env: r.some(4, () => r.pick(['PATH=/bin', 'A=b', 'BAD KEY=x', '1X=y', 'NOVALUE', '=x', 'É=1', `${r.text('AZ_9.-', 1, 20)}=${r.text(ANY_TEXT, 0, 20)}`])),
    entrypoint: r.some(2, () => r.text(ANY_TEXT, 0, 12)),
    cmd: r.some(2, () => r.text(ANY_TEXT, 0, 12)),
    workingDir: r.pick([null, 'relative/dir', absolutePath(r)]),
    user: r.pick([null, 'root', '0', '1000', '1000:1000', '65534:65534', '2147483647', '2147483648', '4294967294', '-1', 'app', 'app:app', '1000:app', '0:4294967295', '99999999999999999999']),
    labels: Object.fromEntries(r.some(3, () => [r.pick([labelKey(r), r.text(ANY_TEXT, 1, 20)]), r.text(ANY_TEXT, 0, 20)])),
    healthcheck,
    stopSignal: r.pick([null, 'SIGTERM', 'SIGKILL', '9', 'SIGRTMIN+3', 'bogus']),
    volumes: r.some(3, () => r.pick([absolutePath(r), 'relative', '/'])),
    shell: r.pick([null, ['/bin/bash', '-o', 'pipefail', '-c'], ['pwsh', '-Command', '$ErrorActionPreference = "Stop";'], [`/${r.text(ANY_TEXT, 1, 12)}`, r.text(ANY_TEXT, 0, 12)]]),
  };
}

function imageSummary(r: Random): Partial<ImageSummary> {
  return {
    architecture: r.pick(['amd64', 'arm64', 'x86_64', 'aarch64', 'riscv64', 'ppc64le', 's390x', 'my arch', 'ARM64']),
    os: r.pick(['linux', 'Linux', 'windows', 'freebsd', 'linux/ubuntu']),
    repoTags: r.some(2, () => r.pick(['app:1.0.0', 'registry.example:5000/team/app:latest', 'app@sha256:abc', 'x:yes'])),
  };
}

/** `count` chart inputs from uploads the gateway accepts, drawn from `seed`; and how many drawn metadata it refused. */
function acceptedInputs(seed: number, count: number): { inputs: ChartInput[]; refused: number } {
  const r = randomSource(seed);
  const inputs: ChartInput[] = [];
  let refused = 0;
  while (inputs.length < count) {
    const parsed = parseMetadata(rawMetadata(r));
    if (!parsed.ok) {
      refused += 1;
      continue;
    }
    inputs.push(inputOf(parsed.metadata, imageConfig(r), 'Development', imageSummary(r)));
  }
  return { inputs, refused };
}

describe('charts of random uploads the gateway and validator accept', () => {
  let k8sValidate: string;
  let helm: string;
  let kustomize: string;
  let workDir: string;

  beforeAll(async () => {
    const installed = await installChartTools();
    k8sValidate = installed.paths['k8s-validate'] ?? 'k8s-validate';
    helm = installed.paths.helm ?? 'helm';
    kustomize = installed.paths.kustomize ?? 'kustomize';
    workDir = await mkdtemp(join(tmpdir(), 'orbit-random-charts-'));
  }, 15 * 60_000);

  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it(`hold, for ${INPUTS} of them in every environment, only objects kube-apiserver would create`, async () => {
    const { inputs, refused } = acceptedInputs(SEED, INPUTS);
    // The draw must mostly be of accepted metadata, or the test would say little.
    expect(refused).toBeLessThan(INPUTS);

    const documents: string[] = [];
    const ownerOf: number[] = [];
    inputs.forEach((input, index) => {
      const base = renderManifests(input);
      for (const environment of ENVIRONMENTS) {
        for (const object of overlaidManifests(base, environment)) {
          documents.push(toYamlText(object));
          ownerOf.push(index);
        }
      }
    });
    const verdict = await apiServerVerdict(k8sValidate, documents.join('---\n'));
    expect(verdict.checked).toBe(documents.length);
    const explained = verdict.problems.map((line) => {
      const index = ownerOf[Number(/#(\d+)/.exec(line)?.[1] ?? 0) - 1] ?? -1;
      const input = inputs[index];
      return `${line}\n  from metadata ${JSON.stringify(input?.metadata)}\n  and image ${JSON.stringify({ ...input?.image, layers: undefined })}`;
    });
    expect(explained).toEqual([]);
  }, 120_000);

  it(`render with helm template exactly what renderManifests returns, for ${HELM_INPUTS} of them (the chart and the rows agree on any input)`, async () => {
    const { inputs } = acceptedInputs(SEED + 1, HELM_INPUTS);
    for (const [index, input] of inputs.entries()) {
      const chartDir = join(workDir, String(index), chartNameOf(input.metadata.imageName, input.imageUID));
      await writeTree(chartDir, renderChart(input));
      const { stdout } = await promisify(execFile)(helm, ['template', chartNameOf(input.metadata.imageName, input.imageUID), chartDir, '--skip-tests'], { maxBuffer: 64 * 1024 * 1024 });
      const rendered = parseObjectStream(stdout);
      expect(rendered, JSON.stringify(input.metadata)).toEqual(renderManifests(input));
    }
  }, 120_000);

  it(`build with kustomize exactly what each environment's row holds, for ${KUSTOMIZE_INPUTS} of them`, async () => {
    const { inputs } = acceptedInputs(SEED + 2, KUSTOMIZE_INPUTS);
    const byKindAndName = (objects: readonly unknown[]) => [...objects as { kind: string; metadata: { name: string } }[]]
      .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
    for (const [index, input] of inputs.entries()) {
      const root = join(workDir, `kustomize-${index}`);
      const base = renderManifests(input);
      await writeTree(root, [...kustomizeBase(base), ...ENVIRONMENTS.flatMap((environment) => [...kustomizeOverlay(environment)])]);
      for (const environment of ENVIRONMENTS) {
        const { stdout } = await promisify(execFile)(kustomize, ['build', join(root, overlayDirOf(environment))], { maxBuffer: 64 * 1024 * 1024 });
        const built = parseObjectStream(stdout);
        expect(byKindAndName(built), `${environment}: ${JSON.stringify(input.metadata)}`).toEqual(byKindAndName(overlaidManifests(base, environment)));
      }
    }
  }, 120_000);
});
