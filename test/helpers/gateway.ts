/**
 * The portal gateway as a user sees it, for end-to-end tests: a token from the
 * project's own token command, uploads over HTTP, status and timelines.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { issueLocalToken } from '../../producers/portal-gateway/src/auth.js';
import { localTokenSettings } from '../../producers/portal-gateway/src/config.js';
import { waitFor } from './index.js';
import { openApiContract, type OpenApiContract, type OpenApiDocument } from './openapi-contract.js';

export const GATEWAY_URL = process.env['ORBIT_GATEWAY_URL'] ?? 'http://127.0.0.1:8080';

const tokens = new Map<string, string>();

/** A token the local gateway accepts (`npm run --silent token -- <user> --role ...`). */
export function tokenFor(user: string, roles: readonly string[] = []): string {
  const cacheKey = [user, ...roles].join('|');
  let token = tokens.get(cacheKey);
  if (!token) {
    token = execFileSync(process.execPath, ['producers/portal-gateway/dist/token-cli.js', user, ...roles.flatMap((role) => ['--role', role])], { encoding: 'utf8' }).trim();
    tokens.set(cacheKey, token);
  }
  return token;
}

/**
 * A token signed as the local gateway's are, for a user name the token command refuses to print one for (one the
 * gateway refuses): what a client with such a token is told is the gateway's to say.
 */
export function tokenTheCommandRefuses(user: string): Promise<string> {
  return issueLocalToken(localTokenSettings(), user, []);
}

export interface ApiAnswer<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

let contract: Promise<OpenApiContract> | undefined;

async function loadContract(): Promise<OpenApiContract> {
  return openApiContract(await (await fetch(`${GATEWAY_URL}/docs/json`)).json() as OpenApiDocument);
}

/**
 * A call to the gateway as a user makes it. Every answer is also held to the
 * OpenAPI document the gateway publishes: an answer the document does not
 * describe fails the test, as it would break a client generated from it.
 */
export async function api<T = Record<string, unknown>>(user: string, path: string, init: RequestInit = {}, roles: readonly string[] = []): Promise<ApiAnswer<T>> {
  const response = await fetch(`${GATEWAY_URL}${path}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${tokenFor(user, roles)}` } });
  const text = await response.text();
  const body = (text ? JSON.parse(text) : {}) as T;
  // A document that could not be read is asked for again next time, not remembered as failed.
  contract ??= loadContract().catch((error: unknown) => { contract = undefined; throw error; });
  const broken = (await contract).check(init.method ?? 'GET', path, response.status, body);
  if (broken) throw new Error(broken);
  return { status: response.status, body };
}

export interface Accepted {
  readonly requestId: string;
  readonly imageUID: string;
  readonly pid: string;
  readonly status: string;
  readonly statusUrl: string;
}

/** POST /v1/uploads as multipart: the metadata part first, then the archive (or the other way round). */
export async function uploadArchive(
  user: string, archive: string | Buffer, metadata: Record<string, unknown>, options: { imageFirst?: boolean; idempotencyKey?: string } = {},
): Promise<ApiAnswer<Accepted>> {
  const form = new FormData();
  const bytes = typeof archive === 'string' ? readFileSync(archive) : archive;
  const appendImage = () => form.append('image', new Blob([bytes], { type: 'application/x-tar' }), typeof archive === 'string' ? basename(archive) : 'image.tar');
  if (options.imageFirst) appendImage();
  form.append('metadata', JSON.stringify(metadata));
  if (!options.imageFirst) appendImage();
  return api<Accepted>(user, '/v1/uploads', { method: 'POST', body: form, ...(options.idempotencyKey ? { headers: { 'idempotency-key': options.idempotencyKey } } : {}) });
}

export async function uploadReference(user: string, reference: string, metadata: Record<string, unknown>): Promise<ApiAnswer<Accepted>> {
  return api<Accepted>(user, '/v1/uploads/references', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata, reference }) });
}

export interface RequestView {
  readonly status: 'accepted' | 'running' | 'succeeded' | 'failed';
  readonly imageUID: string;
  readonly steps: readonly { pid: string; eventType: string; at: string }[];
  readonly error?: { code: string; message: string; pid: string };
}

/** Long-polls GET /v1/requests/{id}?wait= until the request ends. */
export async function finished(user: string, requestId: string, timeoutMs = 90_000): Promise<RequestView> {
  let last = 'no answer';
  try {
    return await waitFor(async () => {
      const { status, body } = await api<RequestView>(user, `/v1/requests/${requestId}?wait=20`);
      last = `HTTP ${status}: ${JSON.stringify(body).slice(0, 2_000)}`;
      return status === 200 && (body.status === 'succeeded' || body.status === 'failed') ? body : undefined;
    }, { timeoutMs, intervalMs: 50, what: `request ${requestId} to finish` });
  } catch (error) {
    // Where it stopped (its status and the steps logged so far) says which service held it.
    throw new Error(`${error instanceof Error ? error.message : String(error)}; last answer: ${last}`, { cause: error });
  }
}

/** How an upload ended: its request, and the image's first version when it succeeded (shaped as the test reads it). */
export interface UploadOutcome<V> {
  readonly imageUID: string;
  readonly request: RequestView;
  readonly version?: V;
}

/** Sends an upload (archive or reference), waits for its request to end, and reads back the version it made. */
export async function uploadOutcome<V>(user: string, send: () => Promise<ApiAnswer<Accepted>>): Promise<UploadOutcome<V>> {
  const accepted = await send();
  if (accepted.status !== 202) throw new Error(`the upload was answered ${accepted.status}: ${JSON.stringify(accepted.body)}`);
  const request = await finished(user, accepted.body.requestId);
  if (request.status !== 'succeeded') return { imageUID: accepted.body.imageUID, request };
  const view = await api<{ versions: V[] }>(user, `/v1/images/${accepted.body.imageUID}`);
  return { imageUID: accepted.body.imageUID, request, version: view.body.versions[0] };
}

/** An upload that must work: its image and its version once ready; throws saying why the request failed, or what its version is. */
export async function readyUpload<V extends { readonly status?: string }>(user: string, send: () => Promise<ApiAnswer<Accepted>>): Promise<{ imageUID: string; version: V }> {
  const { imageUID, request, version } = await uploadOutcome<V>(user, send);
  if (request.status !== 'succeeded') throw new Error(`the request ${request.status}: ${JSON.stringify(request.error)}`);
  if (version?.status !== 'ready') throw new Error(`the request succeeded but its version is ${JSON.stringify(version)}`);
  return { imageUID, version };
}
