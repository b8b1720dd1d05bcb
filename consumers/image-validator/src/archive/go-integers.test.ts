import { describe, expect, it } from 'vitest';
import { CONFIG_INTEGER_PATHS, goIntegerProblem } from './go-integers.js';

describe('goIntegerProblem', () => {
  it('names the field Go would refuse by where it is', () => {
    const manifest = '{"schemaVersion":2,"config":{"size":7,"digest":"sha256:a"},"layers":[{"size":3},{"size":3212.0}]}';
    expect(goIntegerProblem(manifest)).toMatch(/^layers\[1\]\.size is written 3212\.0, which Go's JSON reader/);
    expect(goIntegerProblem('{"schemaVersion":2e0}')).toMatch(/^schemaVersion is written 2e0/);
    expect(goIntegerProblem('{"manifests":[{"size":1E3}]}')).toMatch(/^manifests\[0\]\.size is written 1E3/);
    expect(goIntegerProblem('[{"Config":"c.json","LayerSources":{"sha256:a":{"size":10.5}}}]')).toMatch(/^\[0\]\.LayerSources\.sha256:a\.size is written 10\.5/);
    expect(goIntegerProblem('{"container_config":{"Healthcheck":{"Retries":3.0}}}', CONFIG_INTEGER_PATHS)).toMatch(/^container_config\.Healthcheck\.Retries is written 3\.0/);
  });

  it('passes numbers Go reads into no integer: a vendor field of the same name elsewhere, or a float where Go takes one (found by review: it matched by name)', () => {
    expect(goIntegerProblem('{"schemaVersion":2,"layers":[{"size":3}],"x-vendor":{"size":1.5,"schemaVersion":2.0}}')).toBeUndefined();
    expect(goIntegerProblem('{"layers":[{"size":3,"annotations":{"a":"1.0"},"x":{"size":0.5}}]}')).toBeUndefined();
    expect(goIntegerProblem('{"config":{"Labels":{"Retries":"3.0"},"x":{"Retries":3.5}}}', CONFIG_INTEGER_PATHS)).toBeUndefined();
    expect(goIntegerProblem('{"config":{"Healthcheck":{"Interval":30000000000}}}', CONFIG_INTEGER_PATHS)).toBeUndefined();
  });
});
