import { describe, expect, it } from 'vitest';
import { manifestMediaType } from './image-manifest.js';

describe('manifestMediaType', () => {
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

  it('declares the document\'s own media type when it names one', () => {
    expect(manifestMediaType(json({ mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [] }))).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
  });

  it('declares an OCI index for one that names none (the field is optional), so the registry does not take it for an image manifest', () => {
    expect(manifestMediaType(json({ schemaVersion: 2, manifests: [{ digest: `sha256:${'a'.repeat(64)}`, size: 1 }] }))).toBe('application/vnd.oci.image.index.v1+json');
    expect(manifestMediaType(json({ schemaVersion: 2, config: {}, layers: [] }))).toBe('application/vnd.oci.image.manifest.v1+json');
  });
});
