import { describe, expect, it } from 'vitest';
import { ChartVersionError } from './errors.js';
import { chartLabelOf, chartVersionOf, fullnameOf, helmChartNameOf, isLabelValue, isQualifiedName, truncateName } from './naming.js';

const UID = 'AbCdEfGh1234567890abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP';

describe('helmChartNameOf', () => {
  it('is the UID and the version', () => {
    expect(helmChartNameOf(UID, 'v1-0-00')).toBe(`${UID}-v1-0-00`);
  });
});

describe('chartVersionOf', () => {
  it.each([
    ['v0-0-01', '0.0.1'],
    ['v1-2-3', '1.2.3'],
    ['1.2.3', '1.2.3'],
    ['v2', '2.0.0'],
    ['V1-0-00', '1.0.0'],
    ['v1.2', '1.2.0'],
    ['10-20', '10.20.0'],
    ['v007-010-000', '7.10.0'],
  ])('%j -> %j', (version, expected) => {
    expect(chartVersionOf(version)).toBe(expected);
  });

  it.each(['', 'latest', 'v', 'v1-2-3-4', 'v1.2-3', '1.2.3-rc.1', '1.2.3+build', 'v-1', 'v1..2', 'v1-2-', '1 2 3', 'v1234567890'])('rejects %j with ORBIT_ERR_CHART_VERSION', (version) => {
    expect(() => chartVersionOf(version)).toThrow(ChartVersionError);
    try {
      chartVersionOf(version);
    } catch (error) {
      expect((error as ChartVersionError).code).toBe('ORBIT_ERR_CHART_VERSION');
      expect((error as ChartVersionError).retriable).toBe(false);
    }
  });
});

describe('helm name helpers', () => {
  it('fullname is the release name when it contains the chart name', () => {
    expect(fullnameOf('billing-api', 'billing-api')).toBe('billing-api');
    expect(fullnameOf('prod-billing-api', 'billing-api')).toBe('prod-billing-api');
    expect(fullnameOf('other', 'billing-api')).toBe('other-billing-api');
  });

  it('truncates like trunc 63 | trimSuffix "-"', () => {
    expect(truncateName(`${'a'.repeat(62)}-b`)).toBe('a'.repeat(62));
    expect(truncateName('short-')).toBe('short');
  });

  it('builds the helm.sh/chart label', () => {
    expect(chartLabelOf('app', '1.2.3+build')).toBe('app-1.2.3_build');
    // Cut inside the version: a label value ending in '.' or '-' is refused by the API server.
    const name = `a${'b'.repeat(52)}`;
    expect(chartLabelOf(name, '99999999.999999999.999999999')).toBe(`${name}-99999999`);
  });

  it('knows label keys and values', () => {
    expect(isQualifiedName('example.com/team')).toBe(true);
    expect(isQualifiedName('team')).toBe(true);
    expect(isQualifiedName('Example.com/team')).toBe(false);
    expect(isQualifiedName('/team')).toBe(false);
    expect(isQualifiedName('team name')).toBe(false);
    expect(isQualifiedName(`${'a'.repeat(64)}`)).toBe(false);
    expect(isLabelValue('')).toBe(true);
    expect(isLabelValue('v1-0-00')).toBe(true);
    expect(isLabelValue('two words')).toBe(false);
    expect(isLabelValue('-leading')).toBe(false);
  });
});
