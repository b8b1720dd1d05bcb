import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { OrbitError, type Logger } from '@orbit/lib';
import { buildApp, type GatewayDeps } from '../app.js';
import { issueLocalToken, tokenVerifier } from '../auth.js';
import type { DeployableStore, EventLogReader, ImageQuery, ImageView, RequestRecord } from '../ports.js';
import { chartedOf, chartOf, oneVersionOf, outlineOf, overviewOf, versionsPageOf } from './versions-page.js';

const notUnderTest = (): OrbitError => new OrbitError('ORBIT_ERR_NOT_UNDER_TEST', 'the upload side is not under test here');

/** HS256 settings of the gateways these tests build. */
export const ROUTE_TEST_AUTH = { secret: 'route-test-secret-0123456789abcdef', issuer: 'orbit-local', audience: 'orbit' };

/** MySQL's order of a listing: newest first, then by id; a record without a time is taken as listed. */
function newestFirst(a: RequestRecord, b: RequestRecord): number {
  const at = (record: RequestRecord): number => record.createdAt?.getTime() ?? 0;
  return at(b) - at(a) || (a.createdAt && b.createdAt ? b.requestId.localeCompare(a.requestId) : 0);
}

/**
 * A gateway for route tests on in-memory stores: ViewPort holds `image` (if
 * any) and the request store lists `uploads` as MySQL would filter them. The
 * upload side is not under test; the gateway serves no route without it.
 */
export function routeTestGateway(options: {
  uid: string; image?: ImageView; uploads?: readonly RequestRecord[]; transfers?: GatewayDeps['transfers']; corsOrigins?: readonly string[]; events?: EventLogReader; searched?: ImageQuery[]; logger?: Logger;
  /** Filled with the name of each ImageReader method a route calls, in order: what a route reads of ViewPort. */
  reads?: string[];
  /** The chart store, for the Helm repository's routes (served only with it). */
  deployables?: DeployableStore;
}): FastifyInstance {
  const uploads = options.uploads ?? [];
  const read = <T>(method: string, answer: T): T => {
    options.reads?.push(method);
    return answer;
  };
  return buildApp({
    ready: async () => true, metrics: new Registry(), verify: tokenVerifier({ kind: 'hs256', ...ROUTE_TEST_AUTH }),
    uploads: { stage: async () => { throw notUnderTest(); }, presign: async () => { throw notUnderTest(); }, find: async () => undefined, resume: async () => undefined, presignedWith: async () => undefined, discard: async () => undefined, abandon: async () => 'unknown' as const, givenUp: async () => false },
    names: { uidFor: async () => options.uid, peek: async () => options.uid },
    requests: {
      get: async (id) => uploads.find((entry) => entry.requestId === id), finishedAmong: async () => new Set(),
      list: async (query) => ({
        requests: uploads.filter((entry) => entry.owner === query.owner && entry.kind === query.kind && entry.imageUID === query.imageUID
          && (query.status === undefined || entry.status === query.status) && (query.imageVersion === undefined || entry.imageVersion === query.imageVersion))
          .toSorted(newestFirst).slice(0, query.limit),
      }),
    },
    events: options.events ?? { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: { uploadRequested: async () => undefined },
    images: {
      get: async (uid) => read('get', uid === options.uid ? options.image : undefined),
      search: async (query) => { options.searched?.push(query); return read('search', { images: [] }); },
      getVersion: async (uid, version) => read('getVersion', oneVersionOf(uid === options.uid ? options.image : undefined, version)),
      versionsPage: async (uid, page) => read('versionsPage', versionsPageOf(uid === options.uid ? options.image : undefined, page)),
      overview: async (uid, query) => read('overview', overviewOf(uid === options.uid ? options.image : undefined, query)),
      outline: async (uid, query) => read('outline', outlineOf(uid === options.uid ? options.image : undefined, query)),
      getChart: async (uid, fileName) => read('getChart', chartOf(uid === options.uid ? options.image : undefined, fileName)),
      charted: async (owner, environment) => read('charted', chartedOf(options.image ? [options.image] : [], owner, environment)),
    },
    ...(options.transfers ? { transfers: options.transfers } : {}),
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
    ...(options.deployables ? { deployables: options.deployables } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    maxUploadBytes: 1024,
  });
}

/** A bearer token of `user` with `roles`, for these gateways. */
export async function routeTestToken(user: string, roles: readonly string[] = []): Promise<string> {
  return issueLocalToken(ROUTE_TEST_AUTH, user, roles);
}
