import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../auth.js';
import { notFound } from '../errors.js';
import { errors, IMAGE_EVENTS, IMAGE_LIST, IMAGE_VIEW } from '../openapi.js';
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
    app.get<{ Params: { uid: string } }>('/v1/images/:uid', {
      schema: { operationId: 'getImage', summary: 'An image in ViewPort with its versions and environments', tags: ['images'], response: { 200: IMAGE_VIEW, ...errors(401, 404) } },
    }, ownImage);
    app.get<{ Params: { uid: string } }>('/v1/images/:uid/events', {
      schema: { operationId: 'listImageEvents', summary: 'Every logged event of an image, in order', tags: ['images'], response: { 200: IMAGE_EVENTS, ...errors(401, 404) } },
    }, async (request) => {
      const image = await ownImage(request);
      const events = await deps.events.byImageUID(image.imageUID);
      return { imageUID: image.imageUID, events };
    });
    app.get<{ Querystring: { q?: string; category?: string; environment?: string } }>('/v1/images', {
      schema: {
        operationId: 'searchImages', summary: 'Search your images', tags: ['images'],
        querystring: { type: 'object', properties: { q: { type: 'string', maxLength: 128 }, category: { type: 'string', maxLength: 64 }, environment: { type: 'string', maxLength: 32 } } },
        response: { 200: IMAGE_LIST, ...errors(400, 401) },
      },
    }, async (request) => {
      const caller = await options.caller(request);
      const { q, category, environment } = request.query;
      return { images: await deps.images.search({ owner: caller.actor.username, q, category, environment }) };
    });
  };
}
