import { describe, expect, it } from 'vitest';
import {
  archiveOf, blobEntry, buildImage, buildLayer, docker25Entries, json, legacyDockerEntries, ociEntries, ociManifestJson, sha256, streamOf, type BuiltImage, type ImageSpec, type TarEntry,
} from '../../test-fixtures/images.js';
import { caseFoldedKeyProblem, CONFIG_FIELDS, DOCKER_SAVE_FIELDS, goFoldedKey, MANIFEST_FIELDS, type ReadFields } from './json-keys.js';
import { configShape, descriptorShape, dockerManifestShape, indexShape, manifestShape, ociLayoutShape, referrerShape } from './json-shapes.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { validateArchive, type ValidationOutcome } from './validate-archive.js';

async function validate(entries: readonly TarEntry[]): Promise<ValidationOutcome> {
  return validateArchive(streamOf(await archiveOf(entries), 7_001), DEFAULT_VALIDATION_LIMITS);
}

function rejection(outcome: ValidationOutcome): string {
  return outcome.ok ? 'accepted' : `${outcome.reasonCode}: ${outcome.message}`;
}

const spec: ImageSpec = {
  repoTags: ['billing-api:1.0.0'],
  runConfig: { User: '1000', Entrypoint: ['/app/billing'], Labels: { maintainer: 'a@example.com', MAINTAINER: 'b@example.com' } },
  layers: [{ files: { 'app/billing': '#!/bin/sh\necho billing\n' } }],
};

/** The layout of `image` whose manifest is `manifest` as written. */
function layoutWithManifest(image: BuiltImage, manifest: Buffer, extra: readonly TarEntry[] = []): TarEntry[] {
  const index = json({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length }] });
  return [
    { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', data: index },
    ...[manifest, image.config.bytes, ...image.layers.map((layer) => layer.bytes)].map(blobEntry),
    ...extra,
  ];
}

