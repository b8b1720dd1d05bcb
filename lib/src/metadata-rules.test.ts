import { describe, expect, it } from 'vitest';
import { CHART_OWN_LABELS, chartVersionOf, checkMetadata, controlCharacterProblem, IMAGE_NAME_PATTERN, IMAGE_VERSION_PATTERN, jsonBytes, MAX_METADATA_BYTES, metadataRuntimeProblems, metadataSizeProblem } from './metadata-rules.js';

describe('image name rule', () => {
  it.each(['billing-api', 'a', '0', 'my.app', 'my_app', 'my__app', 'my---app', 'x'.repeat(128), 'v2.api-gateway_1'])('accepts %s', (imageName) => {
    expect(checkMetadata({ imageName, imageVersion: '1.0.0' }).ok).toBe(true);
  });

  it.each(['', 'Billing', '-api', 'api-', '.api', 'api.', 'my..app', 'my._app', 'my___app', 'my app', 'my/app', 'ünïcode', 'x'.repeat(129), 'api\n'])('refuses %j and names the field', (imageName) => {
    expect(checkMetadata({ imageName, imageVersion: '1.0.0' })).toMatchObject({ ok: false, reasonCode: 'INVALID_METADATA', field: 'imageName' });
  });
});

describe('image version rule and chart version', () => {
  it.each([
    ['v0-0-01', '0.0.1'], ['v1-2-3', '1.2.3'], ['v1-0-00', '1.0.0'], ['v10-20-300', '10.20.300'], ['v0001-0-0', '1.0.0'],
    ['1.2.3', '1.2.3'], ['0.0.0', '0.0.0'], ['10.0.1', '10.0.1'],
  ])('%s is chart version %s', (imageVersion, chart) => {
    expect(chartVersionOf(imageVersion)).toBe(chart);
    expect(checkMetadata({ imageName: 'api', imageVersion })).toEqual({ ok: true, chartVersion: chart });
  });

  it.each(['', 'v1', 'v1-2', 'v1-2-3-4', '1.2', '01.2.3', '1.02.3', 'v1.2.3', '1.2.3-rc.1', '1.2.3+build', 'V1-2-3', 'v1-2-3 ', 'v12345-0-0', 'latest', '1.2.03', '1.2.00'])('refuses %j', (imageVersion) => {
    expect(chartVersionOf(imageVersion)).toBeNull();
    const verdict = checkMetadata({ imageName: 'api', imageVersion });
    expect(verdict).toMatchObject({ ok: false, reasonCode: 'INVALID_METADATA', field: 'imageVersion' });
    if (!verdict.ok) expect(verdict.message).toContain('imageVersion');
  });
});

describe('the rules as patterns (published in the API document)', () => {
  it('take exactly what checkMetadata takes', () => {
    const names = ['billing-api', 'my__app', 'Billing', 'my..app', 'api-', ''];
    for (const imageName of names) expect(new RegExp(IMAGE_NAME_PATTERN).test(imageName), imageName).toBe(checkMetadata({ imageName, imageVersion: '1.0.0' }).ok);
    const versions = ['v0-0-01', '1.2.3', '0.0.0', 'v1', '01.2.3', '1.2.3-rc.1', 'v1.2.3', 'latest', ''];
    for (const imageVersion of versions) expect(new RegExp(IMAGE_VERSION_PATTERN).test(imageVersion), imageVersion).toBe(checkMetadata({ imageName: 'api', imageVersion }).ok);
  });
});

