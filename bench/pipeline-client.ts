/** Talks to the running gateway the way a user would: curl for the upload, JSON for status. */
import { execFileSync } from 'node:child_process';

const GATEWAY = process.env['ORBIT_GATEWAY_URL'] ?? 'http://127.0.0.1:8080';

export function localToken(user = 'bench'): string {
  return execFileSync(process.execPath, ['producers/portal-gateway/dist/token-cli.js', user], { encoding: 'utf8' }).trim();
}

export async function uploadThroughGateway(file: string, metadata: Record<string, unknown>, user = 'bench'): Promise<{ requestId: string; imageUID: string }> {
  const out = execFileSync('curl', ['-sS', '-f', '-X', 'POST', `${GATEWAY}/v1/uploads`, '-H', `Authorization: Bearer ${localToken(user)}`,
    '-F', `metadata=${JSON.stringify(metadata)};type=application/json`, '-F', `image=@${file};type=application/x-tar`], { encoding: 'utf8', maxBuffer: 1024 * 1024 });
  return JSON.parse(out) as { requestId: string; imageUID: string };
}

/** GET /v1/requests/{id}; with `waitSeconds` the gateway holds the answer until the request has finished or the time is up. */
export async function requestStatus(requestId: string, user = 'bench', waitSeconds = 0, token = localToken(user)): Promise<{ status: string; steps: { eventType: string; at: string }[]; error?: unknown }> {
  const response = await fetch(`${GATEWAY}/v1/requests/${requestId}${waitSeconds > 0 ? `?wait=${waitSeconds}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
  return (await response.json()) as { status: string; steps: { eventType: string; at: string }[] };
}

export const isFinished = (status: string): boolean => status === 'succeeded' || status === 'failed';

/** Long-polls the request until it has finished, the way a portal would. */
export async function waitForRequest(requestId: string, timeoutMs: number, user = 'bench', token = localToken(user)): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { status } = await requestStatus(requestId, user, Math.min(30, Math.max(1, Math.ceil((deadline - Date.now()) / 1000))), token);
    if (isFinished(status)) return status;
  }
  return 'timed out';
}

export async function requestTimeline(requestId: string, user = 'bench'): Promise<{ eventType: string; at: string }[]> {
  return (await requestStatus(requestId, user)).steps;
}
