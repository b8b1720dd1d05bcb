import { describe, expect, it } from 'vitest';
import { METADATA_JSON_SCHEMA, parseMetadata } from './metadata.js';

describe('parseMetadata', () => {
  it('refuses text holding half a surrogate pair, naming the field, in known and extra fields alike', () => {
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', Description: 'lost \ud83d half' })).toEqual({
      ok: false, problems: [{ field: 'Description', message: expect.stringContaining('well-formed Unicode') }],
    });
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', owner: { team: '\udc00' } })).toMatchObject({ ok: false, problems: [{ field: 'owner.team' }] });
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', Description: 'rocket 🚀' })).toMatchObject({ ok: true });
    // Named as sent (found by a review: a too long `description` was reported as `Description`, a field the client never sent).
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', description: 'x'.repeat(5000), part: 'p'.repeat(200) })).toMatchObject({
      ok: false, problems: [{ field: 'description' }, { field: 'part' }],
    });
  });

  it('refuses a number in extra metadata that would be kept other than written (2^53 or more), naming the field', () => {
    expect(parseMetadata(JSON.parse('{"imageName":"billing-api","imageVersion":"v1-0-00","build":{"id":12345678901234567890}}'))).toEqual({
      ok: false, problems: [{ field: 'build.id', message: expect.stringContaining('send it as a string') as unknown }],
    });
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', build: { id: 9007199254740991 } })).toMatchObject({ ok: true });
  });

  it('refuses a port of 2^53 or more as any port out of range, not by telling to send it as a string (which a port refuses too)', () => {
    const refused = parseMetadata(JSON.parse('{"imageName":"billing-api","imageVersion":"v1-0-00","port":12345678901234567890}'));
    expect(refused.ok).toBe(false);
    const problems = refused.ok ? [] : refused.problems;
    expect(new Set(problems.map(({ field, message }) => `${field}: ${message}`))).toEqual(new Set(['port: must be a port number, 1 to 65535']));
  });

  it('documents label keys with a pattern every validator reads (no lookahead: RE2 has none), the prefix bound said in words and checked here', () => {
    const key = (METADATA_JSON_SCHEMA['properties'] as { imageLabels: { items: { properties: { key: { pattern: string; description: string; example: string } } } } }).imageLabels.items.properties.key;
    expect(key.pattern).not.toContain('(?');
    const documented = new RegExp(key.pattern, 'u');
    const labelled = (name: string) => parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', imageLabels: [{ key: name, value: 'x' }] }).ok;
    for (const name of [key.example, 'team', 'example.com/team', 'a-b.c/D_e.f', `${'a'.repeat(253)}/n`]) expect([documented.test(name), labelled(name)], name).toEqual([true, true]);
    for (const name of ['-team', 'Example.com/team', 'a..b/c', 'a/b/c', '/team', `${'n'.repeat(64)}`]) expect([documented.test(name), labelled(name)], name).toEqual([false, false]);
    // What only the words say: a prefix over 253 characters.
    expect([documented.test(`${'a'.repeat(254)}/n`), labelled(`${'a'.repeat(254)}/n`)]).toEqual([true, false]);
    expect(key.description).toContain('at most 253 characters');
  });

  it('refuses a known field written in another letter case, naming the one meant, instead of keeping it as extra metadata (Port left the chart without a port)', () => {
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', Port: 8080 })).toEqual({
      ok: false, problems: [{ field: 'Port', message: expect.stringContaining('is port written in another letter case') as unknown }],
    });
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', EnvVars: [] })).toMatchObject({ ok: false, problems: [{ field: 'EnvVars' }] });
    // The aliases stay aliases, and other extra fields stay extra.
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', description: 'd', part: 'p', portal: 'x' })).toMatchObject({ ok: true });
  });

  it('refuses a NUL in the description or category, which the chart\'s OCI annotations carry and Harbor\'s Postgres refuses', () => {
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', Description: 'billing\u0000api' })).toMatchObject({ ok: false, problems: [{ field: 'Description', message: expect.stringContaining('NUL') as unknown }] });
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', description: 'billing\u0000api' })).toMatchObject({ ok: false, problems: [{ field: 'description', message: expect.stringContaining('NUL') as unknown }] });
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', imageCategory: 'a\u0000b' })).toMatchObject({ ok: false, problems: [{ field: 'imageCategory' }] });
  });

  it('accepts the design fields and keeps extra fields as they are', () => {
    const result = parseMetadata({
      imageName: 'billing-api', imageVersion: 'v1-0-00', imageCategory: 'backend', Description: 'Billing', Part: 'core', port: '8080',
      envVars: [{ key: 'MODE', value: 'a: "quoted" {{ x }}' }], volumes: [{ key: 'data', value: '/var/lib/data' }],
      imageLabels: [{ key: 'team', value: 'payments' }], workingDir: '/app', owner: { team: 'payments' }, ticket: 42,
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.metadata.port).toBe(8080);
    expect(result.metadata.description).toBe('Billing');
    expect(result.metadata.envVars[0]?.value).toBe('a: "quoted" {{ x }}');
    expect(JSON.parse(result.metadata.extraJson ?? '{}')).toEqual({ owner: { team: 'payments' }, ticket: 42 });
  });

  it('keeps extra fields named __proto__, constructor and toString as any other (found by a review: __proto__ was dropped without a word)', () => {
    const sent = JSON.parse('{"imageName":"billing-api","imageVersion":"v1-0-00","__proto__":{"team":"payments"},"constructor":"c","toString":1}') as unknown;
    const result = parseMetadata(sent);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const extra = JSON.parse(result.metadata.extraJson ?? '{}') as Record<string, unknown>;
    expect(Object.keys(extra)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(extra, '__proto__')?.value).toEqual({ team: 'payments' });
  });

  it('refuses metadata that would not fit in the rows and events it travels in (128 KiB as JSON), though each field is within its own limit', () => {
    const variables = (count: number) => Array.from({ length: count }, (_, i) => ({ key: `K${i}`, value: 'x'.repeat(32_000) }));
    // 4 x 32 000 bytes fit; 14 (448 KB, accepted before and then dead-lettered by DynamoDB's 400 KB item limit) do not.
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', envVars: variables(4) })).toMatchObject({ ok: true });
    const refused = parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', envVars: variables(14) });
    expect(refused).toEqual({ ok: false, problems: [{ field: 'metadata', message: expect.stringMatching(/^is 4\d{5} bytes as JSON; at most 131072 \(128 KiB\) travel with an image version$/) }] });
    // Multi-byte text counts as the bytes it travels as, not as characters.
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', Description: 'é'.repeat(4000), envVars: [{ key: 'A', value: '€'.repeat(10_000) }, { key: 'B', value: '€'.repeat(10_000) }, { key: 'C', value: '€'.repeat(10_000) }, { key: 'D', value: '€'.repeat(10_000) }, { key: 'E', value: '€'.repeat(10_000) }] }))
      .toMatchObject({ ok: false, problems: [{ field: 'metadata' }] });
  });

  it('names each bad field', () => {
    const result = parseMetadata({ imageVersion: '', port: 70000, envVars: [{ key: '1BAD', value: 'x' }], volumes: [{ key: 'Data', value: 'relative' }] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const fields = result.problems.map((problem) => problem.field);
    expect(fields).toEqual(expect.arrayContaining(['imageName', 'imageVersion', 'port', 'envVars.0.key', 'volumes.0.key', 'volumes.0.value']));
  });

  it('answers every check\'s problems at once, in the order of the checks, not one check a round (found by a review: a portal form took four submissions)', () => {
    const result = parseMetadata({
      imageName: 'Bad Name!', imageVersion: '1.0', imageCategory: 'nope', port: 99999, envVars: [{ key: '1x', value: 'a' }], commandOverride: "run 'x", WorkingDir: '/app',
    });
    expect(result).toEqual({
      ok: false,
      problems: [
        // The schema, in its fields' order.
        { field: 'port', message: 'must be a port number, 1 to 65535' },
        { field: 'envVars.0.key', message: 'must be a valid environment variable name' },
        // The naming rules: both fields, though lib's checkMetadata names only the first it finds wrong.
        { field: 'imageName', message: expect.stringMatching(/^must be lowercase letters and digits/) as unknown },
        { field: 'imageVersion', message: expect.stringMatching(/^must look like v1-2-3/) as unknown },
        // What the chart could not run.
        { field: 'commandOverride', message: expect.stringMatching(/unclosed ' quote/) as unknown },
        // A known field in another letter case.
        { field: 'WorkingDir', message: expect.stringMatching(/^is workingDir written in another letter case/) as unknown },
      ],
    });
  });

  it('checks the other fields of metadata that gives a field twice, or a field that fails the schema, and names no field twice for one value', () => {
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'latest', Description: 'a', description: 'b\u0000', port: 0 })).toEqual({
      ok: false,
      problems: [
        { field: 'description', message: 'Description is given twice (as Description and as description); send one' },
        { field: 'port', message: 'must be a port number, 1 to 65535' },
        { field: 'imageVersion', message: expect.stringMatching(/^must look like v1-2-3/) as unknown },
      ],
    });
    // Too long for the schema: not also told it breaks the naming rules, nor a bad list's values what the chart could not run.
    const failed = parseMetadata({ imageName: 'Bad Name!'.repeat(15), imageVersion: 'v1-0-00', envVars: [{ key: '1x', value: 'a\u0000' }], workingDir: '/a\u0000' });
    expect(failed.ok ? [] : failed.problems.map(({ field }) => field)).toEqual(['imageName', 'envVars.0.key', 'workingDir']);
  });

  it('stops at what the later checks cannot read past: not an object, a string no store keeps, a size measured only of metadata that passed every check', () => {
    expect(parseMetadata({ imageName: 'Bad Name!', imageVersion: 'v1-0-00', Description: 'lost \ud83d half' })).toEqual({ ok: false, problems: [{ field: 'Description', message: expect.stringContaining('well-formed Unicode') as unknown }] });
    const big = Array.from({ length: 14 }, (_, i) => ({ key: `K${i}`, value: 'x'.repeat(32_000) }));
    expect(parseMetadata({ imageName: 'Bad Name!', imageVersion: 'v1-0-00', envVars: big })).toMatchObject({ ok: false, problems: [{ field: 'imageName' }] });
  });

  it('refuses at the door what the chart could not run (an unsplittable command, a NUL, an overlong variable name), naming each field', () => {
    const result = parseMetadata({ imageName: 'api', imageVersion: 'v1-0-00', commandOverride: "run 'x", envVars: [{ key: 'K', value: 'a\u0000' }], workingDir: '/a\u0000' });
    expect(result).toMatchObject({ ok: false, problems: [{ field: 'envVars.0.value' }, { field: 'commandOverride', message: expect.stringMatching(/unclosed ' quote/) }, { field: 'workingDir' }] });
    const uncarriable = parseMetadata({ imageName: 'api', imageVersion: 'v1-0-00', Description: 'a\u007f', envVars: [{ key: 'K', value: 'ok\u00a0\ufeff' }, { key: 'L', value: '\u009f' }] });
    expect(uncarriable).toMatchObject({ ok: false, problems: [{ field: 'envVars.1.value', message: expect.stringMatching(/^holds U\+009F, a character no Helm chart can carry/) }, { field: 'Description', message: expect.stringMatching(/^holds U\+007F/) }] });
    // Helm deletes `<no value>` from what its templates render: the variable would reach the container as "x".
    const deleted = parseMetadata({ imageName: 'api', imageVersion: 'v1-0-00', envVars: [{ key: 'K', value: 'x<no value>' }] });
    expect(deleted).toEqual({ ok: false, problems: [{ field: 'envVars.0.value', message: expect.stringMatching(/^holds "<no value>", text helm deletes/) }] });
    const overlong = parseMetadata({ imageName: 'api', imageVersion: 'v1-0-00', envVars: [{ key: 'K'.repeat(254), value: 'v' }] });
    expect(overlong).toMatchObject({ ok: false, problems: [{ field: 'envVars.0.key', message: 'must be at most 253 characters (a ConfigMap key)' }] });
  });

  it('takes a label key as Kubernetes does: a DNS subdomain prefix of at most 253 characters, a name of at most 63', () => {
    const keyOk = (key: string) => parseMetadata({ imageName: 'api', imageVersion: 'v1-0-00', imageLabels: [{ key, value: 'v' }] }).ok;
    const prefix253 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(prefix253).toHaveLength(253);
    for (const good of ['team', 'example.com/owner', `${prefix253}/${'n'.repeat(63)}`, 'a/B_c.d-e', '9']) expect(keyOk(good), good).toBe(true);
    // A prefix of 254 characters: accepted once, and the chart then failed after the image was stored.
    for (const bad of [`${prefix253}e/name`, `example.com/${'n'.repeat(64)}`, '/name', 'Example.com/name', 'a..b/name', 'example.com/', '-a/name', 'a/b/c']) expect(keyOk(bad), bad).toBe(false);
  });

  it('takes a port as a number or as digits (a form field), and nothing JavaScript would merely turn into one', () => {
    const portOf = (port: unknown) => { const result = parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', port }); return result.ok ? result.metadata.port : result.problems; };
    expect([portOf(8080), portOf('8080'), portOf(null)]).toEqual([8080, 8080, null]);
    for (const bad of [true, 'eighty', 0, '0', '08080', 70000, '70000', '65536', 1.5, [80]]) expect(portOf(bad), JSON.stringify(bad)).toEqual([{ field: 'port', message: 'must be a port number, 1 to 65535' }]);
    // The document's pattern for the digits form says the same range.
    const digits = new RegExp(((METADATA_JSON_SCHEMA['properties'] as Record<string, { anyOf: { pattern?: string }[] }>)['port']?.anyOf ?? []).find((branch) => branch.pattern)?.pattern ?? '^$');
    expect(['1', '8080', '65535', '0', '65536', '08080'].map((text) => digits.test(text))).toEqual([true, true, true, false, false, false]);
  });

  it('refuses a blank name or version once, saying so, and trims the rest', () => {
    expect(parseMetadata({ imageName: '   ', imageVersion: 'v1-0-00' })).toEqual({ ok: false, problems: [{ field: 'imageName', message: 'must not be blank' }] });
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: '\u00a0\u3000' })).toEqual({ ok: false, problems: [{ field: 'imageVersion', message: 'must not be blank' }] });
    expect(parseMetadata({ imageName: ' billing-api ', imageVersion: 'v1-0-00' })).toMatchObject({ ok: true, metadata: { imageName: 'billing-api' } });
  });

  it('applies the naming rules at the door (the validator applies them again), and the API document says them', () => {
    expect(parseMetadata({ imageName: 'Billing API', imageVersion: 'v1-0-00' })).toEqual({ ok: false, problems: [{ field: 'imageName', message: expect.stringMatching(/^must be lowercase letters and digits/) }] });
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'latest' })).toEqual({ ok: false, problems: [{ field: 'imageVersion', message: expect.stringMatching(/^must look like v1-2-3/) }] });
    const documented = (field: string) => new RegExp((METADATA_JSON_SCHEMA['properties'] as Record<string, { pattern: string }>)[field]?.pattern ?? '^$');
    expect(['billing-api', 'Billing API', ''].map((name) => documented('imageName').test(name))).toEqual([true, false, false]);
    expect(['v1-0-00', '1.2.3', 'latest', '1.2.3-rc.1'].map((version) => documented('imageVersion').test(version))).toEqual([true, true, false, false]);
  });

  it('takes null for an optional field as not given, as generated API clients send it', () => {
    const result = parseMetadata({
      imageName: 'billing-api', imageVersion: 'v1-0-00', imageCategory: null, description: null, Part: null, port: null,
      envVars: null, volumes: null, imageLabels: null, commandOverride: null, entrypointOverride: null, workingDir: null,
    });
    expect(result).toEqual({
      ok: true,
      metadata: {
        imageName: 'billing-api', imageVersion: 'v1-0-00', imageCategory: null, description: null, part: null, port: null,
        envVars: [], volumes: [], imageLabels: [], commandOverride: null, entrypointOverride: null, workingDir: null, extraJson: null,
      },
    });
    const required = parseMetadata({ imageName: null, imageVersion: null });
    expect(required.ok ? [] : required.problems.map((problem) => problem.field)).toEqual(['imageName', 'imageVersion']);
  });

  it('says a required field is required, and names the Harbor-style key sent in its place (zod said "expected string, received undefined")', () => {
    const harborStyle = parseMetadata({ name: 'billing-api', tag: 'v1-0-00', port: 8080 });
    expect(harborStyle.ok ? [] : harborStyle.problems).toEqual([
      { field: 'imageName', message: 'is required (name was sent: did you mean imageName? unknown fields are kept as extra metadata)' },
      { field: 'imageVersion', message: 'is required (tag was sent: did you mean imageVersion? unknown fields are kept as extra metadata)' },
    ]);
    const chartStyle = parseMetadata({ imageName: 'billing-api', version: '1.0.0' });
    expect(chartStyle.ok ? [] : chartStyle.problems).toEqual([{ field: 'imageVersion', message: 'is required (version was sent: did you mean imageVersion? unknown fields are kept as extra metadata)' }]);
    // The field itself sent as null is not "another spelling" of it.
    const nulls = parseMetadata({ imageName: null, imageVersion: null, tag: 'v1' });
    expect(nulls.ok ? [] : nulls.problems).toEqual([
      { field: 'imageName', message: 'is required, and was sent as null' },
      { field: 'imageVersion', message: 'is required, and was sent as null (tag was sent too: did you mean imageVersion?)' },
    ]);
    const nothing = parseMetadata({ port: 8080 });
    expect(nothing.ok ? [] : nothing.problems).toEqual([{ field: 'imageName', message: 'is required' }, { field: 'imageVersion', message: 'is required' }]);
    // Given but of the wrong type is no missing field.
    const numeric = parseMetadata({ imageName: 7, imageVersion: 'v1' });
    expect(numeric.ok ? '' : numeric.problems[0]?.message).not.toMatch(/required/);
  });

  it('keeps every design field a user sends, as sent (trimmed where the rule trims), in the metadata the pipeline gets', () => {
    const result = parseMetadata({
      imageName: 'billing-api', imageVersion: '1.2.3', imageCategory: 'backend', description: 'Billing service', part: 'core', port: 8080,
      envVars: [{ key: 'MODE', value: 'live' }], volumes: [{ key: 'data', value: '/var/lib/data' }], imageLabels: [{ key: 'example.com/team', value: 'payments' }],
      commandOverride: '--config /etc/app.yaml', entrypointOverride: '/bin/app serve', workingDir: '/srv/app', ticket: 42,
    });
    expect(result).toEqual({
      ok: true,
      metadata: {
        imageName: 'billing-api', imageVersion: '1.2.3', imageCategory: 'backend', description: 'Billing service', part: 'core', port: 8080,
        envVars: [{ key: 'MODE', value: 'live' }], volumes: [{ key: 'data', value: '/var/lib/data' }], imageLabels: [{ key: 'example.com/team', value: 'payments' }],
        commandOverride: '--config /etc/app.yaml', entrypointOverride: '/bin/app serve', workingDir: '/srv/app', extraJson: '{"ticket":42}',
      },
    });
    // The design documents' spelling (Part) is kept alike.
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: '1.2.3', Part: 'edge' })).toMatchObject({ ok: true, metadata: { part: 'edge' } });
  });

  it('refuses a field given both as its alias and as written in the design documents (description and Description), naming it given twice, instead of keeping one silently', () => {
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', Description: 'first', description: 'second' })).toEqual({
      ok: false, problems: [{ field: 'description', message: 'Description is given twice (as Description and as description); send one' }],
    });
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', part: 'a', Part: 'b' })).toEqual({
      ok: false, problems: [{ field: 'Part', message: 'Part is given twice (as part and as Part); send one' }],
    });
  });

  it('refuses a label value Kubernetes would refuse (a space, 64 characters), naming the label, and takes one of 63 characters', () => {
    const labelled = (value: string) => parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', imageLabels: [{ key: 'team', value }] });
    for (const bad of ['pay ments', 'v'.repeat(64), '-payments', 'payments.']) {
      expect(labelled(bad), bad).toEqual({ ok: false, problems: [{ field: 'imageLabels.0.value', message: 'must be a Kubernetes label value (<= 63 chars)' }] });
    }
    for (const good of ['v'.repeat(63), 'pay-ments_1.x', '']) expect(labelled(good), good).toMatchObject({ ok: true, metadata: { imageLabels: [{ key: 'team', value: good }] } });
  });

  it('trims the version and category a form sends with spaces or a newline, instead of refusing the version or keeping the spaces in the chart', () => {
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: ' 1.2.3\n', imageCategory: ' backend ' })).toMatchObject({ ok: true, metadata: { imageVersion: '1.2.3', imageCategory: 'backend' } });
  });

  it('refuses more than 256 variables, volumes or labels, naming the list, and takes 256', () => {
    const entries = (count: number, key: (i: number) => string, value: string) => Array.from({ length: count }, (_, i) => ({ key: key(i), value }));
    const lists = { envVars: entries(257, (i) => `K${i}`, 'v'), volumes: entries(257, (i) => `v${i}`, '/data').map((volume, i) => ({ ...volume, value: `/data/${i}` })), imageLabels: entries(257, (i) => `k${i}`, 'v') };
    for (const [list, items] of Object.entries(lists)) {
      const refused = parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', [list]: items });
      expect(refused.ok ? [] : refused.problems.map(({ field }) => field), list).toEqual([list]);
      expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', [list]: items.slice(0, 256) }).ok, list).toBe(true);
    }
  });

  it('refuses extra fields over 64 KiB as JSON, and takes them at exactly 64 KiB', () => {
    // {"notes":"…"} is the text and 12 characters around it.
    const extra = (length: number) => parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', notes: 'n'.repeat(length - 12) });
    expect(extra(65_536)).toMatchObject({ ok: true, metadata: { extraJson: expect.stringMatching(/^\{"notes":"n+"\}$/) as unknown } });
    expect(extra(65_537)).toEqual({ ok: false, problems: [{ field: 'metadata', message: 'extra fields are 65537 bytes as JSON (UTF-8); at most 65536 (64 KiB)' }] });
  });

  it('measures extra fields in bytes, as they are stored: 40 000 é (80 000 bytes) are over 64 KiB (found by a review: taken, measured in UTF-16 units)', () => {
    const extra = (text: string) => parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', x: text });
    expect(extra('\u00e9'.repeat(40_000))).toEqual({ ok: false, problems: [{ field: 'metadata', message: 'extra fields are 80008 bytes as JSON (UTF-8); at most 65536 (64 KiB)' }] });
    // {"x":"…"} is 8 bytes around it: 32 764 é are 65 536 bytes.
    expect(extra('\u00e9'.repeat(32_764)).ok).toBe(true);
    expect(extra('\u00e9'.repeat(32_765)).ok).toBe(false);
  });

  it('refuses a name, version or category beginning or ending with white space other than ASCII, or an invisible character, naming it, instead of trimming it off unsaid (found by a review)', () => {
    const sent = (fields: Record<string, unknown>) => parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', ...fields });
    expect(sent({ imageName: 'billing-api\u00a0' })).toEqual({ ok: false, problems: [{ field: 'imageName', message: 'ends with U+00A0, white space or an invisible character: only ASCII spaces, tabs and line breaks are trimmed from it; send it without' }] });
    expect(sent({ imageVersion: '\ufeff2.0.0' })).toEqual({ ok: false, problems: [{ field: 'imageVersion', message: expect.stringMatching(/^begins with U\+FEFF, /) as unknown }] });
    expect(sent({ imageVersion: ' 2.0.0\u200b\n' })).toEqual({ ok: false, problems: [{ field: 'imageVersion', message: expect.stringMatching(/^ends with U\+200B, /) as unknown }] });
    expect(sent({ imageCategory: '\u3000backend' })).toEqual({ ok: false, problems: [{ field: 'imageCategory', message: expect.stringMatching(/^begins with U\+3000, /) as unknown }] });
    // Inside a category, white space is text like any other.
    expect(sent({ imageCategory: 'back\u00a0end' })).toMatchObject({ ok: true, metadata: { imageCategory: 'back\u00a0end' } });
  });

  it('refuses a working directory or volume path beginning or ending with white space other than ASCII, or an invisible character, naming it, and trims ASCII spaces (found by a review: the chart trimmed U+3000 off unsaid)', () => {
    const sent = (fields: Record<string, unknown>) => parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', ...fields });
    expect(sent({ workingDir: '/srv\u3000' })).toEqual({ ok: false, problems: [{ field: 'workingDir', message: expect.stringMatching(/^ends with U\+3000, /) as unknown }] });
    expect(sent({ workingDir: '/srv\u200b' })).toEqual({ ok: false, problems: [{ field: 'workingDir', message: expect.stringMatching(/^ends with U\+200B, /) as unknown }] });
    expect(sent({ volumes: [{ key: 'data', value: '/data' }, { key: 'cache', value: '/cache\u00a0' }] })).toEqual({
      ok: false, problems: [{ field: 'volumes.1.value', message: expect.stringMatching(/^ends with U\+00A0, /) as unknown }],
    });
    expect(sent({ volumes: [{ key: 'data', value: '\ufeff/data' }] })).toMatchObject({ ok: false, problems: expect.arrayContaining([{ field: 'volumes.0.value', message: expect.stringMatching(/^begins with U\+FEFF, /) as unknown }]) as unknown });
    expect(sent({ workingDir: ' /srv/app\n', volumes: [{ key: 'cache', value: '/cache \t' }] })).toMatchObject({ ok: true, metadata: { workingDir: '/srv/app', volumes: [{ key: 'cache', value: '/cache' }] } });
    // Inside a path, white space is a character like any other.
    expect(sent({ workingDir: '/srv/my\u00a0app', volumes: [{ key: 'data', value: '/var/lib/my data' }] })).toMatchObject({ ok: true, metadata: { workingDir: '/srv/my\u00a0app' } });
  });

  it('takes a blank category as none (null), not as an empty category (found by a review: stored as "")', () => {
    for (const blank of ['', '   ', ' \n']) expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', imageCategory: blank }), JSON.stringify(blank)).toMatchObject({ ok: true, metadata: { imageCategory: null } });
  });

  it('refuses a control character other than tab and line breaks in text shown to people (description, category, part), naming the field and the character (found by a review: ESC reached helm search readers\' terminals)', () => {
    const sent = (fields: Record<string, unknown>) => parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', ...fields });
    const control = (code: string) => `holds U+${code}, a control character, which would reach the terminals that print it (helm search, helm show chart) as a command to them: text for people may hold tab and line breaks, no other control character`;
    expect(sent({ Description: 'x\u001b]8;;http://evil\u0007link' })).toEqual({ ok: false, problems: [{ field: 'Description', message: control('001B') }] });
    expect(sent({ imageCategory: 'a\u001b[31mred' })).toEqual({ ok: false, problems: [{ field: 'imageCategory', message: control('001B') }] });
    expect(sent({ Part: 'a\u0007b' })).toEqual({ ok: false, problems: [{ field: 'Part', message: control('0007') }] });
    expect(sent({ part: 'a\u0000b' })).toEqual({ ok: false, problems: [{ field: 'part', message: expect.stringContaining('NUL') as unknown }] });
    expect(sent({ Description: 'line one\r\n\tline two', imageCategory: 'a\tb', Part: 'core' }).ok).toBe(true);
  });

  it('refuses a description over 4096 characters, naming it, and takes one of 4096', () => {
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', Description: 'd'.repeat(4096) })).toMatchObject({ ok: true, metadata: { description: 'd'.repeat(4096) } });
    const refused = parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', Description: 'd'.repeat(4097) });
    expect(refused.ok ? [] : refused.problems.map(({ field }) => field)).toEqual(['Description']);
  });

  it('refuses a relative working directory, naming it: a container needs an absolute one', () => {
    expect(parseMetadata({ imageName: 'billing-api', imageVersion: 'v1-0-00', workingDir: 'app' })).toEqual({ ok: false, problems: [{ field: 'workingDir', message: 'must be an absolute path' }] });
  });

  it('refuses what is not an object', () => {
    for (const input of [null, 'x', [1], 3]) expect(parseMetadata(input).ok).toBe(false);
  });
});
