import { describe, expect, it } from 'vitest';
import { archiveOf, buildImage, docker25Entries, legacyDockerEntries, ociEntries, sha256, streamOf, type BuiltImage } from '../../test-fixtures/images.js';
import type { FileFacts } from './entry-facts.js';
import { noCommandNote, parseConfig } from './image-config.js';
import { MAX_SHELL_WORDS } from './image-shell.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { validateArchive } from './validate-archive.js';

function file(config: unknown): FileFacts {
  const json = Buffer.from(JSON.stringify(config));
  return { kind: 'file', path: 'config.json', size: json.length, sha256: '0'.repeat(64), compression: 'none', decoded: null, json, jsonSkipped: null };
}

const rootfs = { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] };

describe('parseConfig', () => {
  it('maps docker\'s empty strings and nulls to null and empty lists', () => {
    const parsed = parseConfig(file({ architecture: 'arm64', os: 'linux', rootfs, config: { Env: null, Cmd: null, WorkingDir: '', User: '', StopSignal: '', Labels: null, ExposedPorts: null } }), 'config');
    expect(parsed).toEqual({
      architecture: 'arm64', os: 'linux', diffIds: rootfs.diff_ids,
      facts: { exposedPorts: [], env: [], entrypoint: [], cmd: [], workingDir: null, user: null, labels: {}, healthcheck: null, stopSignal: null, volumes: [], shell: null },
    });
  });

  it('accepts a config with no config object at all', () => {
    expect(parseConfig(file({ architecture: 'amd64', os: 'linux', rootfs }), 'config').facts.entrypoint).toEqual([]);
  });

  it('reads healthcheck durations as whole seconds, rounding up; 0 means the default; NONE switches it off', () => {
    const healthcheck = (Healthcheck: unknown) => parseConfig(file({ architecture: 'amd64', os: 'linux', rootfs, config: { Healthcheck } }), 'config').facts.healthcheck;
    expect(healthcheck({ Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 1_500_000_000, Timeout: 0, Retries: 2 }))
      .toEqual({ test: ['CMD-SHELL', 'curl -f localhost'], intervalSeconds: 2, timeoutSeconds: null, startPeriodSeconds: null, retries: 2 });
    expect(healthcheck({ Test: ['NONE'] })).toBeNull();
    expect(healthcheck({ Test: [] })).toBeNull();
  });

  // Docker runs a CMD-SHELL healthcheck with the image's SHELL (daemon/health.go getShell): a check written for bash
  // (`[[ … ]]`) fails for ever under dash, so the chart must know it.
  const shellCheck = { Test: ['CMD-SHELL', '[[ -f /ready ]]'] };
  it('keeps the image\'s SHELL, which a CMD-SHELL healthcheck runs with; an empty one is no SHELL, as to Docker', () => {
    const shell = (Shell: unknown) => parseConfig(file({ architecture: 'amd64', os: 'linux', rootfs, config: { Shell, Healthcheck: shellCheck } }), 'config').facts.shell;
    expect(shell(['/bin/bash', '-o', 'pipefail', '-c'])).toEqual(['/bin/bash', '-o', 'pipefail', '-c']);
    expect(shell([])).toBeNull();
    expect(shell(null)).toBeNull();
    expect(parseConfig(file({ architecture: 'amd64', os: 'linux', rootfs }), 'config').facts.shell).toBeNull();
  });

  it('refuses a SHELL no runtime or chart could run, naming the word', () => {
    const refusal = (Shell: unknown): string => {
      try {
        parseConfig(file({ architecture: 'amd64', os: 'linux', rootfs, config: { Shell, Healthcheck: shellCheck } }), 'config');
        return 'accepted';
      } catch (error) {
        return `${(error as { reasonCode?: string }).reasonCode ?? '?'}: ${(error as Error).message}`;
      }
    };
    expect(refusal('/bin/bash -c')).toMatch(/^BAD_CONFIG: config "config.json" has the wrong shape: config\.Shell: /);
    expect(refusal(['/bin/bash', 'a\u0000b'])).toMatch(/^BAD_CONFIG: .*config\.Shell\.1: holds a NUL character/);
    expect(refusal(['/bin/bash', 'x\u2028y'])).toMatch(/^BAD_CONFIG: .*config\.Shell\.1: holds U\+2028/);
    expect(refusal(['', '-c'])).toMatch(/^BAD_CONFIG: .*config\.Shell: names no program/);
    expect(refusal(Array.from({ length: MAX_SHELL_WORDS + 1 }, () => '-x'))).toMatch(/^BAD_CONFIG: .*config\.Shell: lists more than 64 words/);
    expect(refusal([1, 2])).toMatch(/^BAD_CONFIG: .*config\.Shell\.0: /);
  });

  it('does not judge a SHELL nothing of Orbit\'s runs: without a CMD-SHELL healthcheck an odd SHELL is no refusal (found by a bug reread: SHELL [""] was BAD_CONFIG)', () => {
    const facts = (config: Record<string, unknown>) => parseConfig(file({ architecture: 'amd64', os: 'linux', rootfs, config }), 'config').facts;
    for (const Shell of [[''], Array.from({ length: MAX_SHELL_WORDS + 1 }, () => '-x'), ['/bin/bash', 'x\u2028y']]) {
      expect(facts({ Shell }).shell).toBeNull();
      expect(facts({ Shell, Healthcheck: { Test: ['CMD', '/ready'] } }).shell).toBeNull();
    }
    // Docker's JSON decoding refuses a SHELL that is no list of strings, healthcheck or not.
    expect(() => facts({ Shell: '/bin/bash -c' })).toThrow(/config\.Shell/);
  });

  it('refuses a created time written with a JSON escape, which Go tools cannot read in a time (found by a review: containerd, docker and skopeo refused the stored config)', () => {
    const config = (text: string): FileFacts => {
      const json = Buffer.from(text);
      return { kind: 'file', path: 'config.json', size: json.length, sha256: '0'.repeat(64), compression: 'none', decoded: null, json, jsonSkipped: null };
    };
    const plain = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs, created: '2026-12-04T10:00:00Z', history: [{ created: '2026-12-04T10:00:00+05:30', created_by: 'RUN x' }] });
    expect(parseConfig(config(plain), 'config').architecture).toBe('amd64');
    expect(() => parseConfig(config(plain.replace('10:00:00Z', '10:00:00\\u005a')), 'config'))
      .toThrow(/^config "config.json" has the wrong shape: created is written with the JSON escape \\u005a, which Go tools \(containerd, docker, skopeo\) cannot read in a time/);
    expect(() => parseConfig(config(plain.replace('+05:30', '\\u002B05:30')), 'config')).toThrow(/history\[0\]\.created is written with the JSON escape \\u002B/);
    expect(() => parseConfig(config(plain.replace('10:00:00Z', '10:00:00\\u005a')), 'config')).toThrow(expect.objectContaining({ reasonCode: 'BAD_CONFIG' }));
  });

  it('BAD_CONFIG: an archive whose config says created "…\\u005a", in every layout', async () => {
    const image = await buildImage({ repoTags: ['app:1.0.0'], layers: [{ files: { 'app/run': 'x' } }] });
    const bytes = Buffer.from(image.config.bytes.toString().replace('"created":"2026-11-22T10:00:00Z"', '"created":"2026-11-22T10:00:00\\u005a"'));
    const escaped: BuiltImage = { ...image, config: { ...image.config, bytes, digest: sha256(bytes) } };
    for (const entries of [ociEntries(escaped), legacyDockerEntries(escaped), docker25Entries(escaped)]) {
      const outcome = await validateArchive(streamOf(await archiveOf(entries)), DEFAULT_VALIDATION_LIMITS);
      expect(outcome.ok ? 'accepted' : `${outcome.reasonCode}: ${outcome.message}`).toMatch(/^BAD_CONFIG: config .* has the wrong shape: created is written with the JSON escape \\u005a, which Go tools/);
    }
  });

  it('refuses a SHELL spelt in another letter case, which Docker reads as SHELL and Orbit would not', () => {
    const config = (fields: string): FileFacts => {
      const json = Buffer.from(`{"architecture":"amd64","os":"linux","rootfs":${JSON.stringify(rootfs)},"config":{${fields}}}`);
      return { kind: 'file', path: 'config.json', size: json.length, sha256: '0'.repeat(64), compression: 'none', decoded: null, json, jsonSkipped: null };
    };
    expect(() => parseConfig(config('"shell":["/bin/bash","-c"]'), 'config')).toThrow(/"shell"/);
    expect(() => parseConfig(config('"Shell":["/bin/sh","-c"],"SHELL":["/bin/bash","-c"]'), 'config')).toThrow(/"Shell" and "SHELL"/);
  });
});

describe('noCommandNote', () => {
  const none = { entrypointOverride: null, commandOverride: null };
  it('notes an image with neither Entrypoint nor Cmd and no override to run (found by a review: charted with no note, and containerd says "no command specified")', () => {
    const facts = parseConfig(file({ architecture: 'amd64', os: 'linux', rootfs, config: { Entrypoint: null, Cmd: null } }), 'config').facts;
    expect(noCommandNote(facts, none)).toMatch(/neither Entrypoint nor Cmd.*no command specified/);
    expect(noCommandNote(facts, { entrypointOverride: '  ', commandOverride: '' })).toMatch(/neither Entrypoint nor Cmd/);
  });

  it('says nothing when the image or an override gives a command', () => {
    const facts = { entrypoint: [], cmd: [] };
    expect(noCommandNote({ ...facts, cmd: ['serve'] }, none)).toBeNull();
    expect(noCommandNote({ ...facts, entrypoint: ['/app/run'] }, none)).toBeNull();
    expect(noCommandNote(facts, { ...none, entrypointOverride: '/app/run' })).toBeNull();
    expect(noCommandNote(facts, { ...none, commandOverride: 'serve --port 80' })).toBeNull();
  });
});
