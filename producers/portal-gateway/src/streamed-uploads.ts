import { Gauge, type Registry } from 'prom-client';
import { RequestDeferredError } from './errors.js';

/**
 * What a 429 ORBIT_ERR_STREAMED_UPLOADS_PENDING or ORBIT_ERR_GATEWAY_UPLOADS_FULL asks the caller to wait: a streamed
 * upload under way ends within seconds to minutes; a retry sooner would mostly be refused again.
 */
export const STREAMED_RETRY_AFTER_SECONDS = 10;

/**
 * The defaults of ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER and ORBIT_MAX_STREAMED_UPLOADS. Each upload streaming holds up to
 * three 5 MiB parts (two sending, one filling) and a 5 MiB copy while a part is cut: ~20 MiB at worst, ~5 MiB for one a
 * slow client holds (measured: 150 held took 775 MiB). 32 of them, ~640 MiB at worst over ~100 MiB at rest, fit a
 * replica of 1 GiB; 8 per owner leave a CI job its parallel uploads (the crash test sends 6 at once) and keep four owners from being shut out by one.
 */
export const DEFAULT_STREAMED_UPLOAD_LIMITS: StreamedUploadLimits = { perOwner: 8, total: 32 };

/** How many archive bodies streaming through this gateway at once: per owner, and every owner's together. */
export interface StreamedUploadLimits {
  /** ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER. */
  readonly perOwner: number;
  /** ORBIT_MAX_STREAMED_UPLOADS. */
  readonly total: number;
}

/** Gives the slot back; any later call does nothing, so each way an upload can end may call it. */
export type ReleaseSlot = () => void;

/**
 * The archive uploads streaming through this gateway (POST /v1/uploads as a form), counted from before the first byte
 * of their body is read until they end in any way. Each holds up to three S3 parts (queueSize 2 sending, one filling,
 * 5 MiB each: staging.ts) and the body-pace floor lets a slow client hold one for as long as it keeps 1 KiB/s: one
 * caller held 150 and took the gateway from 105 to 880 MiB of RSS (found by a review), ~1000 would have killed the pod
 * and every other user's uploads with it. Presigned uploads are not counted: their bytes go to S3, not through here.
 * One replica's count: each gateway replica bounds its own memory.
 */
export class StreamedUploads {
  private readonly byOwner = new Map<string, number>();
  private inFlight = 0;

  constructor(readonly limits: StreamedUploadLimits) {}

  /** A slot for one of `owner`'s uploads, or a 429 with Retry-After (nothing read, nothing accepted) when none is free. */
  take(owner: string): ReleaseSlot {
    const owned = this.byOwner.get(owner) ?? 0;
    if (owned >= this.limits.perOwner) {
      throw new RequestDeferredError(429, 'ORBIT_ERR_STREAMED_UPLOADS_PENDING',
        `${owner} has ${owned} archive uploads streaming through this gateway, and it takes at most ${this.limits.perOwner} of one owner's at once, `
        + 'so that one caller\'s uploads cannot take the memory every other upload needs: nothing was read or accepted; send this again once one of them has ended, '
        + 'or upload a large image presigned (POST /v1/uploads/presign), which is not counted',
        [{ field: 'image', message: `${owned} of your archive uploads are streaming, the most taken at once` }], STREAMED_RETRY_AFTER_SECONDS);
    }
    if (this.inFlight >= this.limits.total) {
      throw new RequestDeferredError(429, 'ORBIT_ERR_GATEWAY_UPLOADS_FULL',
        `this gateway has ${this.inFlight} archive uploads streaming, every caller's together, the most it takes at once (its memory holds their parts): `
        + 'nothing was read or accepted; send this again later, or upload presigned (POST /v1/uploads/presign), which is not counted',
        [{ field: 'image', message: `${this.inFlight} archive uploads are streaming through this gateway, the most taken at once` }], STREAMED_RETRY_AFTER_SECONDS);
    }
    this.byOwner.set(owner, owned + 1);
    this.inFlight += 1;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.inFlight -= 1;
      const left = (this.byOwner.get(owner) ?? 1) - 1;
      if (left > 0) this.byOwner.set(owner, left);
      else this.byOwner.delete(owner);
    };
  }

  /** Uploads streaming now: `owner`'s, or everyone's. */
  streaming(owner?: string): number {
    return owner === undefined ? this.inFlight : this.byOwner.get(owner) ?? 0;
  }
}

/**
 * This replica's streamed uploads against its cap, read at each scrape: how near it is to answering every caller 429
 * ORBIT_ERR_GATEWAY_UPLOADS_FULL (scale out), which no metric showed (found by a review).
 */
export function instrumentStreamedUploads(uploads: StreamedUploads, registry: Registry): void {
  new Gauge({
    name: 'orbit_streamed_uploads_in_flight', help: 'Archive uploads streaming through this gateway now, every owner\'s together', registers: [registry],
    collect() { this.set(uploads.streaming()); },
  });
  new Gauge({
    name: 'orbit_streamed_uploads_max', help: 'The most archive uploads this gateway streams at once (ORBIT_MAX_STREAMED_UPLOADS)', registers: [registry],
    collect() { this.set(uploads.limits.total); },
  });
}
