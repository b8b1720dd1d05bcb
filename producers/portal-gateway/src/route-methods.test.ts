import { describe, expect, it } from 'vitest';
import { RouteMethods } from './route-methods.js';

describe('RouteMethods', () => {
  it('names every method of the paths a request matches, parameters and wildcards included', () => {
    const routes = new RouteMethods();
    routes.add('POST', '/v1/uploads');
    routes.add(['GET', 'HEAD'], '/v1/images/:uid');
    routes.add('POST', '/v1/images/:uid/transfers');
    routes.add('GET', '/docs/*');
    routes.add('GET', '/v1/images');
    expect(routes.of('/v1/uploads')).toEqual(['POST']);
    expect(routes.of('/v1/images/abc')).toEqual(['GET', 'HEAD']);
    expect(routes.of('/v1/images/abc/transfers')).toEqual(['POST']);
    expect(routes.of('/docs/static/index.html')).toEqual(['GET']);
    // One trailing slash is the path without it, as the router takes it (app.ts ignoreTrailingSlash).
    expect(routes.of('/v1/images/')).toEqual(['GET']);
    expect(routes.of('/v1/uploads/')).toEqual(['POST']);
    expect(routes.of('/v1/images/abc/transfers/')).toEqual(['POST']);
    expect(routes.of('/v1/images//')).toEqual([]);
    expect(routes.of('/v1/images/a/b')).toEqual([]);
    expect(routes.of('/v1/uploadsX')).toEqual([]);
  });

  it('names a method of a parameter with a pattern only for the paths its pattern takes', () => {
    const routes = new RouteMethods();
    routes.add('POST', '/v1/uploads/references');
    routes.add('DELETE', '/v1/uploads/:id(^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$)');
    expect(routes.of('/v1/uploads/references')).toEqual(['POST']);
    expect(routes.of('/v1/uploads/00000000-0000-4000-8000-000000000001')).toEqual(['DELETE']);
    expect(routes.of('/v1/uploads/nope')).toEqual([]);
  });
});
