import { describe, expect, it } from 'vitest';
import { archiveOf, blobEntry, buildImage, json, ociManifestJson, sha256, streamOf, type TarEntry } from '../../test-fixtures/images.js';
import { layerDocumentKind } from './entry-facts.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { validateArchive, type ValidationOutcome } from './validate-archive.js';

const MIB = 1024 * 1024;
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const PLATFORMS = [['amd64'], ['arm64'], ['arm', 'v7'], ['arm', 'v6'], ['386'], ['ppc64le'], ['s390x']] as const;

/** BuildKit's SBOM attestation layer: an in-toto statement about `subject`, uncompressed JSON of about `bytes`. */
function sbomStatement(subject: string, bytes: number): Buffer {
  return json({
    _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://spdx.dev/Document',
    subject: [{ name: 'pkg:docker/shop', digest: { sha256: subject.slice('sha256:'.length) } }],
    predicate: { spdxVersion: 'SPDX-2.3', comment: 'p'.repeat(bytes) },
  });
}

/** What `docker buildx build --platform <7 platforms> --sbom=true --output type=oci` writes: per platform an image and an attestation manifest with its SBOM. */
async function buildxWithSboms(sbomBytes: number): Promise<TarEntry[]> {
  const entries: TarEntry[] = [{ name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) }];
  const listed: unknown[] = [];
  for (const [architecture, variant] of PLATFORMS) {
    const image = await buildImage({ architecture, layers: [{ files: { 'app/hello': `hi ${architecture}${variant ?? ''}\n` }, gzip: true }] });
    const manifest = ociManifestJson(image);
    const platform = { os: 'linux', architecture, ...(variant === undefined ? {} : { variant }) };
    listed.push({ mediaType: MANIFEST, digest: sha256(manifest), size: manifest.length, platform });
    const sbom = sbomStatement(sha256(manifest), sbomBytes);
    const config = json({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(sbom)] } });
    const attestation = json({
      schemaVersion: 2, mediaType: MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.in-toto+json', digest: sha256(sbom), size: sbom.length, annotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' } }],
    });
    listed.push({
      mediaType: MANIFEST, digest: sha256(attestation), size: attestation.length, platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.digest': sha256(manifest), 'vnd.docker.reference.type': 'attestation-manifest' },
    });
    entries.push(...[manifest, image.config.bytes, ...image.layers.map((layer) => layer.bytes), attestation, config, sbom].map(blobEntry));
  }
  const index = json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: listed });
  entries.push(blobEntry(index), { name: 'index.json', data: json({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(index), size: index.length }] }) });
  return entries;
}

async function validate(entries: readonly TarEntry[]): Promise<ValidationOutcome> {
  return validateArchive(streamOf(await archiveOf(entries)), DEFAULT_VALIDATION_LIMITS);
}

