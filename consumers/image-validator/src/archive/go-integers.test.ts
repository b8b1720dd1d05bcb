import { describe, expect, it } from 'vitest';
import { CONFIG_INTEGER_PATHS, goIntegerProblem, goTimeProblem } from './go-integers.js';

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

describe('goTimeProblem (found by a review: Go reads a time as written, without decoding escapes, and refused a config Orbit stored)', () => {
  it('names a created time written with a JSON escape, at the top level or in a history entry, every occurrence of a key given twice', () => {
    expect(goTimeProblem('{"created":"2026-12-04T10:00:00\\u005a"}')).toMatch(/^created is written with the JSON escape \\u005a, which Go tools \(containerd, docker, skopeo\) cannot read in a time/);
    expect(goTimeProblem('{"history":[{"created":"2026-12-04T10:00:00Z"},{"created_by":"x","created":"2026-12-04T10:00:00\\u002B05:30"}]}')).toMatch(/^history\[1\]\.created is written with the JSON escape \\u002B/);
    // JSON.parse keeps the last, Go reads each: the first refuses the config.
    expect(goTimeProblem('{"created":"2026-12-04T10:00:00\\u005a","created":"2026-12-04T10:00:00Z"}')).toMatch(/^created is written/);
    // A key Go decodes to created is created to it.
    expect(goTimeProblem('{"cr\\u0065ated":"2026-12-04T10:00:00\\u005a"}')).toMatch(/^created is written/);
    expect(goTimeProblem('{"created":"2026-12-04T10:00:00\\/"}')).toMatch(/the JSON escape \\\//);
  });

  it('passes times written plainly, and escapes anywhere else: labels, created_by, a vendor\'s created, strings holding brackets and quotes', () => {
    expect(goTimeProblem('{"created":"2026-12-04T10:00:00Z","history":[{"created":"2026-12-04T10:00:00.5+05:30","created_by":"RUN echo \\"[{\\" \\u005a"}]}')).toBeUndefined();
    expect(goTimeProblem('{"config":{"Labels":{"created":"2026\\u005a"}},"x":{"created":"\\u005a"},"history":[[{"created":"\\u005a"}]],"created":null}')).toBeUndefined();
    expect(goTimeProblem('{"a":"\\"","created":"2026-12-04T10:00:00Z","b":["created","\\u005a"]}')).toBeUndefined();
  });
});
