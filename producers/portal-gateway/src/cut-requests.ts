import type { FastifyInstance } from 'fastify';
import { cutAnswerOf, type Logger } from '@orbit/lib';
import type { CountAnswer } from './http-metrics.js';
import { loggedUrl, requestLogFields } from './request-correlation.js';

/**
 * Logs and counts, as the 503 its client heard, each request the shutdown grace cut and answered (shutdownGrace's
 * answerCut). Its connection is closed under its route, so its own answer never finishes: the onResponse hook that
 * counts every other request never ran for it, and its route failing on the closed connection was logged as a client
 * gone away, refused 400. `countAnswer` is what instrumentHttp returned.
 */
export function reportCutRequests(app: FastifyInstance, countAnswer: CountAnswer, logger: Logger | undefined): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.raw.once('close', () => {
      const cut = cutAnswerOf(request.raw);
      if (cut === undefined) return;
      // An answer that got out in the moment before its connection was closed was counted there, as a 503 (onSend below),
      // and is not counted again; the refusal is the cut's either way, the one answer its client heard.
      countAnswer(request, 503, cut.code);
      logger?.info(
        { status: 503, code: cut.code, method: request.method, url: loggedUrl(request), ...requestLogFields(request), bodyArrived: request.raw.complete },
        'request cut at shutdown: answered 503, its client is to send it again',
      );
    });
  });
  // The route's own answer after the cut follows the 503 its client took as the last (Connection: close), if it gets out at all.
  app.addHook('onSend', async (request, reply, payload) => {
    if (cutAnswerOf(request.raw) !== undefined) void reply.code(503);
    return payload;
  });
}
