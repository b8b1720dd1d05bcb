import type { FastifyRequest } from 'fastify';
import type { Actor, Logger, RegistryAllowlist, ResolveHost } from '@orbit/lib';
import type { UploadBodyDigest } from '@orbit/schemas';
import type { Caller } from '../auth.js';
import type { CommandPublisher, ImageNames, UploadClaims, UploadStore, VersionStored } from '../ports.js';
import type { StreamedUploads } from '../streamed-uploads.js';
import type { CountUploadBytes } from '../upload-metrics.js';

export interface UploadRouteDeps {
  readonly uploads: UploadStore;
  readonly names: ImageNames;
  readonly publish: CommandPublisher;
  /** Whether ViewPort holds a version; without it a stored version is refused only by the validator, after the upload. */
  readonly versionStored?: VersionStored | undefined;
  /** One request per presigned upload; without it every completion starts a request. */
  readonly completions?: UploadClaims | undefined;
  /** One request per Idempotency-Key an upload is sent with; without it the header is not honoured. */
  readonly idempotencyKeys?: UploadClaims | undefined;
  readonly statusUrl: (requestId: string) => string;
  /** Where a presigned upload is completed: absolute, as statusUrl, so a client follows both alike. */
  readonly completeUrl: (uploadId: string) => string;
  /** The presigned upload itself (what a presign's 201 Location names, and DELETE gives up): absolute, as completeUrl. */
  readonly uploadUrl: (uploadId: string) => string;
  readonly maxUploadBytes: number;
  /** The archive uploads streaming through this gateway, by owner and in all: a form past their limits is answered 429. */
  readonly streamedUploads: StreamedUploads;
  /** Counts an accepted upload's bytes (orbit_upload_bytes_total); without it nothing is counted. */
  readonly countUploadBytes?: CountUploadBytes | undefined;
  /** The registries references may name (ORBIT_ALLOWED_REGISTRIES); empty: any. The validator checks again. */
  readonly allowedRegistries?: RegistryAllowlist | undefined;
  /** `registry/path` prefixes Orbit pushes to; a reference into them is refused. */
  readonly ownRegistries?: readonly string[] | undefined;
  /** Where a registry's host name leads, to know Orbit's own registry under another name; without it, names only. */
  readonly resolveHost?: ResolveHost | undefined;
  /** This host's own addresses: a reference to one of them reaches a registry listening on every interface here. */
  readonly interfaceAddresses?: ReadonlySet<string> | undefined;
  readonly logger?: Logger | undefined;
}

/** What the upload routes are registered with: who sent a request. */
export interface UploadRouteOptions {
  readonly caller: (request: FastifyRequest) => Promise<Caller>;
}

export interface Accepted {
  readonly requestId: string;
  readonly imageUID: string;
  readonly pid: string;
  readonly status: 'accepted';
  readonly statusUrl: string;
}

/** The request an earlier call with the same key (presigned upload, Idempotency-Key) started, and its status now. */
export interface StartedBefore {
  readonly requestId: string;
  readonly imageUID: string;
  readonly pid: string;
  readonly status: string;
  readonly statusUrl: string;
}

/** 202 for a request this call started; 200 for the one an earlier call with the same key started (nothing started again). */
export type UploadAnswer = { readonly replayed: false; readonly body: Accepted } | { readonly replayed: true; readonly body: StartedBefore };

/** Where a call's request is claimed, when it names one: its presigned upload, or its Idempotency-Key. */
export interface ClaimedBy {
  readonly claims: UploadClaims;
  readonly key: string;
  /** The command's field that carries the key, so a rebuild from nothing can give the claim back. */
  readonly field: 'uploadId' | 'idempotencyKey';
}

/** A call's body as it is compared with the request its key started: its digest, and what its content is. */
export interface SentBody {
  readonly digest: UploadBodyDigest;
  readonly contentIs: 'image' | 'reference';
}

/**
 * Who sent an upload, and the HTTP request it came in: the commands it publishes continue that request's trace
 * (traceOf, a child of the caller's traceparent), and the lines logged about it name its id (requestLogFields).
 */
export interface Sender {
  readonly actor: Actor;
  readonly request: FastifyRequest;
}

export const senderOf = (request: FastifyRequest, caller: Caller): Sender => ({ actor: caller.actor, request });
