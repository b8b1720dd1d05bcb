import { chartNameOf, ownerPathOf, pushRepositoryOf, repositoryPathUnder, type PushRepository } from '@orbit/lib';

/** Where a stored image is pushed: the repository its charts pull from, and the tag it gets there. */
export interface PushTarget extends PushRepository {
  /**
   * The image version, when it is a valid tag (it always is for the versions
   * the gateway accepts), then `<version>-<the image UID's first 12>`, for
   * when the version tag already names another image of the repository
   * (another owner's image of the same chart name): tagged, the image is safe
   * from a registry's clean-up of untagged manifests.
   */
  readonly tags: readonly string[];
}

/** The OCI distribution spec's tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const UID_IN_TAG = 12;

export function pushTagsOf(imageVersion: string, imageUID: string): string[] {
  if (!TAG.test(imageVersion)) return [];
  const owned = `${imageVersion.slice(0, 127 - UID_IN_TAG)}-${imageUID.slice(0, UID_IN_TAG)}`;
  return TAG.test(owned) && imageUID.length >= UID_IN_TAG ? [imageVersion, owned] : [imageVersion];
}

/** An image as its repository is named: its owner (undefined only in records older than owners in them), name and UID. */
export interface NamedImage {
  readonly owner: string | undefined;
  /** The owner path it was pushed under (a stored version's), null: at the prefix's top; absent: the owner's path today (ownerPathOf). */
  readonly ownerPath?: string | null | undefined;
  readonly imageName: string;
  readonly imageUID: string;
}

/**
 * `ORBIT_IMAGE_REGISTRY/<owner>/<chart name>`, the repository the
 * chart-generator writes into every chart: one owner's alone, so no other
 * owner can take a version's tag there first. Undefined when the prefix
 * names no registry host (`orbit` alone would mean Docker Hub's
 * `library/orbit`, surely not meant). A version pushed before owners had
 * paths (owner path null, or no owner recorded) keeps `<prefix>/<chart name>`.
 */
export function pushTargetOf(registryPrefix: string, image: NamedImage, imageVersion: string): PushTarget | undefined {
  const { owner, imageName, imageUID } = image;
  const chartName = chartNameOf(imageName, imageUID);
  const ownerPath = image.ownerPath !== undefined ? image.ownerPath : owner === undefined ? null : ownerPathOf(owner);
  const repository = pushRepositoryOf(`${registryPrefix.replace(/\/+$/, '')}/${repositoryPathUnder(ownerPath, chartName)}`);
  return repository && { ...repository, tags: pushTagsOf(imageVersion, imageUID) };
}