describe('attestation and SBOM layers that are JSON', () => {
  it('accepts a 7-platform buildx image with a 2.5 MiB SBOM per platform (was TOO_LARGE: every JSON entry was kept)', async () => {
    const outcome = await validate(await buildxWithSboms(2.5 * MIB));
    if (!outcome.ok) throw new Error(`rejected: ${outcome.reasonCode}: ${outcome.message}`);
    expect(outcome.summary.index?.manifests.filter((entry) => entry.attestation)).toHaveLength(PLATFORMS.length);
  }, 30_000);

  it('lets go only documents that can be nothing but a layer: an entry with a key a manifest, index, config or oci-layout needs is kept whatever else it holds', () => {
    expect(layerDocumentKind({ _type: 'https://in-toto.io/Statement/v1', predicateType: 'x', subject: [] })).toMatch(/in-toto/);
    expect(layerDocumentKind({ payloadType: 'application/vnd.in-toto+json', payload: 'e30=', signatures: [] })).toMatch(/DSSE/);
    expect(layerDocumentKind({ spdxVersion: 'SPDX-2.3' })).toMatch(/SPDX/);
    expect(layerDocumentKind({ bomFormat: 'CycloneDX' })).toMatch(/CycloneDX/);
    expect(layerDocumentKind({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: {}, dsseEnvelope: {} })).toMatch(/Sigstore/);
    expect(layerDocumentKind({ artifacts: [], source: {}, distro: {}, descriptor: { name: 'syft' }, schema: {} })).toMatch(/Syft/);
    // Formats no one listed go too: no manifest, index, config or oci-layout could be them.
    expect(layerDocumentKind({ pad: 'x' })).toMatch(/none of the keys/);
    expect(layerDocumentKind({ mediaType: 'x', layers: [], manifests: [], RootFS: {} })).toMatch(/none of the keys/);
    expect(layerDocumentKind([{ _type: 'x', predicateType: 'y' }])).toMatch(/none of the keys/);
    expect(layerDocumentKind('a string')).toMatch(/none of the keys/);
    for (const kept of [{ _type: 'x', predicateType: 'y', schemaVersion: 2 }, { SchemaVersion: 2 }, { architecture: 'amd64' }, { os: 'linux' }, { imageLayoutVersion: '1.0.0' }, [{ Config: 'c.json', Layers: [] }], [{ spdxVersion: 'x' }, { layers: [] }]]) {
      expect(layerDocumentKind(kept), JSON.stringify(kept)).toBeUndefined();
    }
  });

  it('accepts an image whose referrers are five 3.5 MB Sigstore bundles and five Syft SBOMs (was TOO_LARGE: JSON with a mediaType, or of an unlisted format, was kept)', async () => {
    const image = await buildImage({ layers: [{ files: { 'app/hello': 'hi\n' }, gzip: true }] });
    const manifest = ociManifestJson(image);
    const empty = json({});
    const documents = Array.from({ length: 5 }, (_, i) => [
      ['application/vnd.dev.sigstore.bundle.v0.3+json', json({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: { publicKey: { hint: String(i) } }, dsseEnvelope: { payload: 'A'.repeat(3.5e6), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: 'x' }] } })],
      ['application/vnd.syft+json', json({ artifacts: [{ name: 'pkg', pad: 'p'.repeat(3.5e6) }], source: { id: String(i) }, distro: {}, descriptor: { name: 'syft', version: '1.0.0' }, schema: { version: '16.0.0' } })],
    ] as const).flat();
    const referrers = documents.map(([type, document]) => json({
      schemaVersion: 2, mediaType: MANIFEST, artifactType: type,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: empty.length },
      layers: [{ mediaType: type, digest: sha256(document), size: document.length }],
      subject: { mediaType: MANIFEST, digest: sha256(manifest), size: manifest.length },
    }));
    const outcome = await validate([
      { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) },
      { name: 'index.json', data: json({ schemaVersion: 2, manifests: [manifest, ...referrers].map((document) => ({ mediaType: MANIFEST, digest: sha256(document), size: document.length })) }) },
      ...[manifest, image.config.bytes, ...image.layers.map((layer) => layer.bytes), empty, ...referrers, ...documents.map(([, document]) => document)].map(blobEntry),
    ]);
    if (!outcome.ok) throw new Error(`rejected: ${outcome.reasonCode}: ${outcome.message}`);
    expect(outcome.notes.join('\n')).toMatch(/also lists 10 /);
  }, 30_000);

  it('says what an SBOM named as a config is, instead of "not JSON"', async () => {
    const image = await buildImage({ layers: [{ files: { a: 'b' } }] });
    const sbom = sbomStatement(image.config.digest, 100);
    const manifest = json({ ...JSON.parse(ociManifestJson(image).toString()) as object, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(sbom), size: sbom.length } });
    const outcome = await validate([
      { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) },
      { name: 'index.json', data: json({ schemaVersion: 2, manifests: [{ mediaType: MANIFEST, digest: sha256(manifest), size: manifest.length }] }) },
      ...[manifest, sbom, ...image.layers.map((layer) => layer.bytes)].map(blobEntry),
    ]);
    expect(outcome.ok ? 'accepted' : `${outcome.reasonCode}: ${outcome.message}`).toMatch(/^BAD_CONFIG: .*wrong shape: it is an in-toto statement/);
  });
});
