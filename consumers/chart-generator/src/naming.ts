import { ChartVersionError } from './errors.js';

/** Chart names (which the harbor-writer's registry pushes share) and the Chart Store key live in lib. */
export { chartNameOf, helmChartNameOf, MAX_CHART_NAME } from '@orbit/lib';

const MAX_LABEL_VALUE = 63;

/**
 * SemVer for Chart.yaml from the pipeline's image version. Dashes stand in
 * for dots because versions also appear in S3 keys and table keys; missing
 * minor or patch parts are zero; leading zeros are dropped (SemVer forbids them).
 */
export function chartVersionOf(imageVersion: string): string {
  const match = /^[vV]?(\d{1,9})(?:([-.])(\d{1,9})(?:\2(\d{1,9}))?)?$/.exec(imageVersion.trim());
  if (match === null) throw new ChartVersionError(imageVersion);
  const [, major = '0', , minor = '0', patch = '0'] = match;
  return [major, minor, patch].map((part) => String(Number.parseInt(part, 10))).join('.');
}

/** The `helm create` fullname rule with no overrides; templates/_helpers.tpl has the same logic. */
export function fullnameOf(releaseName: string, chartName: string): string {
  const name = releaseName.includes(chartName) ? releaseName : `${releaseName}-${chartName}`;
  return truncateName(name);
}

/** `trunc 63 | trimSuffix "-"`: sprig's trimSuffix removes one dash only. */
export function truncateName(name: string): string {
  const cut = name.slice(0, MAX_LABEL_VALUE);
  return cut.endsWith('-') ? cut.slice(0, -1) : cut;
}

/**
 * The helm.sh/chart label value, as _helpers.tpl builds it. `helm create`
 * cuts it with `trunc 63 | trimSuffix "-"`, which leaves a label value ending
 * in `.` when the cut falls on a dot of the version (a 53-character chart
 * name, version 99999999.999999999.999999999): the API server refuses every object.
 */
export function chartLabelOf(chartName: string, chartVersion: string): string {
  return `${chartName}-${chartVersion}`.replaceAll('+', '_').slice(0, MAX_LABEL_VALUE).replace(/[^A-Za-z0-9]+$/, '');
}

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes qualified name ([prefix/]name), the form label and annotation keys must have. */
export function isQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? null : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (name.length === 0 || name.length > MAX_LABEL_VALUE || !LABEL_NAME.test(name)) return false;
  return prefix === null || (prefix.length > 0 && prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
}

export function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= MAX_LABEL_VALUE && LABEL_NAME.test(value));
}
