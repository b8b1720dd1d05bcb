/**
 * The image index docker buildx pushes by default (provenance on): the image
 * for its platform plus an attestation manifest for unknown/unknown pointing
 * at it. Here the attestation is listed first, the order that trips a
 * chooser taking "the first platform".
 */
export interface IndexedManifest {
  readonly digest: string;
  readonly size: number;
}

export function buildxIndexWithAttestationFirst(image: IndexedManifest, attestation: IndexedManifest, platform = { os: 'linux', architecture: 'arm64' }): Buffer {
  const manifestType = 'application/vnd.oci.image.manifest.v1+json';
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: manifestType, ...attestation, platform: { os: 'unknown', architecture: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': image.digest } },
      { mediaType: manifestType, ...image, platform },
    ],
  }));
}
