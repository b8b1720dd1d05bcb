import { PassThrough } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { credentialsFor, distributionAddress, isDockerHub, isInsecureRegistry, ownerKeySegment, parseImageReference, PullRefusedError, RegistryClient, type RegistryAccess, type RegistryFetch } from '@orbit/lib';
import type { ObjectRef, UploadRequested } from '@orbit/schemas';
import { notPullable } from './not-pullable.js';
import { pullAsOciArchive } from './registry-pull/pull.js';
import { DEFAULT_PULL_DEADLINE, PullDeadline, type PullDeadlineLimits } from './registry-pull/pull-deadline.js';

/** `uploads/{username}/pulled/{requestId}.tar`: one object per request, so a redelivery overwrites its own pull. */
export function pulledKeyOf(owner: string, requestId: string): string {
  return `uploads/${ownerKeySegment(owner)}/pulled/${requestId}.tar`;
}

/**
 * Pulls a registry reference into the staging bucket as an OCI archive,
 * streaming blob by blob (flat memory whatever the image size). On failure
 * the multipart upload is aborted, so staging keeps nothing half-written.
 * The whole pull has a deadline (pullDeadline): past it every request to the
 * registry is ended and the pull refused REGISTRY_ERROR, not retried.
 */
export async function stageReference(
  event: UploadRequested,
  deps: {
    readonly s3: S3Client; readonly stagingBucket: string; readonly access: RegistryAccess; readonly maxBytes: number;
    /** ORBIT_PULL_WHOLE_INDEX. @default 'except-docker-hub' */
    readonly wholeIndex?: 'always' | 'except-docker-hub' | 'never';
    readonly checkTarget?: (url: URL, named?: 'named by the reference') => Promise<void>;
    /** Checks each connection by the address it reached (guardedFetch), so DNS cannot send the pull elsewhere after checkTarget. */
    readonly fetch?: RegistryFetch;
    /** ORBIT_PULL_MIN_DEADLINE_SECONDS and ORBIT_PULL_MIN_BYTES_PER_SECOND. @default DEFAULT_PULL_DEADLINE (600 s, 1 MiB/s) */
    readonly pullDeadline?: PullDeadlineLimits;
  },
): Promise<ObjectRef> {
  const reference = event.reference === null ? undefined : parseImageReference(event.reference);
  if (!reference) throw new PullRefusedError('REFERENCE_NOT_FOUND', notPullable(event.reference ?? ''), false);
  const address = distributionAddress(reference.registry, reference.repository);
  const deadline = new PullDeadline(reference.registry, event.reference ?? '', deps.pullDeadline ?? DEFAULT_PULL_DEADLINE);
  try {
    // Read before the client is built: a failure of the operator's configuration is no fault of the reference's.
    const insecure = isInsecureRegistry(reference.registry, deps.access);
    const credentials = credentialsFor(reference.registry, deps.access.credentials, address.repository);
    const client = clientOf(event.reference ?? '', () => new RegistryClient({
      ...address, insecure, credentials,
      // The deadline ends every request of the pull in flight, token requests and redirects too, not only the blob being read.
      signal: deadline.signal,
      ...(deps.checkTarget ? { checkTarget: deps.checkTarget } : {}), ...(deps.fetch ? { fetch: deps.fetch } : {}),
    }));
    // The registry the reference names is a place like any it redirects to: the gateway's checks are not the validator's defence.
    await deps.checkTarget?.(new URL(client.base), 'named by the reference');
    return await stageInto(deps, pulledKeyOf(event.actor.username, event.requestId), event.requestId, (body) => {
      const onePlatformBecause = onePlatformReason(reference.registry, deps.wholeIndex ?? 'except-docker-hub');
      return pullAsOciArchive(client, { tag: reference.tag, digest: reference.digest, maxBytes: deps.maxBytes, deadline, ...(onePlatformBecause ? { onePlatformBecause } : {}) }, body);
    });
  } finally {
    deadline.end();
  }
}

/**
 * The client `build` makes for the registry `reference` names, or the refusal of a reference no URL can name: the
 * constructor's TypeError (a URL it cannot parse) escaped the handler, and each such upload, "[6]/af/x:1" for one,
 * went to the dead-letter queue, where any user could send as many (found by a review). Building a client asks
 * nothing of the network, so whatever it throws is the reference's fault.
 */
export function clientOf(reference: string, build: () => RegistryClient): RegistryClient {
  try {
    return build();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new PullRefusedError('REFERENCE_NOT_FOUND', `${notPullable(reference)}: no URL can name its registry (${why})`, false);
  }
}

/** The archive `pull` writes, streamed into the staging bucket at `key`; on failure the multipart upload is aborted. */
async function stageInto(
  deps: { readonly s3: S3Client; readonly stagingBucket: string; readonly maxBytes: number }, key: string, requestId: string, pull: (body: PassThrough) => Promise<unknown>,
): Promise<ObjectRef> {
  const body = new PassThrough();
  const upload = new Upload({
    // S3 takes 10 000 parts: 16 MiB ones end at 156 GiB, larger where the limit is (9 000 leaves room for the archive's own headers).
    client: deps.s3, queueSize: 2, partSize: Math.max(16 * 1024 * 1024, Math.ceil(deps.maxBytes / 9_000)), leavePartsOnError: false,
    params: { Bucket: deps.stagingBucket, Key: key, Body: body, ServerSideEncryption: 'AES256', ContentType: 'application/x-tar', Metadata: { 'orbit-request-id': requestId } },
  });
  const uploaded = upload.done();
  try {
    await pull(body);
  } catch (error) {
    body.destroy();
    await upload.abort().catch(() => undefined);
    await uploaded.catch(() => undefined);
    throw error;
  }
  const result = await uploaded;
  return { bucket: deps.stagingBucket, key, versionId: result.VersionId ?? null };
}

/**
 * What a handler does with `reference` (its registry named), for the consume
 * loop's still-running warning (ConsumedMessage.describe): the offset alone
 * does not say which registry holds a partition. Undefined for an archive.
 */
export function pullDescription(reference: string | null): Readonly<Record<string, string>> | undefined {
  if (reference === null) return undefined;
  return { reference, registry: parseImageReference(reference)?.registry ?? 'none: the reference is unreadable' };
}

/** Why a multi-platform image from `registry` is pulled for the cluster's platform alone, or undefined to pull it whole. */
export function onePlatformReason(registry: string, wholeIndex: 'always' | 'except-docker-hub' | 'never'): string | undefined {
  if (wholeIndex === 'never') return 'ORBIT_PULL_WHOLE_INDEX is never';
  if (wholeIndex === 'except-docker-hub' && isDockerHub(registry)) return 'Docker Hub counts a pull per platform (ORBIT_PULL_WHOLE_INDEX=always pulls every one)';
  return undefined;
}
