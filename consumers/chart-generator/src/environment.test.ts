import { describe, expect, it } from 'vitest';
import { ENVIRONMENTS, parseEnvironment } from './environment.js';
import { ChartEnvironmentError } from './errors.js';

describe('parseEnvironment', () => {
  it('accepts each environment in any case', () => {
    for (const name of ENVIRONMENTS) {
      expect(parseEnvironment(name)).toBe(name);
      expect(parseEnvironment(` ${name.toUpperCase()} `)).toBe(name);
    }
  });

  it('rejects others with ORBIT_ERR_CHART_ENVIRONMENT', () => {
    expect(() => parseEnvironment('prod')).toThrow(ChartEnvironmentError);
    expect(() => parseEnvironment('')).toThrow(/ORBIT_ERR_CHART_ENVIRONMENT|unknown environment/);
  });
});
