import type { IncomingMessage } from 'node:http';

/**
 * Whether the client went away before its request was read: the connection closed short of the body (a cancelled
 * upload, or a half-close short of Content-Length). Whatever the gateway answers it then goes nowhere: the error
 * handler logs it as gone, not refused, and the metrics count it 499, not as a refusal. One decision for both (each
 * made its own, a flag the error handler set and this test in the metrics, and they could disagree).
 */
export function clientWentAway(request: IncomingMessage): boolean {
  return request.destroyed && !request.complete;
}
