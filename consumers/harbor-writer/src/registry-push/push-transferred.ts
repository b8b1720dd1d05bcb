import type { S3Client } from '@aws-sdk/client-s3';
import { isPushRefusal, parseEnvironmentName, type EnvironmentName, type Logger, type ReferrerCopyLimits } from '@orbit/lib';
import type { ImageCopied, TransferRequested } from '@orbit/schemas';
import { transferFailed, type TransferOutcome } from '../transfer.js';
import { carryReferrers } from './carry-referrers.js';
import { blobDigestsOf, pushImage, type PushResult } from './push-image.js';
import { openStored, pushClientFor, type RegistryPushing } from './push-stored.js';
import { storedVersionOf } from './repush.js';
import { pushTargetOf } from './target.js';

export interface TransferPushDeps {
  readonly s3: S3Client;
  /** How to reach registries; its prefix is replaced by the target environment's. */
  readonly pushing: RegistryPushing;
  /** The registry path each environment's charts pull from. */
  registryOf(environment: EnvironmentName): string;
  /** Aborted on shutdown (ConsumedMessage.signal): ends the push's read of the copy, and with it the push. */
  readonly signal?: AbortSignal | undefined;
  /** How far carrying the source registry's referrers goes. @default DEFAULT_REFERRER_COPY_LIMITS */
  readonly referrerLimits?: ReferrerCopyLimits | undefined;
}

/**
 * Transfer into an environment with a registry of its own: pushes the image
 * from the copy just made in the target's bucket (the checksum-verified bytes
 * the validator passed) under the same owner, chart name and tags as at upload, and
 * says where in ImageCopied. On the same registry host the layers are mounted
 * from the source repository, so only the manifest travels; a redelivery (or
 * a next environment sharing the registry) finds the manifest in place and
 * sends nothing. Environments pulling from the upload registry are passed
 * through untouched. Then the referrers attached to the image in the source
 * environment's registry (signed or given an SBOM there after the upload) are
 * copied beside it, as Harbor's replication copies accessories: the target's
 * admission controller verifies the signature there. One that cannot be
 * copied fails the transfer (REGISTRY_PUSH_REFUSED), the image already in the
 * target registry; a new request for the transfer carries what is missing.
 * `recorded` is the version's metadata row as recording the copy left it
 * (recordTransferLocation, which the push follows): the image summary and the
 * owner path it was pushed under at upload.
 */
export async function pushIntoTargetRegistry(copied: ImageCopied, request: TransferRequested, recorded: Record<string, unknown> | undefined, deps: TransferPushDeps, log: Logger): Promise<TransferOutcome> {
  const target = parseEnvironmentName(copied.targetEnvironment);
  const source = parseEnvironmentName(copied.sourceEnvironment);
  if (!target || !source) return transferFailed(request, 'UNKNOWN_ENVIRONMENT', `cannot transfer from ${copied.sourceEnvironment} to ${copied.targetEnvironment}`);
  const prefix = deps.registryOf(target);
  // Charts pin the image where it was pushed at upload; an environment pulling from there needs nothing more.
  if (prefix === deps.registryOf('Development')) return { kind: 'copied', event: copied };
  const refused = (message: string): TransferOutcome => transferFailed(request, 'REGISTRY_PUSH_REFUSED', message);
  const version = recorded === undefined ? undefined : storedVersionOf(recorded);
  // Stored before image summaries were recorded: nothing says which manifest to push.
  if (!version) return refused(`${copied.imageUID} ${copied.imageVersion} has no recorded image manifest to push to the ${target} registry`);
  const pushing = { ...deps.pushing, prefix };
  const client = pushClientFor(pushing, version, copied.imageVersion);
  if (typeof client === 'string') {
    // Counted as the registry's own refusals are (and as an upload's push to a misconfigured registry is): ops alert on it.
    pushing.observe?.refused();
    return refused(client);
  }
  // Every blob is in the upload repository (pushed there at upload): on the same registry they are mounted from
  // there and its manifest copied, even after a restart emptied the blob memory.
  const uploaded = pushTargetOf(deps.registryOf('Development'), version, copied.imageVersion);
  if (uploaded && uploaded.registry === client.registry) {
    pushing.blobSources?.suggest(uploaded.registry, blobDigestsOf(version.image), uploaded.repository);
  }
  const started = performance.now();
  let result: PushResult;
  try {
    result = await pushImage(openStored(deps.s3, copied.target, deps.signal), version.image, client, log);
    pushing.observe?.pushed(result, (performance.now() - started) / 1000);
    log.info({ imageReference: result.reference, imageTag: result.tagReference, blobsSent: result.blobsSent, blobsMounted: result.blobsMounted, targetEnvironment: target }, 'image pushed to the target environment registry');
  } catch (error) {
    if (!isPushRefusal(error)) throw error;
    pushing.observe?.refused();
    return refused(`pushing to ${client.name}: ${error.message}`);
  }
  const sourcePrefix = deps.registryOf(source);
  try {
    const carried = await carryReferrers(version, copied.imageVersion, { prefix: sourcePrefix, access: pushing.access, signal: deps.signal, limits: deps.referrerLimits }, client, log);
    if (carried) {
      pushing.observe?.carried?.('carried', carried.copied);
      log.info({ ...carried, to: client.name, sourceEnvironment: source, targetEnvironment: target }, 'referrers of the image in the source environment registry carried to the target');
    }
  } catch (error) {
    if (!isPushRefusal(error)) throw error;
    pushing.observe?.carried?.('carry-refused', 1);
    return refused(`the image is in ${client.name}, but the referrers (signatures, SBOMs) attached to it in the ${source} registry ${sourcePrefix} could not all be copied there, where an admission controller would look for them: ${error.message}`);
  }
  return { kind: 'copied', event: { ...copied, imageReference: result.reference, imageTag: result.tagReference } };
}
