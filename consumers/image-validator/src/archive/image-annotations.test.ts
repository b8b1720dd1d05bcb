import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { jsonBytes, MAX_IMAGE_FACTS_BYTES, RegistryClient } from '@orbit/lib';
import { LABEL_BUDGET_BYTES, type ImageSummary } from '@orbit/schemas';
import { archiveOf, blobEntry, buildImage, docker25Entries, json, ociManifestJson, sha256, streamOf, type BuiltImage, type ImageSpec, type TarEntry } from '../../test-fixtures/images.js';
import { boundedAnnotations, withAnnotations, type AnnotationsRead } from './image-annotations.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import type { PlatformConfig } from './platform-configs.js';
import { pullAsOciArchive, type PullTarget } from '../registry-pull/pull.js';
import { validateArchive, type ValidationOutcome } from './validate-archive.js';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';

const spec = (architecture: string, labels: Record<string, string>): ImageSpec => ({
  architecture, layers: [{ files: { [`app/${architecture}`]: architecture } }], runConfig: { Labels: labels },
});

/** The image's manifest with `annotations`, as buildx --annotation manifest:… writes them. */
function annotatedManifest(image: BuiltImage, annotations: Record<string, string> | undefined): Buffer {
  const manifest = JSON.parse(ociManifestJson(image).toString()) as Record<string, unknown>;
  return json(annotations === undefined ? manifest : { ...manifest, annotations });
}

const blobsOf = (image: BuiltImage): TarEntry[] => [image.config.bytes, ...image.layers.map((layer) => layer.bytes)].map(blobEntry);
const layout = (index: Buffer, blobs: readonly TarEntry[]): TarEntry[] => [{ name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) }, { name: 'index.json', data: index }, ...blobs];

async function validate(entries: readonly TarEntry[]): Promise<ImageSummary> {
  const outcome: ValidationOutcome = await validateArchive(streamOf(await archiveOf(entries)), DEFAULT_VALIDATION_LIMITS);
  if (!outcome.ok) throw new Error(`rejected: ${outcome.reasonCode}: ${outcome.message}`);
  return outcome.summary;
}

const LABELS = { 'org.opencontainers.image.source': 'https://github.com/acme/billing', maintainer: '', 'ünïcode 🚀': 'Béla\u0301' };

describe('what an uploaded image says of itself besides its config labels (found by a review: Harbor shows manifest and index annotations, Orbit dropped them)', () => {
  it('reads a single-platform OCI image\'s manifest annotations byte for byte, empty values and all', async () => {
    const image = await buildImage(spec('amd64', LABELS));
    const manifest = annotatedManifest(image, { 'org.opencontainers.image.revision': 'abc123', 'org.opencontainers.image.description': '', 'clé': 'välue ✓' });
    const index = json({ schemaVersion: 2, mediaType: INDEX_TYPE, manifests: [{ mediaType: MANIFEST_TYPE, digest: sha256(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] });
    const summary = await validate(layout(index, [blobEntry(manifest), ...blobsOf(image)]));
    expect(summary.config.labels).toEqual(LABELS);
    // index.json's own annotations (the layout's ref.name) are the layout's, not the image's.
    expect(summary.annotations).toEqual({
      manifest: { 'org.opencontainers.image.revision': 'abc123', 'org.opencontainers.image.description': '', 'clé': 'välue ✓' }, index: null, platforms: [], leftOut: 0,
    });
  });

  it('reads a multi-platform image\'s index annotations, and the labels and annotations of each platform that differs from the described one', async () => {
    const amd = await buildImage(spec('amd64', LABELS));
    const arm = await buildImage(spec('arm64', LABELS));
    const s390x = await buildImage(spec('s390x', { ...LABELS, 'org.opencontainers.image.title': 'billing on s390x' }));
    const shared = { 'org.opencontainers.image.revision': 'abc123' };
    const manifests = { amd: annotatedManifest(amd, shared), arm: annotatedManifest(arm, shared), s390x: annotatedManifest(s390x, shared) };
    const entry = (manifest: Buffer, architecture: string, variant?: string) => ({
      mediaType: MANIFEST_TYPE, digest: sha256(manifest), size: manifest.length, platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) },
    });
    const platformIndex = json({
      schemaVersion: 2, mediaType: INDEX_TYPE,
      manifests: [entry(manifests.arm, 'arm64', 'v8'), entry(manifests.s390x, 's390x'), entry(manifests.amd, 'amd64')],
      annotations: { 'org.opencontainers.image.source': 'https://github.com/acme/billing', 'org.opencontainers.image.created': '2026-12-07T06:00:00Z' },
    });
    const index = json({ schemaVersion: 2, manifests: [{ mediaType: INDEX_TYPE, digest: sha256(platformIndex), size: platformIndex.length }] });
    const summary = await validate(layout(index, [blobEntry(platformIndex), ...Object.values(manifests).map(blobEntry), ...blobsOf(amd), ...blobsOf(arm), ...blobsOf(s390x)]));
    expect(summary.architecture).toBe('amd64');
    expect(summary.annotations).toEqual({
      manifest: shared,
      index: { 'org.opencontainers.image.source': 'https://github.com/acme/billing', 'org.opencontainers.image.created': '2026-12-07T06:00:00Z' },
      // arm64 has amd64's labels and annotations: not repeated.
      platforms: [{ platform: 'linux/s390x', digest: sha256(manifests.s390x), labels: { ...LABELS, 'org.opencontainers.image.title': 'billing on s390x' }, annotations: shared }],
      leftOut: 0,
    });
  });

  it('reads a docker 25+ archive\'s stored manifest annotations, and none for a manifest Orbit computes', async () => {
    const image = await buildImage({ ...spec('amd64', LABELS), repoTags: ['billing:1'] });
    expect((await validate(docker25Entries(image))).annotations).toEqual({ manifest: {}, index: null, platforms: [], leftOut: 0 });
  });
});

