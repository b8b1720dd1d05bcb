/**
 * OCI 1.1 referrers for tests, written as oras attach, notation and cosign
 * write them, and OCI archives that carry them beside the image in
 * index.json as `oras cp -r` does.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import tar from 'tar-stream';
import type { ImageReferrer } from '@orbit/schemas';
import { tarEntries } from './images.js';

export const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const EMPTY_CONFIG = Buffer.from('{}');

/** A referrer's manifest, its blobs, and what the validator reports of it. */
export interface Artifact {
  readonly manifest: Buffer;
  readonly blobs: readonly Buffer[];
  readonly referrer: ImageReferrer;
}

/** What oras attach and notation write: the empty config, one layer, and the manifest it is about as `subject`. */
export function referrerOf(artifactType: string, content: string, subject: Buffer): Artifact {
  const layer = Buffer.from(content);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY_CONFIG), size: 2, data: 'e30=' },
    layers: [{ mediaType: artifactType, digest: sha256(layer), size: layer.length }],
    subject: { mediaType: OCI_MANIFEST, digest: sha256(subject), size: subject.length },
    annotations: { 'org.opencontainers.image.created': '2026-12-03T09:00:00Z' },
  }));
  return {
    manifest, blobs: [EMPTY_CONFIG, layer],
    referrer: {
      digest: sha256(manifest), mediaType: OCI_MANIFEST, sizeBytes: manifest.length, artifactType, subject: sha256(subject), tag: null,
      blobs: [{ digest: sha256(EMPTY_CONFIG), sizeBytes: 2 }, { digest: sha256(layer), sizeBytes: layer.length }],
    },
  };
}

/** cosign's signature manifest, found by its tag `sha256-<image hex>.sig` rather than by a subject. */
export function cosignSignatureOf(image: Buffer): Artifact {
  const payload = Buffer.from(JSON.stringify({ critical: { image: { 'docker-manifest-digest': sha256(image) }, type: 'cosign container image signature' } }));
  const config = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(payload)] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: sha256(payload), size: payload.length, annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ' } }],
  }));
  return {
    manifest, blobs: [config, payload],
    referrer: {
      digest: sha256(manifest), mediaType: OCI_MANIFEST, sizeBytes: manifest.length, artifactType: 'application/vnd.oci.image.config.v1+json',
      subject: sha256(image), tag: `${sha256(image).replace(':', '-')}.sig`,
      blobs: [{ digest: sha256(config), sizeBytes: config.length }, { digest: sha256(payload), sizeBytes: payload.length }],
    },
  };
}

/** An OCI archive's entries, names without tar's `./`. */
export async function layoutEntries(ociArchive: string): Promise<Map<string, Buffer>> {
  return new Map([...await tarEntries(ociArchive)].filter(([name]) => !name.endsWith('/')).map(([name, bytes]) => [name.replace(/^\.\//, ''), bytes]));
}

/** The manifest index.json names first in an OCI archive: a single-platform image's own. */
export async function imageManifestOf(ociArchive: string): Promise<Buffer> {
  const entries = await layoutEntries(ociArchive);
  const [top] = (JSON.parse(entries.get('index.json')!.toString('utf8')) as { manifests: { digest: string }[] }).manifests;
  return entries.get(`blobs/sha256/${top!.digest.slice(7)}`)!;
}

/** `ociArchive` with `artifacts` beside the image, listed in index.json as oras cp -r lists them (cosign's by their tag), written to `to`. */
export async function withReferrers(ociArchive: string, artifacts: readonly Artifact[], to: string): Promise<string> {
  const entries = await layoutEntries(ociArchive);
  const index = JSON.parse(entries.get('index.json')!.toString('utf8')) as { manifests: object[] };
  for (const { manifest, referrer } of artifacts) {
    index.manifests.push({ mediaType: OCI_MANIFEST, digest: referrer.digest, size: manifest.length, ...(referrer.tag ? { annotations: { 'org.opencontainers.image.ref.name': referrer.tag } } : {}) });
  }
  const pack = tar.pack();
  for (const [entry, bytes] of entries) if (entry !== 'index.json') pack.entry({ name: entry }, bytes);
  pack.entry({ name: 'index.json' }, JSON.stringify(index));
  for (const bytes of artifacts.flatMap((artifact) => [artifact.manifest, ...artifact.blobs])) pack.entry({ name: `blobs/sha256/${sha256(bytes).slice(7)}` }, bytes);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  writeFileSync(to, Buffer.concat(chunks));
  return to;
}

/** What a registry lists as `subject`'s referrers in `repository`: its referrers API's answer, else the tag-scheme index (none: empty). */
export async function referrersListed(address: string, repository: string, subject: string): Promise<{ digest: string; artifactType?: string; annotations?: Record<string, string> }[]> {
  for (const path of [`referrers/${subject}`, `manifests/${subject.replace(':', '-')}`]) {
    const response = await fetch(`http://${address}/v2/${repository}/${path}`, { headers: { accept: OCI_INDEX } });
    if (response.status !== 200) {
      await response.body?.cancel();
      continue;
    }
    return (await response.json() as { manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[] }).manifests;
  }
  return [];
}
