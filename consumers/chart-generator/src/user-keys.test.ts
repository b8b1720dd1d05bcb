import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { goJson, sha256Hex } from './chart/helm-context.js';
import { renderManifests, type K8sObject } from './chart/manifests.js';
import { renderChart } from './chart/render.js';
import { kustomizeBase, overlaidManifests } from './kustomize.js';
import { inputOf } from './testing/inputs.js';

/** Env names that are also Object.prototype's: each must be in every file a chart is made of, as any other name is. */
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString'] as const;

const readYaml = (text: string | undefined): Record<string, unknown> => parse(text ?? '', { version: '1.1' }) as Record<string, unknown>;
const configMapOf = (objects: readonly K8sObject[]): Record<string, unknown> => {
  const found = objects.find((object) => object.kind === 'ConfigMap');
  if (found === undefined) throw new Error('no ConfigMap');
  return found['data'] as Record<string, unknown>;
};
const ownEntries = (record: Record<string, unknown>): [string, unknown][] => Object.keys(record).map((key) => [key, record[key]]);

describe.each([
  ['metadata envVars', inputOf({ envVars: PROTOTYPE_NAMES.map((key) => ({ key, value: `${key} value` })) }, { env: [] })],
  ['the image config ENV', inputOf({}, { env: PROTOTYPE_NAMES.map((key) => `${key}=${key} value`) })],
])('env vars named like Object.prototype\'s keys, from %s (found by a review: __proto__ was stored but in no chart)', (_source, input) => {
  const expected = PROTOTYPE_NAMES.map((key) => [key, `${key} value`]);

  it('are in values.yaml', () => {
    expect(ownEntries(readYaml(renderChart(input).get('values.yaml'))['env'] as Record<string, unknown>)).toEqual(expected);
  });

  it('are in the ConfigMap renderManifests gives, and in the env checksum that rolls the pods', () => {
    const manifests = renderManifests(input);
    const data = configMapOf(manifests);
    expect(ownEntries(data)).toEqual(expected);
    const deployment = manifests.find((object) => object.kind === 'Deployment') as unknown as { spec: { template: { metadata: { annotations: Record<string, string> } } } };
    expect(goJson(data)).toContain('"__proto__":"__proto__ value"');
    expect(deployment.spec.template.metadata.annotations['checksum/env']).toBe(sha256Hex(goJson(data)));
  });

  it('are in the Kustomize base and in the manifests JSON an environment\'s table holds', () => {
    const manifests = renderManifests(input);
    const base = kustomizeBase(manifests);
    const configMapFile = [...base].find(([path]) => path.startsWith('base/configmap-'))?.[1];
    expect(ownEntries(readYaml(configMapFile)['data'] as Record<string, unknown>)).toEqual(expected);
    const stored = JSON.parse(JSON.stringify(overlaidManifests(manifests, 'Production'))) as K8sObject[];
    expect(ownEntries(configMapOf(stored))).toEqual(expected);
  });
});
