import {
  copyReferrers, discoverReferrers, pullClientOf, registryReferrerSource, RegistryPush, type Logger, type RegistryAccess, type ReferrerCopyLimits,
} from '@orbit/lib';
import { pinnedDigestOf } from '@orbit/schemas';
import type { PushableImage, PushTargetClient } from './push-image.js';
import { pushTargetOf, type NamedImage } from './target.js';

/** What a transfer carried of the referrers attached to the image in the source environment's registry. */
export interface CarriedReferrers {
  /** `registry/repository` they were read from. */
  readonly from: string;
  readonly found: number;
  readonly copied: number;
  readonly alreadyThere: number;
  /** Listed at the source but none (gone, or about another manifest): nothing to copy. */
  readonly stale: number;
  /** cosign tags the target has naming a later manifest than the source's (signed there besides): left as they are. */
  readonly tagsHeldByOthers: number;
  /** cosign tags moved to the source's manifest, which holds the one the target named and more (signed again at the source). */
  readonly tagsMoved: number;
  readonly blobsSent: number;
  readonly blobsMounted: number;
}

/** The manifests an image's referrers may be about: a multi-platform image's index and each of its platforms, else its manifest. */
export const subjectsOf = (image: Pick<PushableImage, 'manifestDigest' | 'index'>): string[] =>
  (image.index ? [image.index.digest, ...image.index.manifests.map((entry) => entry.digest)] : [image.manifestDigest]);

export interface CarrySource {
  /** The registry path the source environment's charts pull from (`<owner>/<chart name>` is appended). */
  readonly prefix: string;
  readonly access: RegistryAccess;
  readonly signal?: AbortSignal | undefined;
  /** @default DEFAULT_REFERRER_COPY_LIMITS */
  readonly limits?: ReferrerCopyLimits | undefined;
}

/**
 * Copies into `to` the referrers attached to the image where the source
 * environment pulls it from: the signatures and SBOMs added with cosign,
 * oras or notation after the upload, which the archive the image is pushed
 * from never held, and which the target environment's admission controller
 * looks for next to the image. Undefined when source and target are one
 * repository (nothing to carry). Throws what copyReferrers throws: a
 * refusal (too many, too large, a manifest the target will not take) fails
 * the transfer rather than promote the image without its signature.
 */
export async function carryReferrers(image: NamedImage & { readonly image: PushableImage }, imageVersion: string, source: CarrySource, to: PushTargetClient, log: Logger): Promise<CarriedReferrers | undefined> {
  const at = pushTargetOf(source.prefix, image, imageVersion);
  if (!at || (at.registry === to.registry && at.repository === to.repository)) return undefined;
  const client = pullClientOf(at, source.access, source.signal);
  const from = { client, registry: at.registry, repository: at.repository, name: at.name };
  const none = { from: at.name, found: 0, copied: 0, alreadyThere: 0, stale: 0, tagsHeldByOthers: 0, tagsMoved: 0, blobsSent: 0, blobsMounted: 0 };
  if (await new RegistryPush(client, at.registry).manifestAt(pinnedDigestOf(image.image)) === undefined) {
    // Pushed nowhere there (ORBIT_IMAGE_REGISTRY_PUSH was off at upload, or someone deleted it): nothing can be attached to it there.
    log.warn({ reference: `${at.name}@${pinnedDigestOf(image.image)}` }, 'the image is not in the source environment registry; no referrers to carry from there');
    return none;
  }
  const found = await discoverReferrers(registryReferrerSource(client, at.registry), subjectsOf(image.image), source.limits);
  if (found.stale.length > 0) log.warn({ from: at.name, stale: found.stale }, 'the source registry lists referrers that are gone or about another manifest; skipped');
  const copied = await copyReferrers(found.referrers, from, to, log);
  const { copied: put, alreadyThere, tagsHeldByOthers, tagsMoved, blobsSent, blobsMounted } = copied;
  return { from: at.name, found: found.referrers.length, copied: put, alreadyThere, stale: found.stale.length, tagsHeldByOthers, tagsMoved, blobsSent, blobsMounted };
}
