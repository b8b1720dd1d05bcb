/** Talks to the running gateway the way a user would: curl for the upload, JSON for status. */
import { execFile, execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const GATEWAY = process.env['ORBIT_GATEWAY_URL'] ?? 'http://127.0.0.1:8080';

/** Spawns the token CLI (a few hundred ms of node start-up): call it once, before anything is timed, and pass the token on. */
export function localToken(user = 'bench'): string {
  return execFileSync(process.execPath, ['producers/portal-gateway/dist/token-cli.js', user], { encoding: 'utf8' }).trim();
}

/** Throws with the status and body of a refused call: a body read as JSON regardless would give undefined ids and statuses. */
export async function okOrThrow(response: Response, what: string): Promise<Response> {
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${(await response.text()).slice(0, 2000)}`);
  return response;
}

/**
 * Asynchronous, not execFileSync: a blocked event loop stops every timer of
 * the bench, the RSS samplers among them, for the whole upload.
 */
export async function uploadThroughGateway(file: string, metadata: Record<string, unknown>, token: string): Promise<{ requestId: string; imageUID: string }> {
  // --fail-with-body: a refused upload rejects, and its error body reaches the message.
  const { stdout } = await promisify(execFile)('curl', ['-sS', '--fail-with-body', '-X', 'POST', `${GATEWAY}/v1/uploads`, '-H', `Authorization: Bearer ${token}`,
    '-F', `metadata=${JSON.stringify(metadata)};type=application/json`, '-F', `image=@${file};type=application/x-tar`], { encoding: 'utf8', maxBuffer: 1024 * 1024 })
    .catch((error: unknown) => {
      // Not error.message: it repeats the command line, token included.
      const { code, stdout: body = '', stderr = '' } = error as { code?: number | string; stdout?: string; stderr?: string };
      throw new Error(`upload of ${file}: curl exited ${code}: ${stderr.trim()} ${body.slice(0, 2000)}`);
    });
  const answer = JSON.parse(stdout) as { requestId?: string; imageUID?: string };
  if (!answer.requestId || !answer.imageUID) throw new Error(`upload of ${file}: no request id in ${stdout.slice(0, 2000)}`);
  return { requestId: answer.requestId, imageUID: answer.imageUID };
}

/** GET /v1/requests/{id}; with `waitSeconds` the gateway holds the answer until the request has finished or the time is up. */
export async function requestStatus(requestId: string, token: string, waitSeconds = 0): Promise<{ status: string; steps: { eventType: string; at: string }[]; error?: unknown }> {
  const response = await fetch(`${GATEWAY}/v1/requests/${requestId}${waitSeconds > 0 ? `?wait=${waitSeconds}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
  await okOrThrow(response, `GET /v1/requests/${requestId}`);
  return (await response.json()) as { status: string; steps: { eventType: string; at: string }[] };
}

export const isFinished = (status: string): boolean => status === 'succeeded' || status === 'failed';

/** Long-polls the request until it has finished, the way a portal would. */
export async function waitForRequest(requestId: string, timeoutMs: number, token: string): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const waitSeconds = Math.min(30, Math.max(1, Math.ceil((deadline - Date.now()) / 1000)));
    const asked = Date.now();
    const { status } = await requestStatus(requestId, token, waitSeconds);
    if (isFinished(status)) return status;
    // A gateway shutting down answers every long poll at once: without a pause this loop would ask hundreds of times a second.
    if (Date.now() - asked < waitSeconds * 500) await sleep(250);
  }
  return 'timed out';
}

/** Throws unless the request succeeded: a failed or timed-out one has no timeline worth a ratio. */
export async function waitForSuccess(requestId: string, timeoutMs: number, token: string, what: string): Promise<void> {
  const status = await waitForRequest(requestId, timeoutMs, token);
  if (status !== 'succeeded') throw new Error(`${what} (request ${requestId}) ended ${status}`);
}

export async function requestTimeline(requestId: string, token: string): Promise<{ eventType: string; at: string }[]> {
  return (await requestStatus(requestId, token)).steps;
}
