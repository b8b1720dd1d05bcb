import type { ImageIndexFacts, IndexedManifest } from '@orbit/schemas';
import { parseJson, type ArchiveBlobs } from './blob-store.js';
import { parseConfig, type ParsedConfig } from './image-config.js';
import { IMAGE_CONFIG_TYPES, MEDIA_TYPES, manifestShape, type Descriptor } from './json-shapes.js';
import { checkLayers } from './layers.js';
import type { ResolvedIndex } from './oci-layout.js';
import { isAttestation, isPlatform, platformMismatch, platformName } from '../platforms.js';
import type { PlatformConfig } from './platform-configs.js';
import { reject } from './rejections.js';

/**
 * One entry of a kept index, checked as thoroughly as the platform the
 * summary describes: every platform is pushed and can run somewhere, so each
 * is an image whose layers match its config's diff_ids, and whose config
 * says the platform the index claims for it (a node picks by the index, then
 * runs what the config says). An attestation is a document, not an image:
 * its blobs are checked against their digests only.
 */
function indexedManifest(blobs: ArchiveBlobs, entry: Descriptor, configs: Map<string, ParsedConfig>): { readonly manifest: IndexedManifest; readonly config?: PlatformConfig } {
  const role = `the index's manifest ${entry.digest} (${platformName(entry)})`;
  const file = blobs.blob(entry, role);
  const manifest = parseJson(file, manifestShape, role, 'BAD_MANIFEST');
  const attestation = isAttestation(entry);
  const common = {
    digest: entry.digest,
    mediaType: entry.mediaType ?? manifest.mediaType ?? MEDIA_TYPES.ociManifest,
    sizeBytes: entry.size,
    configDigest: manifest.config.digest,
    blobs: manifest.layers.map((layer) => ({ digest: layer.digest, sizeBytes: layer.size })),
  };
  if (attestation) {
    for (const blob of [manifest.config, ...manifest.layers]) blobs.blob(blob, `${role}'s document`);
    return { manifest: { ...common, os: '', architecture: '', variant: null, attestation } };
  }
  const configType = manifest.config.mediaType;
  if (configType !== undefined && !IMAGE_CONFIG_TYPES.has(configType)) reject('BAD_MANIFEST', `${role} is not a container image (config media type ${configType})`);
  // Platforms sharing one config (a 3.8 MB one of 300k labels, in a probe) parse it once: the same bytes say the same.
  const configFile = blobs.blob(manifest.config, `${role}'s config`);
  const config = configs.get(manifest.config.digest) ?? parseConfig(configFile, `${role}'s config`);
  configs.set(manifest.config.digest, config);
  checkLayers(manifest.layers.map((layer, index) => ({ file: blobs.blob(layer, `${role}'s layer ${index + 1}`), digest: layer.digest, mediaType: layer.mediaType ?? null, urls: layer.urls })), config.diffIds);
  const claimed = entry.platform;
  const mismatch = platformMismatch(role, claimed, config);
  if (mismatch !== undefined) reject('BAD_MANIFEST', mismatch);
  return {
    manifest: { ...common, os: config.os, architecture: config.architecture, variant: claimed?.variant ?? null, attestation },
    config: { digest: entry.digest, platform: platformName(entry), linuxAmd64: isPlatform(entry), facts: config.facts, annotations: manifest.annotations ?? {} },
  };
}

/** The kept index as the events carry it, after checking every entry, and the config facts of each platform (attestations have none). */
export function indexFacts(blobs: ArchiveBlobs, index: ResolvedIndex): { readonly facts: ImageIndexFacts; readonly configs: readonly PlatformConfig[] } {
  const configs = new Map<string, ParsedConfig>();
  const checked = index.entries.map((entry) => indexedManifest(blobs, entry, configs));
  return {
    facts: { digest: index.digest, mediaType: index.mediaType, manifests: checked.map(({ manifest }) => manifest) },
    configs: checked.flatMap(({ config }) => (config === undefined ? [] : [config])),
  };
}
