import { describe, expect, it } from 'vitest';
import {
  archiveOf, blobEntry, buildImage, docker25Entries, json, legacyDockerEntries, ociEntries, ociManifestJson, sha256, streamOf, type BuiltImage, type ImageSpec, type TarEntry,
} from '../../test-fixtures/images.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { validateArchive, type ValidationOutcome } from './validate-archive.js';
import { illFormedTextProblem } from './well-formed-text.js';

async function validate(entries: readonly TarEntry[]): Promise<ValidationOutcome> {
  return validateArchive(streamOf(await archiveOf(entries), 7_001), DEFAULT_VALIDATION_LIMITS);
}

function rejection(outcome: ValidationOutcome): string {
  return outcome.ok ? 'accepted' : `${outcome.reasonCode}: ${outcome.message}`;
}

const LONE = /[\uD800-\uDFFF]/;

const spec: ImageSpec = {
  repoTags: ['billing-api:1.0.0'],
  runConfig: { Entrypoint: ['/app/billing'], Labels: { team: 'Zoë' } },
  layers: [{ files: { 'app/billing': '#!/bin/sh\necho billing\n' } }],
};

/** `image` with its config's `config` object merged with `runConfig`. */
async function withRunConfig(runConfig: Readonly<Record<string, unknown>>): Promise<BuiltImage> {
  return buildImage({ ...spec, runConfig: { ...spec.runConfig, ...runConfig } });
}

/** The layout of `image` with its manifest written as `manifest`, index.json listing it (with `annotations`) and `extra` beside it. */
function layout(image: BuiltImage, manifest: Buffer, options: { annotations?: Record<string, string>; listed?: readonly object[]; extra?: readonly TarEntry[] } = {}): TarEntry[] {
  const index = json({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, annotations: options.annotations ?? {} }, ...(options.listed ?? [])],
  });
  return [
    { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', data: index },
    ...[manifest, image.config.bytes, ...image.layers.map((layer) => layer.bytes)].map(blobEntry),
    ...(options.extra ?? []),
  ];
}

describe('illFormedTextProblem', () => {
  it('names where the first lone half of a surrogate pair is, value or key, quoting it only as its escape', () => {
    expect(illFormedTextProblem({ config: { Env: ['A=1', 'GREETING=h\uD800i'] } })).toMatch(/^holds text that is not well-formed Unicode at config\.Env\[1\]: the surrogate \\ud800 stands without/);
    expect(illFormedTextProblem({ config: { Labels: { 'org.opencontainers.image.title': 'x\uDC00y' } } })).toMatch(/at config\.Labels\["org\.opencontainers\.image\.title"\]: the surrogate \\udc00/);
    expect(illFormedTextProblem({ config: { Labels: { 'x\uDC00y': 'v' } } })).toMatch(/in a key of config\.Labels: the surrogate \\udc00/);
    expect(illFormedTextProblem({ 'a\uD83D': 1 })).toMatch(/in a key at the top level/);
    expect(illFormedTextProblem([{ RepoTags: ['app:v1', 'app:t\uD800g'] }])).toMatch(/at \[0\]\.RepoTags\[1\]/);
    // The first a reader meets, in document order.
    expect(illFormedTextProblem({ a: ['\uDFFF'], b: '\uD800' })).toMatch(/at a\[0\]/);
    for (const document of [{ Env: ['GREETING=h\uD800i'] }, { 'x\uDC00y': 1 }]) expect(illFormedTextProblem(document)).not.toMatch(LONE);
  });

  it('passes well-formed text: pairs (an emoji), combining marks, non-Latin scripts, U+FFFD itself', () => {
    expect(illFormedTextProblem({ config: { Env: ['EMOJI=\uD83D\uDC33', 'NFD=Be\u0301la', 'R=\uFFFD'], Labels: { '\uD83D\uDC33': 'Zoë', 名前: 'イメージ' } } })).toBeUndefined();
    expect(illFormedTextProblem(null)).toBeUndefined();
  });

  it('walks documents nested 10 000 deep without recursion', () => {
    let deep: unknown = ['\uD800'];
    for (let level = 0; level < 10_000; level += 1) deep = [deep];
    expect(illFormedTextProblem(deep)).toMatch(/^holds text that is not well-formed Unicode at (\[0\]){10000}\[0\]:/);
  });
});

