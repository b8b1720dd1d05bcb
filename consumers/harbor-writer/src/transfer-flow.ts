import type { EnvironmentName, Logger } from '@orbit/lib';
import type { ImageCopied, PipelineFailed, TransferRequested } from '@orbit/schemas';
import { logFailure } from './failure-log.js';
import { pushIntoTargetRegistry } from './registry-push/push-transferred.js';
import type { RegistryPushing } from './registry-push/push-stored.js';
import { recordTransferLocation, transferImage, type TransferDeps, type TransferOutcome } from './transfer.js';

export interface TransferFlowDeps extends TransferDeps {
  /** Set when images are pushed (ORBIT_IMAGE_REGISTRY_PUSH): an environment with a registry of its own gets the image pushed there. */
  readonly pushing?: RegistryPushing | undefined;
  /** The registry path each environment's charts pull from. */
  registryOf(environment: EnvironmentName): string;
  /** Where the transfer's end goes: ImageCopied on to the chart-generator, or PipelineFailed. */
  readonly publish: {
    copied(event: ImageCopied): Promise<void>;
    failed(event: PipelineFailed): Promise<void>;
  };
}

/**
 * One TransferRequested, start to end: the copy into the target environment's
 * bucket (transferImage), the push into the target's own registry when images
 * are pushed (pushIntoTargetRegistry), `location<Environment>` recorded, and
 * ImageCopied or PipelineFailed published. Returns what was published.
 *
 * When a push follows, the copy is recorded before it: a push the registry
 * refuses fails the transfer with the copy already in the target bucket, and
 * only a recorded copy is found (and removed) by `transfers:reconcile`
 * (leftover-copies.ts), which otherwise nothing would ever delete. Recording
 * early makes nothing look done: the API, the Helm index and the
 * chart-generator go by ViewPort and ImageCopied, never by the attribute; a
 * transfer reads it only of its source environment, which the gateway lets it
 * take only once ViewPort has the version there; reconcile removes a copy only
 * once ViewPort's transfer into it failed for good. `images:push` may push a
 * copy so recorded into its environment's registry, as the push here would.
 * Without a push, the record runs alongside the publish (nothing on the way
 * reads it back); a failure of either retries the message, which finds the
 * copy in place and does both again.
 */
export async function handleTransfer(request: TransferRequested, deps: TransferFlowDeps, log: Logger): Promise<TransferOutcome> {
  const copied = await transferImage(request, deps, log);
  let outcome = copied;
  if (copied.kind === 'copied') {
    if (!deps.pushing) {
      await Promise.all([recordTransferLocation(copied.event, deps), deps.publish.copied(copied.event)]);
      return copied;
    }
    // The row the record leaves is the one the push reads (its image summary, its owner path): not asked for again.
    const recorded = await recordTransferLocation(copied.event, deps);
    outcome = await pushIntoTargetRegistry(copied.event, request, recorded, { ...deps, pushing: deps.pushing }, log);
  }
  if (outcome.kind === 'failed') {
    // Error for a registry's or S3's refusal of Orbit itself (the operator's to mend), warn else: as an upload's store step.
    logFailure(log, outcome.event, 'transfer failed');
    await deps.publish.failed(outcome.event);
    return outcome;
  }
  await deps.publish.copied(outcome.event);
  return outcome;
}