describe('what a container must be able to run', () => {
  it('takes command lines, paths and variables a runtime can pass', () => {
    expect(metadataRuntimeProblems({
      commandOverride: `--config "/etc/my app/c.yaml" --greeting 'hello: {{ world }}'`, entrypointOverride: '/bin/sh -c "exec run \\"$1\\""',
      envVars: [{ key: 'K'.repeat(253), value: 'Café ✓ 🚀\t\n' }], volumes: [{ key: 'data', value: '/var/lib/my data' }], workingDir: '/srv/app',
    })).toEqual([]);
    expect(metadataRuntimeProblems({})).toEqual([]);
  });

  it('names each field no container could start with: an unsplittable command, a NUL, a variable name longer than a ConfigMap key', () => {
    expect(metadataRuntimeProblems({
      commandOverride: "run --title 'unclosed", entrypointOverride: '/bin/app \\',
      envVars: [{ key: 'OK', value: 'fine' }, { key: 'K'.repeat(254), value: 'a\u0000b' }], volumes: [{ key: 'data', value: '/data\u0000' }], workingDir: '/srv\u0000',
    })).toEqual([
      { field: 'envVars.1.key', problem: 'is 254 characters; at most 253 (a ConfigMap key)' },
      { field: 'envVars.1.value', problem: expect.stringMatching(/holds a NUL character/) },
      { field: 'volumes.0.value', problem: expect.stringMatching(/holds a NUL character/) },
      { field: 'commandOverride', problem: expect.stringMatching(/^has an unclosed ' quote: write it as a shell command line/) },
      { field: 'entrypointOverride', problem: expect.stringMatching(/^ends with a lone backslash/) },
      { field: 'workingDir', problem: expect.stringMatching(/holds a NUL character/) },
    ]);
  });

  it('refuses a variable or label given twice, and a label the chart sets itself: the chart kept one value, or none, without a word (found by a probe)', () => {
    expect(metadataRuntimeProblems({
      envVars: [{ key: 'A', value: 'first' }, { key: 'B', value: 'b' }, { key: 'A', value: 'second' }],
      imageLabels: [{ key: 'team', value: 'a' }, { key: 'team', value: 'b' }, { key: 'app.kubernetes.io/name', value: 'other' }, { key: 'environment', value: 'prod' }, { key: 'example.com/tier', value: 'web' }],
    })).toEqual([
      { field: 'envVars.2.key', problem: 'repeats envVars.0.key ("A"): a container gets one value per name; give it once' },
      { field: 'imageLabels.1.key', problem: 'repeats imageLabels.0.key ("team"): an object has one value per label; give it once' },
      { field: 'imageLabels.2.key', problem: expect.stringMatching(/^is "app.kubernetes.io\/name", a label the chart sets itself \(app.kubernetes.io\/name, .*\); name yours otherwise$/) },
      { field: 'imageLabels.3.key', problem: expect.stringMatching(/^is "environment", a label the chart sets itself/) },
    ]);
  });

  // Each was accepted and then changed by the chart without a word: the root left out, two spellings of one directory
  // merged into one emptyDir, a second volume of one key taken as another (found by a review).
  it('refuses a volume of the root directory, a volume key given twice, and two volume paths that are one directory once cleaned', () => {
    expect(metadataRuntimeProblems({
      volumes: [
        { key: 'data', value: '/data/' }, { key: 'root', value: '/' }, { key: 'logs', value: '/var/log/./app//' }, { key: 'data', value: '/cache' },
        { key: 'data2', value: '/data' }, { key: 'up', value: '/srv/..' }, { key: 'logs2', value: '/var/log/app' }, { key: 'ok', value: '/var/log' },
      ],
    })).toEqual([
      { field: 'volumes.3.key', problem: 'repeats volumes.0.key ("data"): the key names one volume; give it once' },
      { field: 'volumes.1.value', problem: 'is the root directory, which a volume cannot be mounted over: name the directory the image writes to' },
      { field: 'volumes.4.value', problem: 'is "/data" once cleaned, as volumes.0.value is: a directory is mounted once; give it once' },
      { field: 'volumes.5.value', problem: 'is the root directory once cleaned ("/srv/.."), which a volume cannot be mounted over: name the directory the image writes to' },
      { field: 'volumes.6.value', problem: 'is "/var/log/app" once cleaned, as volumes.2.value is: a directory is mounted once; give it once' },
    ]);
    expect(metadataRuntimeProblems({ volumes: [{ key: 'a', value: '/data' }, { key: 'b', value: '/data-2' }, { key: 'c', value: '/data/sub' }] })).toEqual([]);
  });

  it('names each field holding a character no Helm chart can carry (DEL, C1 controls, U+2028/9, U+FFFE/F), the chart\'s description and category too', () => {
    expect(metadataRuntimeProblems({
      envVars: [{ key: 'A', value: 'rub\u007fout' }, { key: 'B', value: 'tab\t \ufeff \u00a0 \u001b \u00ff \ud83d\ude80 ok' }, { key: 'C', value: 'next\u0085line' }, { key: 'D', value: '\u2029' }],
      volumes: [{ key: 'data', value: '/data\u0090' }], commandOverride: 'run \u009b', entrypointOverride: '/bin/app', workingDir: '/srv\uffff',
      description: 'Billing \ufffe', imageCategory: 'back\u0080end',
    })).toEqual([
      { field: 'envVars.0.value', problem: 'holds U+007F, a character no Helm chart can carry as it is (helm refuses a chart holding DEL, a C1 control, U+FFFE or U+FFFF, and turns NEL, U+2028 and U+2029 into spaces)' },
      { field: 'envVars.2.value', problem: expect.stringMatching(/^holds U\+0085, /) },
      { field: 'envVars.3.value', problem: expect.stringMatching(/^holds U\+2029, /) },
      { field: 'volumes.0.value', problem: expect.stringMatching(/^holds U\+0090, /) },
      { field: 'commandOverride', problem: expect.stringMatching(/^holds U\+009B, /) },
      { field: 'workingDir', problem: expect.stringMatching(/^holds U\+FFFF, /) },
      { field: 'description', problem: expect.stringMatching(/^holds U\+FFFE, /) },
      { field: 'imageCategory', problem: expect.stringMatching(/^holds U\+0080, /) },
    ]);
  });

  it('names each field holding `<no value>`, which helm deletes from what its templates render, and leaves it where no template renders it', () => {
    expect(metadataRuntimeProblems({
      envVars: [{ key: 'A_PORT', value: '<no value>8080' }, { key: 'OK', value: '<no-value>' }], volumes: [{ key: 'data', value: '/srv/<no value>' }],
      commandOverride: "--greeting '<no value>' --x", entrypointOverride: '/bin/run <no\\ value>', workingDir: '/srv/<no value>',
      description: 'Prints <no value> when unset', imageCategory: '<no value>',
    })).toEqual([
      { field: 'envVars.0.value', problem: 'holds "<no value>", text helm deletes from everything its templates render (Go templates print it for a missing value)' },
      { field: 'volumes.0.value', problem: expect.stringMatching(/^holds "<no value>"/) },
      { field: 'commandOverride', problem: expect.stringMatching(/^holds "<no value>"/) },
      { field: 'entrypointOverride', problem: expect.stringMatching(/^holds "<no value>"/) },
      { field: 'workingDir', problem: expect.stringMatching(/^holds "<no value>"/) },
    ]);
    // Unquoted it is two words, `<no` and `value>`, which helm leaves alone.
    expect(metadataRuntimeProblems({ commandOverride: 'echo <no value>' })).toEqual([]);
  });
});

describe('labels the chart sets itself', () => {
  const OWN = [
    'app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by',
    'helm.sh/chart', 'environment', 'app.kubernetes.io/component', 'orbit/image-tag',
  ];

  it.each(OWN)('refuses %s as a user label, naming the label (the chart would carry two values for it)', (key) => {
    expect(metadataRuntimeProblems({ imageLabels: [{ key, value: 'mine' }] })).toEqual([
      { field: 'imageLabels.0.key', problem: expect.stringContaining(`is "${key}", a label the chart sets itself`) as unknown },
    ]);
  });

  it('are exactly those eight', () => {
    expect([...CHART_OWN_LABELS].sort()).toEqual([...OWN].sort());
  });
});

describe('the metadata an image version carries (128 KiB as JSON)', () => {
  it('takes metadata of exactly 128 KiB and refuses one byte more, saying how big it is', () => {
    const sized = (bytes: number) => {
      const bare = { imageName: 'billing-api', description: '' };
      return { ...bare, description: 'd'.repeat(bytes - jsonBytes(bare)) };
    };
    expect(jsonBytes(sized(MAX_METADATA_BYTES))).toBe(MAX_METADATA_BYTES);
    expect(metadataSizeProblem(sized(MAX_METADATA_BYTES))).toBeNull();
    expect(metadataSizeProblem(sized(MAX_METADATA_BYTES + 1))).toBe('is 131073 bytes as JSON; at most 131072 (128 KiB) travel with an image version');
  });
});

describe('text shown to people (description, category, part)', () => {
  it('refuses C0 controls but tab and line breaks, naming the field and the character, where only NUL, DEL and C1 were refused (found by a review: ESC]8;; links reached helm search readers)', () => {
    expect(metadataRuntimeProblems({ description: 'x\u001b]8;;http://evil\u0007link', imageCategory: 'a\u001b[31mred', part: 'a\u0007b' })).toEqual([
      { field: 'description', problem: expect.stringMatching(/^holds U\+001B, a control character/) as unknown },
      { field: 'imageCategory', problem: expect.stringMatching(/^holds U\+001B, a control character/) as unknown },
      { field: 'part', problem: expect.stringMatching(/^holds U\+0007, a control character/) as unknown },
    ]);
    expect(metadataRuntimeProblems({ part: 'a\u0000b' })).toEqual([{ field: 'part', problem: expect.stringContaining('NUL') as unknown }]);
    expect(metadataRuntimeProblems({ description: 'one\r\n\ttwo 🚀', imageCategory: 'a\tb', part: 'core' })).toEqual([]);
    expect(['\u0001', '\u001f', '\u007f', '\u0085', '\u009f'].map((text) => controlCharacterProblem(text)?.slice(0, 14))).toEqual(['holds U+0001, ', 'holds U+001F, ', 'holds U+007F, ', 'holds U+0085, ', 'holds U+009F, ']);
    expect(['\t', '\n', '\r', '\u2028', 'é'].map((text) => controlCharacterProblem(text))).toEqual([null, null, null, null, null]);
  });
});
