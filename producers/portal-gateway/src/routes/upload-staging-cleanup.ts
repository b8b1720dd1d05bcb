import type { FastifyRequest } from 'fastify';
import type { HeldRequest } from '../ports.js';
import { requestLogFields } from '../request-correlation.js';
import type { StagedObject } from '../staging.js';
import type { UploadRouteDeps } from './upload-route-types.js';

/** Deleting from staging what no request will take: a failed delete is logged, never the answer, since the staging expiry takes it anyway. */
export interface StagingCleanup {
  readonly discard: (staged: StagedObject, request: FastifyRequest) => Promise<void>;
  /**
   * What a completed single PUT's URL took after its request succeeded: S3 cannot revoke the URL within its hour, and
   * the harbor-writer deleted the version it stored and those before it, so every version left is a later PUT that no
   * completion can take (its completion is replayed). A completion sent again or a DELETE removes them (found by a
   * review: they stayed until the staging expiry). Not while the request runs: the version it names is among them.
   */
  readonly dropPutsAfterStored: (owner: string, uploadId: string, held: HeldRequest, request: FastifyRequest) => Promise<void>;
}

export function stagingCleanup(deps: Pick<UploadRouteDeps, 'uploads' | 'logger'>): StagingCleanup {
  async function discard(staged: StagedObject, request: FastifyRequest): Promise<void> {
    await deps.uploads.discard(staged).catch((cause: unknown) => deps.logger?.warn({ err: cause, key: staged.key, ...requestLogFields(request) }, 'could not delete a refused upload from staging; the staging expiry will'));
  }

  async function dropPutsAfterStored(owner: string, uploadId: string, held: HeldRequest, request: FastifyRequest): Promise<void> {
    if (held.status !== 'succeeded') return;
    try {
      const left = await deps.uploads.find(owner, uploadId);
      if (left) await deps.uploads.discard(left);
    } catch (error) {
      // The answer stands without it: the staging expiry takes what is left a day later.
      deps.logger?.warn({ ...requestLogFields(request), uploadId, err: error }, 'what a completed upload\'s URL took since was not deleted');
    }
  }

  return { discard, dropPutsAfterStored };
}
