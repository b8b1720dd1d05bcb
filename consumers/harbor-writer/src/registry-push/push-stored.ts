import { addAbortSignal, type Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isPushRefusal, pushClientOf, type Logger, type RegistryAccess } from '@orbit/lib';
import type { ImageValidated } from '@orbit/schemas';
import type { ObjectLocation } from '../copy.js';
import type { PushObserver } from './push-metrics.js';
import type { BlobSources } from './blob-sources.js';
import { sendImageBlobs, type PushResult, type PushTargetClient } from './push-image.js';
import { pushTargetOf, type NamedImage } from './target.js';

export interface RegistryPushing {
  /** ORBIT_IMAGE_REGISTRY: registry and path the charts pull from; `<owner>/<chart name>` is appended. */
  readonly prefix: string;
  readonly access: RegistryAccess;
  readonly observe?: PushObserver;
  /** One per process: where blobs were seen, so pushes to other repositories mount them. */
  readonly blobSources?: BlobSources;
}

/** Why a push will not happen, for the failed request. */
export interface PushRefusal {
  readonly reasonCode: 'REGISTRY_PUSH_REFUSED';
  readonly message: string;
}

/** The image pullable, or why the registry refused it. */
export type PushOutcome = { readonly kind: 'pushed'; readonly result: PushResult } | { readonly kind: 'refused'; readonly refusal: PushRefusal };

/** The blobs are in the registry; `commit` makes the image pullable, or says why the registry refused it. */
export type SentImage = { readonly kind: 'refused'; readonly refusal: PushRefusal } | { readonly kind: 'sent'; commit(): Promise<PushOutcome> };

/** The repository a version is pushed to, with a client for it; why there is none when ORBIT_IMAGE_REGISTRY names no repository. */
export function pushClientFor(pushing: RegistryPushing, image: NamedImage, imageVersion: string): PushTargetClient | string {
  const target = pushTargetOf(pushing.prefix, image, imageVersion);
  if (!target) return `ORBIT_IMAGE_REGISTRY "${pushing.prefix}" names no registry repository to push ${image.imageName} to`;
  return { client: pushClientOf(target, pushing.access), registry: target.registry, repository: target.repository, name: target.name, tags: target.tags, blobSources: pushing.blobSources };
}

/**
 * A stored archive's bytes, read when the push gets to them. `signal` (the
 * consume loop's, on shutdown) destroys the read in flight with an AbortError:
 * the blob being sent fails with it, and the push ends at once instead of
 * holding the stop for the minutes a large image takes.
 */
export const openStored = (s3: S3Client, location: ObjectLocation, signal?: AbortSignal) => async (): Promise<Readable> => {
  signal?.throwIfAborted();
  const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key, ...(location.versionId ? { VersionId: location.versionId } : {}) }), { abortSignal: signal });
  const body = object.Body as Readable;
  return signal ? addAbortSignal(signal, body) : body;
};

/**
 * Sends the blobs of the validated image in `source` (its staged upload, or
 * the Development copy on a redelivery) to where its charts pull it from.
 * A registry that does not answer or answers 5xx throws RegistryUnavailableError
 * (retried until it is back); a refusal is returned, to fail the request.
 */
export async function sendValidatedImage(
  event: ImageValidated, source: ObjectLocation,
  deps: { readonly s3: S3Client; readonly pushing: RegistryPushing; readonly signal?: AbortSignal | undefined; readonly ownerPath?: string | null | undefined }, log: Logger,
): Promise<SentImage> {
  // Uploads are the owner's own: the actor is the owner. Under the path the version was pushed under, when it was (null: the top).
  const target = pushClientFor(deps.pushing, { owner: event.actor.username, ownerPath: deps.ownerPath, imageName: event.metadata.imageName, imageUID: event.imageUID }, event.metadata.imageVersion);
  if (typeof target === 'string') {
    // Counted like the registry's own refusals: a misconfigured ORBIT_IMAGE_REGISTRY fails every upload, and the refused series is what ops alert on.
    deps.pushing.observe?.refused();
    return { kind: 'refused', refusal: { reasonCode: 'REGISTRY_PUSH_REFUSED', message: target } };
  }
  const openArchive = openStored(deps.s3, source, deps.signal);
  const refusal = (error: unknown): PushRefusal => {
    if (isPushRefusal(error)) {
      deps.pushing.observe?.refused();
      return { reasonCode: 'REGISTRY_PUSH_REFUSED', message: `pushing to ${target.name}: ${error.message}` };
    }
    throw error;
  };
  const started = performance.now();
  try {
    const sent = await sendImageBlobs(openArchive, event.image, target, log);
    return {
      kind: 'sent',
      commit: () => sent.commit().then((result): PushOutcome => {
        deps.pushing.observe?.pushed(result, (performance.now() - started) / 1000);
        return { kind: 'pushed', result };
      }, (error: unknown): PushOutcome => ({ kind: 'refused', refusal: refusal(error) })),
    };
  } catch (error) {
    return { kind: 'refused', refusal: refusal(error) };
  }
}
