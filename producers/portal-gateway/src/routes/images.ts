import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../auth.js';
import { notFound } from '../errors.js';
import type { EventLogReader, ImageReader } from '../ports.js';

/**
 * GET /v1/images/{uid}, GET /v1/images?q=&category=&environment= and the
 * image's event timeline. Callers see their own images only; another owner's
 * image answers 404 so UIDs cannot be probed.
 */
export function imageRoutes(deps: { images: ImageReader; events: EventLogReader }) {
  return async function register(app: FastifyInstance, options: { caller: (request: FastifyRequest) => Promise<Caller> }): Promise<void> {
    const ownImage = async (request: FastifyRequest<{ Params: { uid: string } }>) => {
      const caller = await options.caller(request);
      const image = await deps.images.get(request.params.uid);
      if (!image || image.owner !== caller.actor.username) throw notFound(`image ${request.params.uid}`);
      return image;
    };
    app.get<{ Params: { uid: string } }>('/v1/images/:uid', { schema: { summary: 'An image in ViewPort with its versions and environments', tags: ['images'] } }, ownImage);
    app.get<{ Params: { uid: string } }>('/v1/images/:uid/events', { schema: { summary: 'Every logged event of an image, in order', tags: ['images'] } }, async (request) => {
      const image = await ownImage(request);
      const events = await deps.events.byImageUID(image.imageUID);
      return { imageUID: image.imageUID, events };
    });
    app.get<{ Querystring: { q?: string; category?: string; environment?: string } }>('/v1/images', {
      schema: {
        summary: 'Search your images', tags: ['images'],
        querystring: { type: 'object', properties: { q: { type: 'string', maxLength: 128 }, category: { type: 'string', maxLength: 64 }, environment: { type: 'string', maxLength: 32 } } },
      },
    }, async (request) => {
      const caller = await options.caller(request);
      const { q, category, environment } = request.query;
      return { images: await deps.images.search({ owner: caller.actor.username, q, category, environment }) };
    });
  };
}
