/*
 * What a read of an image or version ViewPort does not hold answers instead of a bare 404, when the caller's own
 * uploads explain why: IMAGE_NOT_READY naming the upload still under way, else IMAGE_UPLOAD_FAILED naming the newest
 * that failed. Only the caller's uploads of the UID are looked at, so anyone else (a role holder too) finds none and
 * keeps the bare 404: UIDs and versions cannot be probed.
 */

import { RequestDeferredError, RequestRefusedError } from '../errors.js';
import type { RequestRecord, RequestStore } from '../ports.js';
import { uploadUnderWay } from '../upload-under-way.js';

type UploadLister = Pick<RequestStore, 'list'>;

/**
 * Retry-After of IMAGE_NOT_READY: a retriable 404 said so only in words, and a client's generic retry (on Retry-After)
 * gave up at once; an upload's steps take seconds, and the message names the request to follow instead.
 */
const NOT_READY_RETRY_SECONDS = 5;

const ofVersion = (upload: { readonly imageVersion?: string | null }): string => (upload.imageVersion ? ` of ${upload.imageVersion}` : '');

/** The owner's newest failed upload of the image (of `imageVersion`, when given), however many newer ones of other versions failed. */
async function failedUpload(requests: UploadLister, owner: string, imageUID: string, imageVersion?: string): Promise<RequestRecord | undefined> {
  const { requests: [failed] } = await requests.list({ owner, kind: 'upload', imageUID, imageVersion, status: 'failed', limit: 1 });
  return failed;
}

/**
 * Why the caller's image is not in ViewPort, which holds an image from its first validated version on: its first
 * upload is under way, or its uploads failed (their steps are logged under the UID all the same). Undefined when the
 * caller has no upload of it.
 */
export async function imageNotHeld(requests: UploadLister, owner: string, imageUID: string): Promise<RequestRefusedError | undefined> {
  const uploading = await uploadUnderWay(requests, owner, imageUID);
  if (uploading) {
    return new RequestDeferredError(404, 'IMAGE_NOT_READY',
      `image ${imageUID} has no validated version yet: your upload ${uploading.requestId}${ofVersion(uploading)} is still under way; follow GET /v1/requests/${uploading.requestId}?wait=30`,
      [], NOT_READY_RETRY_SECONDS);
  }
  const failed = await failedUpload(requests, owner, imageUID);
  return failed && new RequestRefusedError(404, 'IMAGE_UPLOAD_FAILED',
    `image ${imageUID} has no version: your upload ${failed.requestId}${ofVersion(failed)} failed ${failed.error?.code ?? 'without a reason code'}; its steps are at GET /v1/requests/${failed.requestId}`);
}

/**
 * Why one version of the caller's image is not in ViewPort: its upload is under way (a client polls the version after
 * the 202), or it failed. Undefined when the caller has no upload of that version.
 */
export async function versionNotHeld(requests: UploadLister, owner: string, imageUID: string, imageVersion: string): Promise<RequestRefusedError | undefined> {
  const uploading = await uploadUnderWay(requests, owner, imageUID, imageVersion);
  if (uploading) {
    return new RequestDeferredError(404, 'IMAGE_NOT_READY',
      `image ${imageUID} has no validated version ${imageVersion} yet: your upload ${uploading.requestId} of ${imageVersion} is still under way; follow GET /v1/requests/${uploading.requestId}?wait=30`,
      [], NOT_READY_RETRY_SECONDS);
  }
  const failed = await failedUpload(requests, owner, imageUID, imageVersion);
  return failed && new RequestRefusedError(404, 'IMAGE_UPLOAD_FAILED',
    `image ${imageUID} has no version ${imageVersion}: your upload ${failed.requestId} of ${imageVersion} failed ${failed.error?.code ?? 'without a reason code'}; its steps are at GET /v1/requests/${failed.requestId}`);
}

/** Whether `error` is a 404 of a read, the one answer a reason above may replace. */
export const isNotFound = (error: unknown): error is RequestRefusedError => error instanceof RequestRefusedError && error.statusCode === 404;
