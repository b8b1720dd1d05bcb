import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MAX_TOKEN_ANSWER_BYTES } from './bounded-body.js';
import type { RegistryRequest } from './client-options.js';
import { connectionRefusal } from './connection-refusal.js';
import { RegistryUnavailableError } from './registry-errors.js';

/** How long a blob upload may move nothing before the registry counts as gone: undici's own body timeout. */
const UPLOAD_IDLE_MS = 300_000;

/**
 * A streamed body (a blob upload) goes through node:http(s), not fetch:
 * Node's fetch (and undici's) reads a streamed body as fast as it can,
 * whatever the socket takes, so a 1 GiB blob to a registry slower than the
 * disk held about 1 GiB of memory; a piped request waits for the socket.
 * Its answer (a few headers, a small body) is handed back as a Response.
 * No answer timeout (the answer comes only once all of the body is sent),
 * but a connection that moves nothing for UPLOAD_IDLE_MS is given up.
 * `where.sentTo`: `url` when it is on another host than the registry's, the host a failure must name (see connectionRefusal).
 */
export function sendStreamed(
  url: URL, method: RegistryRequest['method'], headers: Record<string, string>, body: AsyncIterable<Uint8Array>,
  where: { readonly registry: string; readonly sentTo: URL | undefined },
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const failed = (error: unknown): void => reject(connectionRefusal(where.registry, { cause: error }, where.sentTo) ?? new RegistryUnavailableError(where.registry, error));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send(url, { method, headers }, (answer) => {
      const chunks: Buffer[] = [];
      let length = 0;
      answer.on('data', (chunk: Buffer) => {
        length += chunk.length;
        // An upload's answer is an error document at most; what goes past that is not kept.
        if (length <= MAX_TOKEN_ANSWER_BYTES) chunks.push(chunk);
      });
      answer.on('error', failed);
      answer.on('end', () => {
        const answerHeaders = new Headers();
        for (const [name, value] of Object.entries(answer.headers)) {
          for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) answerHeaders.append(name, one);
        }
        const status = answer.statusCode ?? 502;
        const empty = status === 204 || status === 205 || status === 304;
        resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: answerHeaders }));
      });
    });
    outgoing.setTimeout(UPLOAD_IDLE_MS, () => outgoing.destroy(new Error(`nothing moved for ${UPLOAD_IDLE_MS / 1000} s`)));
    outgoing.on('error', failed);
    pipeline(Readable.from(body), outgoing).catch(failed);
  });
}
