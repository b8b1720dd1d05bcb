import { TOPICS, type envelopeFor as EnvelopeFor } from '@orbit/lib';
import type { ImageRejected, ImageValidated, UploadRequested } from '@orbit/schemas';
import type { UploadVerdict } from './handle.js';

export type VerdictEvent =
  | { readonly topic: typeof TOPICS.imageValidated; readonly event: ImageValidated }
  | { readonly topic: typeof TOPICS.imageRejected; readonly event: ImageRejected };

/** The event that announces a verdict, in the request's correlation and with the step's PID. */
export function verdictEvent(cause: UploadRequested, verdict: Exclude<UploadVerdict, { kind: 'already-stored' }>, envelope: typeof EnvelopeFor): VerdictEvent {
  if (verdict.kind === 'rejected') {
    return {
      topic: TOPICS.imageRejected,
      event: {
        ...envelope('imageRejected', cause), requestId: verdict.requestId, reasonCode: verdict.reasonCode, message: verdict.message, stage: verdict.stage,
        staging: verdict.staging, imageVersion: cause.metadata.imageVersion,
      },
    };
  }
  return {
    topic: TOPICS.imageValidated,
    event: {
      ...envelope('imageValidated', cause), requestId: verdict.requestId, metadata: verdict.metadata, staging: verdict.staging,
      sizeBytes: verdict.sizeBytes, sha256: verdict.sha256, image: verdict.image,
      // Where the bytes came from, for the owner's view of the version (the projected topics carry no UploadRequested).
      pulledFrom: cause.source === 'REFERENCE' ? cause.reference : null,
      // When the gateway accepted the request, which every run of it shares: ViewPort orders an image's uploads by it, where
      // this event's own occurredAt (and its ImageStored's) is stamped anew by each run of a stage.
      requestedAt: cause.occurredAt,
    },
  };
}