describe('JSON keys differing only in letter case (Go reads them as one field, keeping the last)', () => {
  it('folds keys as Go does: case, the long s and the Kelvin sign', () => {
    expect(goFoldedKey('Entrypoint')).toBe(goFoldedKey('entrypoint'));
    expect(goFoldedKey('\u017Fize')).toBe(goFoldedKey('size'));
    expect(goFoldedKey('\u212Aind')).toBe(goFoldedKey('kind'));
    expect(goFoldedKey('\u1E9E')).toBe(goFoldedKey('\u00DF'));
    expect(goFoldedKey('User')).not.toBe(goFoldedKey('Users'));
  });

  it('names the two keys and where they are, at any depth, but not in maps (labels, annotations) where Go keeps both', () => {
    expect(caseFoldedKeyProblem({ config: { User: '1000', user: '0' } })).toMatch(/"User" and "user" in config/);
    expect(caseFoldedKeyProblem({ layers: [{ digest: 'a', \u017Fize: 1, size: 2 }] })).toMatch(/in layers\[0\]/);
    expect(caseFoldedKeyProblem({ config: { Labels: { a: '1', A: '2' } }, annotations: { b: '1', B: '2' } })).toBeUndefined();
    expect(caseFoldedKeyProblem({ config: { Labels: {}, labels: {} } })).toMatch(/"Labels" and "labels"/);
  });

  it('names one key that Go reads as a field Orbit reads under its exact name only, where Orbit reads that field', () => {
    expect(caseFoldedKeyProblem({ config: { entrypoint: ['/bin/sh'] } }, CONFIG_FIELDS)).toMatch(/the key "entrypoint" in config, which Go's JSON reader .* reads as "Entrypoint"/);
    expect(caseFoldedKeyProblem({ Architecture: 'amd64' }, CONFIG_FIELDS)).toMatch(/"Architecture" at the top level/);
    expect(caseFoldedKeyProblem({ layers: [{ Digest: 'sha256:x' }] })).toMatch(/"Digest" in layers\[0\]/);
    // Fields Orbit does not read, and the same names elsewhere (docker save's "Config" beside an OCI manifest's "config"), are left alone.
    expect(caseFoldedKeyProblem({ config: { Shell: ['/bin/sh'], Domainname: '' }, container_config: {}, os: 'linux' }, CONFIG_FIELDS)).toBeUndefined();
    expect(caseFoldedKeyProblem([{ Config: 'c.json', Layers: ['l.tar'], LayerSources: { 'sha256:a': { digest: 'sha256:a', size: 1 } } }], DOCKER_SAVE_FIELDS)).toBeUndefined();
    expect(caseFoldedKeyProblem([{ config: 'c.json', Layers: ['l.tar'] }], DOCKER_SAVE_FIELDS)).toMatch(/"config" in \[0\], which Go's JSON reader .* reads as "Config"/);
  });

  it('BAD_CONFIG: a config with "entrypoint" alone (docker runs it; Orbit recorded no entrypoint)', async () => {
    const image = await buildImage({ ...spec, runConfig: { Labels: {}, entrypoint: ['/bin/sh', '-c', 'evil'] } });
    expect(rejection(await validate(ociEntries(image)))).toMatch(/^BAD_CONFIG: .*the key "entrypoint" in config, which Go's JSON reader .* reads as "Entrypoint"/);
  });

  it('knows every field the shapes read, so a shape read later is checked too', () => {
    const at = (fields: ReadFields, ...path: string[]) => fields.find(([where]) => where.join('.') === path.join('.'))?.[1] ?? [];
    const keys = (...shapes: { shape: object }[]) => [...new Set(shapes.flatMap((shape) => Object.keys(shape.shape)))].sort();
    expect([...at(MANIFEST_FIELDS)].sort()).toEqual(keys(manifestShape, indexShape, referrerShape, ociLayoutShape));
    expect([...at(MANIFEST_FIELDS, 'config')].sort()).toEqual(keys(descriptorShape));
    expect([...at(DOCKER_SAVE_FIELDS, '*')].sort()).toEqual([...keys(dockerManifestShape.element), 'LayerSources'].sort());
    expect([...at(CONFIG_FIELDS)].sort()).toEqual(keys(configShape));
    expect([...at(CONFIG_FIELDS, 'config')].sort()).toEqual(keys(configShape.shape.config.unwrap().unwrap()));
  });

  it('BAD_CONFIG: a config whose "user" and "entrypoint" follow "User" and "Entrypoint" (docker would run the last as root)', async () => {
    const image = await buildImage({ ...spec, runConfig: { ...spec.runConfig, user: '0', entrypoint: ['/bin/sh', '-c', 'evil'] } });
    expect(rejection(await validate(ociEntries(image)))).toMatch(/^BAD_CONFIG: .*"User" and "user" in config.*differ only in letter case/);
    expect(rejection(await validate(legacyDockerEntries(image)))).toMatch(/^BAD_CONFIG: .*"User" and "user"/);
  });

  it('BAD_MANIFEST: a manifest whose "Layers" after "layers" names another layer (skopeo and docker would load that one)', async () => {
    const image = await buildImage(spec);
    const evil = await buildLayer({ files: { 'app/billing': '#!/bin/sh\nevil\n' } });
    const manifest = Buffer.from(ociManifestJson(image).toString().replace(/}$/, `,"Layers":[{"mediaType":"${evil.mediaType}","digest":"${evil.digest}","size":${evil.bytes.length}}]}`));
    expect(rejection(await validate(layoutWithManifest(image, manifest, [blobEntry(evil.bytes)])))).toMatch(/^BAD_MANIFEST: manifest .*"layers" and "Layers" at the top level/);
  });

  it('BAD_MANIFEST: index.json and docker save\'s manifest.json with two spellings of one key', async () => {
    const image = await buildImage(spec);
    const oci = ociEntries(image).map((entry) => (entry.name === 'index.json' ? { ...entry, data: Buffer.from((entry.data ?? Buffer.alloc(0)).toString().replace(/}$/, ',"Manifests":[]}')) } : entry));
    expect(rejection(await validate(oci))).toMatch(/^BAD_MANIFEST: OCI index "index.json" has the keys "manifests" and "Manifests"/);
    const docker = legacyDockerEntries(image).map((entry) => (entry.name === 'manifest.json' ? { ...entry, data: Buffer.from((entry.data ?? Buffer.alloc(0)).toString().replace(/}]$/, ',"config":"x.json"}]')) } : entry));
    expect(rejection(await validate(docker))).toMatch(/^BAD_MANIFEST: docker manifest "manifest.json" has the keys "Config" and "config" in \[0\]/);
  });

  it('BAD_MANIFEST: a referrer whose "Subject" after "subject" names another image (the registry would file it under that one)', async () => {
    const image = await buildImage(spec);
    const manifest = ociManifestJson(image);
    const empty = Buffer.from('{}');
    const sbom = Buffer.from('{"spdxVersion":"SPDX-2.3"}');
    const about = (digest: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length });
    const referrer = json({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
      layers: [{ mediaType: 'application/spdx+json', digest: sha256(sbom), size: sbom.length }],
      subject: about(sha256(manifest)), Subject: about(`sha256:${'e'.repeat(64)}`),
    });
    const index = json({ schemaVersion: 2, manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(referrer), size: referrer.length, artifactType: 'application/spdx+json' },
    ] });
    const entries = layoutWithManifest(image, manifest, [blobEntry(referrer), blobEntry(empty), blobEntry(sbom)]).map((entry) => (entry.name === 'index.json' ? { ...entry, data: index } : entry));
    expect(rejection(await validate(entries))).toMatch(/^BAD_MANIFEST: referrer .* has the keys "subject" and "Subject" at the top level/);
  });

  it('still accepts ordinary docker and OCI archives, labels differing only in case among them', async () => {
    const image = await buildImage(spec);
    for (const entries of [ociEntries(image), legacyDockerEntries(image), docker25Entries(image)]) {
      const outcome = await validate(entries);
      expect(rejection(outcome)).toBe('accepted');
    }
  });
});