describe('an image whose JSON holds half of a surrogate pair alone is refused (found by a review: it reached events as bytes that are not UTF-8)', () => {
  it('BAD_CONFIG: an Env entry, a label value or key, a Cmd, a Volume, naming the field', async () => {
    const cases: [Readonly<Record<string, unknown>>, RegExp][] = [
      [{ Env: ['PATH=/usr/bin', 'GREETING=h\uD800i'] }, /at config\.Env\[1\]/],
      [{ Labels: { 'org.opencontainers.image.title': 'x\uDC00y' } }, /at config\.Labels\["org\.opencontainers\.image\.title"\]/],
      [{ Labels: { 'x\uDC00y': 'v' } }, /in a key of config\.Labels/],
      [{ Cmd: ['/app/run', '--name=\uD800'] }, /at config\.Cmd\[1\]/],
      [{ Volumes: { '/data\uDC00': {} } }, /in a key of config\.Volumes/],
    ];
    for (const [runConfig, where] of cases) {
      const image = await withRunConfig(runConfig);
      for (const entries of [ociEntries(image), legacyDockerEntries(image), docker25Entries(image)]) {
        const refused = rejection(await validate(entries));
        expect(refused).toMatch(/^BAD_CONFIG: config "[^"]+" holds text that is not well-formed Unicode /);
        expect(refused).toMatch(where);
        expect(refused).not.toMatch(LONE);
      }
    }
  });

  it('BAD_CONFIG: a history entry', async () => {
    const image = await buildImage(spec);
    const config = JSON.parse(image.config.bytes.toString()) as { history: { created_by: string }[] };
    config.history[0] = { ...config.history[0], created_by: 'RUN echo \uD800' };
    const bytes = json(config);
    const changed: BuiltImage = { ...image, config: { ...image.config, bytes, digest: sha256(bytes) } };
    expect(rejection(await validate(ociEntries(changed)))).toMatch(/^BAD_CONFIG: .*at history\[0\]\.created_by/);
  });

  it('BAD_MANIFEST: docker save\'s RepoTags, index.json\'s ref name, the image manifest\'s annotations', async () => {
    const image = await buildImage({ ...spec, repoTags: ['app:v1', 'app:t\uD800g'] });
    expect(rejection(await validate(legacyDockerEntries(image)))).toMatch(/^BAD_MANIFEST: docker manifest "manifest.json" holds text that is not well-formed Unicode at \[0\]\.RepoTags\[1\]/);
    const oci = rejection(await validate(ociEntries(image)));
    expect(oci).toMatch(/^BAD_MANIFEST: OCI index "index.json" holds text that is not well-formed Unicode at manifests\[1\]\.annotations\["org\.opencontainers\.image\.ref\.name"\]/);
    expect(oci).not.toMatch(LONE);
    const plain = await buildImage(spec);
    const manifest = Buffer.from(ociManifestJson(plain).toString().replace(/}$/, ',"annotations":{"org.opencontainers.image.description":"caf\\udc00e"}}'));
    expect(rejection(await validate(layout(plain, manifest)))).toMatch(/^BAD_MANIFEST: .*holds text that is not well-formed Unicode at annotations\["org\.opencontainers\.image\.description"\]/);
  });

  it('BAD_MANIFEST: a referrer\'s annotations (read only to tell what it is, then pushed beside the image)', async () => {
    const image = await buildImage(spec);
    const manifest = ociManifestJson(image);
    const empty = Buffer.from('{}');
    const sbom = Buffer.from('{"spdxVersion":"SPDX-2.3"}');
    const referrer = json({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
      layers: [{ mediaType: 'application/spdx+json', digest: sha256(sbom), size: sbom.length }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length },
      annotations: { 'org.opencontainers.image.title': 'sbom\uD800' },
    });
    const listed = [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(referrer), size: referrer.length, artifactType: 'application/spdx+json' }];
    const refused = rejection(await validate(layout(image, manifest, { listed, extra: [blobEntry(referrer), blobEntry(empty), blobEntry(sbom)] })));
    expect(refused).toBe(`BAD_MANIFEST: the document ${sha256(referrer)} that an index lists holds text that is not well-formed Unicode at annotations["org.opencontainers.image.title"]: `
      + 'the surrogate \\ud800 stands without the other half of its pair, which UTF-8 cannot hold, so Orbit\'s events, its chart, the registry and Go\'s JSON reader '
      + '(docker, containerd: U+FFFD) would each keep another text; write the character itself, or both halves of its pair');
  });

  it('still accepts text of every script, emoji (a surrogate pair, escaped or not) and combining marks', async () => {
    const image = await withRunConfig({ Env: ['EMOJI=\uD83D\uDC33', 'NFD=Be\u0301la'], Labels: { team: 'Zoë', 名前: 'イメージ' } });
    // JSON.stringify writes the emoji as it is; a pair written as two escapes is well-formed too.
    const escaped = Buffer.from(image.config.bytes.toString().replace('\uD83D\uDC33', '\\ud83d\\udc33'));
    expect(escaped.toString()).toContain('\\ud83d\\udc33');
    const escapedImage: BuiltImage = { ...image, config: { ...image.config, bytes: escaped, digest: sha256(escaped) } };
    for (const built of [image, escapedImage]) {
      for (const entries of [ociEntries(built), legacyDockerEntries(built), docker25Entries(built)]) expect(rejection(await validate(entries))).toBe('accepted');
    }
    const outcome = await validate(ociEntries(escapedImage));
    expect(outcome.ok && outcome.summary.config.env).toContain('EMOJI=\uD83D\uDC33');
  });
});