/** A registry serving `index` as tag `1`, the manifests by digest and the blobs. */
function registryOf(index: Buffer, manifests: readonly Buffer[], blobs: readonly Buffer[]): RegistryClient {
  const byReference = new Map([['1', index], ...manifests.map((manifest) => [sha256(manifest), manifest] as const)]);
  const fake: typeof fetch = async (input, init) => {
    const [, kind = '', reference = ''] = /\/(manifests|blobs)\/([^/]+)$/.exec(new URL(String(input)).pathname) ?? [];
    const found = kind === 'manifests' ? byReference.get(reference) : kind === 'blobs' ? blobs.find((bytes) => sha256(bytes) === reference) : undefined;
    return found ? new Response(init?.method === 'HEAD' ? null : found) : new Response(null, { status: 404 });
  };
  return new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
}

/** An upload by reference: the pull's archive, as the validator reads it. */
async function pulledSummary(client: RegistryClient, target: PullTarget): Promise<ImageSummary> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  await pullAsOciArchive(client, target, out);
  const outcome = await validateArchive(PassThrough.from([Buffer.concat(chunks)]), DEFAULT_VALIDATION_LIMITS);
  if (!outcome.ok) throw new Error(`rejected: ${outcome.reasonCode}: ${outcome.message}`);
  return outcome.summary;
}

