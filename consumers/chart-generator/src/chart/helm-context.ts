import { createHash } from 'node:crypto';
import { chartLabelOf, fullnameOf, truncateName } from '../naming.js';
import type { ChartValues } from './values.js';

/** What templates see besides .Values: .Release and .Chart, and the helpers of _helpers.tpl computed from them. */
export interface HelmContext {
  readonly values: ChartValues;
  readonly releaseName: string;
  readonly chartName: string;
  readonly chartVersion: string;
  readonly appVersion: string;
}

export type Labels = Record<string, string>;

/** "orbit.name" */
export function nameOf(ctx: HelmContext): string {
  return truncateName(ctx.values.nameOverride || ctx.chartName);
}

/** "orbit.fullname" */
export function fullname(ctx: HelmContext): string {
  if (ctx.values.fullnameOverride) return truncateName(ctx.values.fullnameOverride);
  return fullnameOf(ctx.releaseName, ctx.values.nameOverride || ctx.chartName);
}

export function selectorLabels(ctx: HelmContext): Labels {
  return { 'app.kubernetes.io/name': nameOf(ctx), 'app.kubernetes.io/instance': ctx.releaseName };
}

/** "orbit.labels" */
export function labels(ctx: HelmContext): Labels {
  return {
    'helm.sh/chart': chartLabelOf(ctx.chartName, ctx.chartVersion),
    ...selectorLabels(ctx),
    'app.kubernetes.io/version': ctx.appVersion,
    'app.kubernetes.io/managed-by': 'Helm',
    environment: ctx.values.environment,
    ...ctx.values.commonLabels,
  };
}

/** "orbit.serviceAccountName" */
export function serviceAccountName(ctx: HelmContext): string {
  const { create, name } = ctx.values.serviceAccount;
  return name || (create ? fullname(ctx) : 'default');
}

/** Emptiness as Go templates' `with` and `if` judge it. */
export function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

/**
 * sprig's toJson: Go's json.Marshal sorts map keys by their bytes and escapes
 * <, >, & and the two JavaScript line separators, which JSON.stringify leaves
 * alone. The text is written here, key by key: a JavaScript object puts keys
 * such as "123" before every other whatever order they were added in.
 */
export function goJson(value: unknown): string {
  const text = (item: unknown): string => {
    if (Array.isArray(item)) return `[${item.map(text).join(',')}]`;
    if (item !== null && typeof item === 'object') {
      const record = item as Record<string, unknown>;
      const keys = Object.keys(record).sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
      return `{${keys.map((key) => `${JSON.stringify(key)}:${text(record[key])}`).join(',')}}`;
    }
    return JSON.stringify(item);
  };
  return text(value).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
