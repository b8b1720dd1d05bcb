import { describe, expect, it } from 'vitest';
import { archiveOf, blobEntry, buildImage, json, ociEntries, sha256, streamOf } from '../../test-fixtures/images.js';
import { DEFAULT_VALIDATION_LIMITS } from './limits.js';
import { PULLED_FROM } from './pulled-from.js';
import { validateArchive } from './validate-archive.js';

const EMPTY_CONFIG = Buffer.from('{}');

/** An image layout with a signature beside the image, its entry carrying `annotations`. */
async function imageWithSignature(annotations: Record<string, string>): Promise<Buffer> {
  const image = await buildImage({ layers: [{ files: { app: 'run' } }] });
  const entries = ociEntries(image);
  const imageManifest = entries[2]!.data!;
  const signed = Buffer.from('signed');
  const signature = json({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.cncf.notary.signature',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY_CONFIG), size: 2 },
    layers: [{ mediaType: 'application/vnd.cncf.notary.signature', digest: sha256(signed), size: signed.length }],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(imageManifest), size: imageManifest.length },
  });
  const index = json({ schemaVersion: 2, manifests: [
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(imageManifest), size: imageManifest.length, annotations },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(signature), size: signature.length, artifactType: 'application/vnd.cncf.notary.signature' },
  ] });
  return archiveOf([entries[0]!, { name: 'index.json', data: index }, ...entries.slice(2), ...[signature, signed, EMPTY_CONFIG].map(blobEntry)]);
}

describe('where an archive came from, told by its handler (found by a reread: the reference was read from, and quoted out of, index.json)', () => {
  it('says the source registry has the referrers of a pulled image, without naming it, and index.json lists an uploaded one\'s, whatever the archive claims', async () => {
    const archive = await imageWithSignature({ 'org.opencontainers.image.ref.name': 'v1', [PULLED_FROM]: 'evil.example/bank/login:1' });
    const pulled = await validateArchive(streamOf(archive), DEFAULT_VALIDATION_LIMITS, 'registry');
    const uploaded = await validateArchive(streamOf(archive), DEFAULT_VALIDATION_LIMITS, 'upload');
    if (!pulled.ok || !uploaded.ok) throw new Error('rejected');
    expect(pulled.notes).toEqual([expect.stringMatching(/^the source registry also has a referrer of the image \(application\/vnd\.cncf\.notary\.signature\)/)]);
    expect(uploaded.notes).toEqual([expect.stringMatching(/^index\.json also lists a referrer of the image \(application\/vnd\.cncf\.notary\.signature\)/)]);
    for (const outcome of [pulled, uploaded]) expect(JSON.stringify(outcome.summary)).not.toContain('evil.example');
  });
});
