import type { FastifyReply } from 'fastify';

/**
 * A 202 whose request is followed at `statusUrl`, with `Location` naming it too: RFC 9110 §15.3.3 leaves the monitor to
 * the answer, and clients that poll long-running operations (Azure's, AWS's, generic HTTP libraries) look for it there.
 */
export function acceptedAt(reply: FastifyReply, statusUrl: string): FastifyReply {
  return reply.code(202).header('location', statusUrl);
}