describe('what an image uploaded by reference says of itself', () => {
  it('is read from the registry\'s own index and manifests, not from the layout Orbit writes around them', async () => {
    const amd = await buildImage(spec('amd64', LABELS));
    const arm = await buildImage(spec('arm64', { ...LABELS, maintainer: 'arm team' }));
    const amdManifest = annotatedManifest(amd, { 'org.opencontainers.image.revision': 'abc123' });
    const armManifest = annotatedManifest(arm, { 'org.opencontainers.image.revision': 'abc123' });
    const index = json({
      schemaVersion: 2, mediaType: INDEX_TYPE, annotations: { 'org.opencontainers.image.source': 'https://github.com/acme/billing' },
      manifests: [
        { mediaType: MANIFEST_TYPE, digest: sha256(amdManifest), size: amdManifest.length, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MANIFEST_TYPE, digest: sha256(armManifest), size: armManifest.length, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    });
    const blobs = [amd.config.bytes, ...amd.layers.map((layer) => layer.bytes), arm.config.bytes, ...arm.layers.map((layer) => layer.bytes)];
    const whole = await pulledSummary(registryOf(index, [amdManifest, armManifest], blobs), { tag: '1', digest: null, maxBytes: 1 << 20 });
    expect(whole.annotations).toEqual({
      manifest: { 'org.opencontainers.image.revision': 'abc123' }, index: { 'org.opencontainers.image.source': 'https://github.com/acme/billing' },
      platforms: [{ platform: 'linux/arm64', digest: sha256(armManifest), labels: { ...LABELS, maintainer: 'arm team' }, annotations: { 'org.opencontainers.image.revision': 'abc123' } }],
      leftOut: 0,
    });
    // One platform pulled alone: the image is that manifest, no index kept, its annotations still read.
    const alone = await pulledSummary(registryOf(index, [amdManifest, armManifest], blobs), { tag: '1', digest: null, maxBytes: 1 << 20, onePlatformBecause: 'told to' });
    expect(alone.annotations).toEqual({ manifest: { 'org.opencontainers.image.revision': 'abc123' }, index: null, platforms: [], leftOut: 0 });
  });
});

const platform = (name: string, digest: string, labels: Record<string, string>, annotations: Record<string, string> = {}): PlatformConfig => ({
  digest, platform: name, linuxAmd64: name.startsWith('linux/amd64'), annotations,
  facts: { exposedPorts: [], env: [], entrypoint: [], cmd: [], workingDir: null, user: null, labels, healthcheck: null, stopSignal: null, volumes: [], shell: null },
});

describe('boundedAnnotations', () => {
  it('keeps at most the room given, in key order, leaving out what does not fit and counting it, never failing', () => {
    const big = 'x'.repeat(40_000);
    const read: AnnotationsRead = {
      manifest: { b: big, a: '1' }, index: { c: big, d: '' },
      platforms: [platform('linux/amd64', 'sha256:amd', {}), platform('linux/arm64', 'sha256:arm', { e: big, f: 'ok' })],
    };
    const bounded = boundedAnnotations(read, { digest: 'sha256:amd', labels: {} }, LABEL_BUDGET_BYTES);
    // a (2 bytes), b (40 001), c would pass 64 KiB: left out; d fits; arm64's e does not, f does.
    expect(bounded).toEqual({
      manifest: { a: '1', b: big }, index: { d: '' }, platforms: [{ platform: 'linux/arm64', digest: 'sha256:arm', labels: { f: 'ok' }, annotations: {} }], leftOut: 2,
    });
    expect(boundedAnnotations(read, { digest: 'sha256:amd', labels: {} }, 0)).toEqual({ manifest: {}, index: {}, platforms: [{ platform: 'linux/arm64', digest: 'sha256:arm', labels: {}, annotations: {} }], leftOut: 6 });
  });

  it('gives an image whose other facts nearly fill their room only what is left, so it is never refused for its annotations', () => {
    const summary: ImageSummary = {
      format: 'OCI_ARCHIVE', compression: 'NONE', manifestDigest: 'sha256:amd', configDigest: 'sha256:c', repoTags: [], architecture: 'amd64', os: 'linux', layers: [],
      config: { exposedPorts: [], env: [], entrypoint: [], cmd: [], workingDir: null, user: null, labels: { huge: 'y'.repeat(MAX_IMAGE_FACTS_BYTES - 20_000) }, healthcheck: null, stopSignal: null, volumes: [], shell: null },
      index: null, validationNotes: [], referrers: null,
    };
    const many = Object.fromEntries(Array.from({ length: 2_000 }, (_, at) => [`org.example.note-${String(at).padStart(4, '0')}`, '"\u0001'.repeat(10)]));
    const annotated = withAnnotations(summary, { manifest: many, index: null, platforms: [] });
    expect(jsonBytes(annotated)).toBeLessThanOrEqual(MAX_IMAGE_FACTS_BYTES);
    expect(annotated.annotations?.leftOut).toBeGreaterThan(0);
    expect(Object.keys(annotated.annotations?.manifest ?? {}).length + (annotated.annotations?.leftOut ?? 0)).toBe(2_000);
    // What was kept is the start of the key order.
    expect(Object.keys(annotated.annotations?.manifest ?? {})[0]).toBe('org.example.note-0000');

    // Facts a few bytes short of the limit: none kept, all counted, the platforms that differ not listed either.
    const full = (free: number): ImageSummary => {
      const base = { ...summary, config: { ...summary.config, labels: {} } };
      return { ...base, config: { ...base.config, labels: { huge: 'y'.repeat(MAX_IMAGE_FACTS_BYTES - jsonBytes(base) - 12 - free) } } };
    };
    const arm = platform('linux/arm64', 'sha256:arm', { a: '1' });
    const crowded = withAnnotations(full(120), { manifest: { b: '2' }, index: {}, platforms: [platform('linux/amd64', 'sha256:amd', {}), arm] });
    expect(crowded.annotations).toEqual({ manifest: {}, index: {}, platforms: [], leftOut: 2 });
    expect(jsonBytes(crowded)).toBeLessThanOrEqual(MAX_IMAGE_FACTS_BYTES);
    // No room even to say so: none carried, not known, and the image as it would have been without them.
    const fullest = full(10);
    expect(jsonBytes(fullest)).toBeLessThanOrEqual(MAX_IMAGE_FACTS_BYTES);
    expect(withAnnotations(fullest, { manifest: { b: '2' }, index: null, platforms: [] })).toEqual(fullest);
  });
});

describe('a label or annotation key "__proto__" (found by a reread: zod and avsc dropped it without a word, leftOut said nothing was)', () => {
  it('is left out by the validator itself, counted in leftOut and named in a note', async () => {
    // JSON.parse makes "__proto__" an own key, as an archive's JSON has it; a spread keeps it one.
    const labels = JSON.parse('{"__proto__":"label","org.opencontainers.image.title":"billing"}') as Record<string, string>;
    const image = await buildImage(spec('amd64', labels));
    const manifest = annotatedManifest(image, JSON.parse('{"__proto__":"annotation","org.opencontainers.image.revision":"abc123"}') as Record<string, string>);
    const index = json({ schemaVersion: 2, mediaType: INDEX_TYPE, manifests: [{ mediaType: MANIFEST_TYPE, digest: sha256(manifest), size: manifest.length }] });
    expect(manifest.toString()).toContain('"__proto__":"annotation"');
    const summary = await validate(layout(index, [blobEntry(manifest), ...blobsOf(image)]));
    expect(Object.keys(summary.config.labels)).toEqual(['org.opencontainers.image.title']);
    expect(summary.annotations).toEqual({ manifest: { 'org.opencontainers.image.revision': 'abc123' }, index: null, platforms: [], leftOut: 2 });
    expect(summary.validationNotes).toContainEqual(expect.stringMatching(/^the key "__proto__" of the config's labels, the key "__proto__" of the manifest's annotations is left out/));
  });
});

describe('withAnnotations of platforms sharing a config of many labels (found by a reread: 15.8 s of event loop for a 3.8 MB archive)', () => {
  const many = (count: number): Record<string, string> => Object.fromEntries(Array.from({ length: count }, (_, at) => [`k${at}`, '']));
  const summaryOf = (digest: string): ImageSummary => ({
    format: 'OCI_ARCHIVE', compression: 'NONE', manifestDigest: digest, configDigest: 'sha256:c', repoTags: [], architecture: 'amd64', os: 'linux', layers: [],
    config: { exposedPorts: [], env: [], entrypoint: [], cmd: [], workingDir: null, user: null, labels: {}, healthcheck: null, stopSignal: null, volumes: [], shell: null },
    index: null, validationNotes: [], referrers: null,
  });
  /** The fastest of three runs, in ms: the machine is shared. */
  const fastest = (run: () => void): number => Math.min(...[0, 1, 2].map(() => {
    const started = performance.now();
    run();
    return performance.now() - started;
  }));

  it('costs about one platform\'s reading however many platforms share the labels (each was sorted twice per comparison, per try)', () => {
    const labels = many(60_000);
    const read = (count: number): AnnotationsRead => ({
      manifest: {}, index: {},
      platforms: [platform('linux/amd64', 'sha256:amd', {}), ...Array.from({ length: count }, (_, at) => platform(`linux/arm64 ${at}`, `sha256:arm${at}`, labels))],
    });
    // Fresh maps per run, so that nothing one run sorted is there for the next.
    const one = fastest(() => withAnnotations(summaryOf('sha256:amd'), { ...read(1), platforms: read(1).platforms.map((entry) => ({ ...entry, facts: { ...entry.facts, labels: { ...entry.facts.labels } } })) }));
    const eight = fastest(() => {
      const shared = { ...labels };
      withAnnotations(summaryOf('sha256:amd'), { ...read(8), platforms: read(8).platforms.map((entry) => (entry.digest === 'sha256:amd' ? entry : { ...entry, facts: { ...entry.facts, labels: shared } })) });
    });
    expect(eight).toBeLessThan(one * 4);
  });
});
