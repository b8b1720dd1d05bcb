import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CHART_TYPE, ENVIRONMENT_NAMES, IMAGE_UID_PATTERN, toYamlText } from '@orbit/lib';
import { userNameProblem, type Caller } from '../auth.js';
import { badRequest, notFound } from '../errors.js';
import { matchFails, noneMatchFails, preconditionFailed, varyOn } from '../conditional.js';
import { environmentOrThrow } from '../environment-param.js';
import { chartFileName, helmIndex } from '../helm-index.js';
import { acceptsGzip, type HelmIndexCache } from '../helm-index-cache.js';
import { errors } from '../openapi.js';
import { environmentsOfVersion, type DeployableStore, type ImageReader, type ImageView, type StoredObjectRef } from '../ports.js';
import { readableEnvironments, visibleImage } from '../read-access.js';
import { chartIn } from '../version-objects.js';
import type { TransferPolicy } from '../transfer-rules.js';

type RepositoryParams = { environment: string; owner: string };

const REPOSITORY_PARAMS = {
  // Any letter case, as every other environment parameter (environmentOrThrow): `development` was a 400 here alone.
  environment: { type: 'string', minLength: 1, maxLength: 32, description: `The environment whose charts the repository holds: ${ENVIRONMENT_NAMES.join(', ')}, in any letter case` },
  owner: { type: 'string', minLength: 1, maxLength: 255, description: 'Whose images: your user name, or, with a promotion role, another owner\'s, as written (white space at an end or a control character, which no user name has, is refused 400)' },
};

/** index.yaml as Helm reads it: chart name to its versions, newest first. */
const HELM_INDEX = {
  type: 'object', required: ['apiVersion', 'entries', 'generated'],
  properties: {
    apiVersion: { type: 'string', enum: ['v1'] },
    generated: { type: 'string', format: 'date-time' },
    entries: {
      type: 'object',
      additionalProperties: {
        type: 'array',
        items: {
          type: 'object', required: ['apiVersion', 'name', 'version', 'appVersion', 'description', 'created', 'urls'],
          properties: {
            apiVersion: { type: 'string' }, name: { type: 'string' }, version: { type: 'string' }, appVersion: { type: 'string' },
            description: { type: 'string' }, created: { type: 'string', format: 'date-time' },
            digest: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the chart archive' },
            type: { type: 'string', enum: [CHART_TYPE] }, kubeVersion: { type: 'string', description: 'The Kubernetes versions the chart is for, as its Chart.yaml says' },
            annotations: { type: 'object', additionalProperties: { type: 'string' }, description: 'The chart\'s annotations: orbit/image-uid, orbit/image-digest, orbit/image-category' },
            urls: { type: 'array', items: { type: 'string', description: 'Relative to the repository URL: charts/{uid}/{chart}-{version}.tgz' } },
          },
        },
      },
    },
  },
};

/**
 * Chart repository clients send the token as a Basic password (helm repo add --username/--password, Argo CD, Flux),
 * as these routes take it; a bearer token is taken too. The API's other operations take bearer only.
 */
const HELM_SECURITY: Record<string, readonly string[]>[] = [{ bearer: [] }, { basic: [] }];

/** A poller that keeps the ETag and sends it back (curl, a script, a caching proxy; the Helm CLI does not) gets a 304 while nothing changed. */
const ETAG = { type: 'string', description: 'The index\'s entity tag: send it back as If-None-Match' };
const CHART_ETAG = { type: 'string', description: 'The chart\'s entity tag: its SHA-256 (the index\'s digest) in quotes, or, where ViewPort holds none, its stored version\'s id' };

/**
 * Refuses an owner no user can have: tokens naming a user with white space at an end or a control character are
 * refused (auth.ts). MySQL's PAD SPACE collations ignore trailing spaces, so `uni-plain%20%20` was served uni-plain's
 * index, every chart URL of which then answered 404 (found by a review).
 */
function ownerOrThrow(owner: string): void {
  const problem = userNameProblem(owner);
  if (problem === undefined) return;
  const said = problem === 'white space at an end' ? 'has white space at an end' : 'holds a control character';
  throw badRequest(`params.owner ${JSON.stringify(owner)} ${said}, which no user name has: name the repository's owner as written`, 'params.owner');
}

/** If-Match (RFC 9110 §13.1.1), evaluated before If-None-Match: a GET whose tags name nothing current is refused. */
const PRECONDITION_FAILED = { 412: { ...errors(412)[412], description: 'If-Match names no entity tag the resource has now (strong comparison; * names any): ORBIT_ERR_BAD_REQUEST, problems names header.if-match' } };

/**
 * A Helm chart repository per environment and owner, for `helm repo add`,
 * Argo CD and Flux: `/helm/{environment}/{owner}/index.yaml` lists the
 * owner's versions present in that environment whose chart is stored, and
 * each entry's URL redirects to the chart. They authenticate as chart
 * repositories do, with a user name and a password (the token). A caller
 * reads their own images in every environment, and another owner's in the
 * environments a promotion role covers, as GET /v1/images/{uid} shows them;
 * anything else looks like a repository with nothing in it.
 */
export function helmRepositoryRoutes(deps: { images: ImageReader; deployables: DeployableStore; policy?: TransferPolicy; indexCache: HelmIndexCache }) {
  return async function register(app: FastifyInstance, options: { caller: (request: FastifyRequest) => Promise<Caller> }): Promise<void> {
    /** The repository's environment, and the environments of others' images the caller reads; null when the caller may see nothing of the owner's there. */
    const accessOf = async (request: FastifyRequest<{ Params: RepositoryParams }>) => {
      const caller = await options.caller(request);
      const environment = environmentOrThrow(request.params.environment, 'params.environment');
      ownerOrThrow(request.params.owner);
      const readable = deps.policy ? readableEnvironments(caller.roles, deps.policy) : [];
      const allowed = request.params.owner === caller.actor.username || readable.includes(environment);
      return { caller, environment, readable, allowed };
    };

    const imagesOf = async (owner: string, { caller, environment, readable, allowed }: Awaited<ReturnType<typeof accessOf>>): Promise<ImageView[]> => {
      if (!allowed) return [];
      // The repository owner's versions in the environment, read for the index alone: a release manager's index scanned
      // every owner's images for the one owner's, and every version of each was read whole (found by a review).
      const images = await deps.images.charted(owner, environment);
      return images.flatMap((image) => visibleImage(image, caller.actor.username, readable) ?? []);
    };
    /** What an index the caller may see shows depends on these alone: the repository, and whether the caller is its owner or else which environments their roles read. */
    const repositoryKey = (owner: string, { caller, environment, readable }: Awaited<ReturnType<typeof accessOf>>): string =>
      JSON.stringify([environment, owner, caller.actor.username === owner ? 'owner' : [...readable].sort()]);

    app.get<{ Params: RepositoryParams }>('/helm/:environment/:owner/index.yaml', {
      schema: {
        operationId: 'helmRepositoryIndex', tags: ['charts'], params: { type: 'object', properties: REPOSITORY_PARAMS, required: ['environment', 'owner'] },
        security: HELM_SECURITY,
        headers: {
          type: 'object',
          properties: {
            'if-none-match': { type: 'string', description: 'ETags of indexes held (a list, or *): 304 when one is the index now' },
            // Honoured by the app's conditional reads (412) since before the document said so (found by a review).
            'if-match': { type: 'string', description: 'ETags the index must have (a list, or *; compared strongly): 412 when it has none of them, evaluated before If-None-Match' },
          },
        },
        summary: 'A Helm repository index of an owner\'s charts in an environment: helm repo add orbit <gateway>/helm/<environment>/<owner> --username <any> --password <token>',
        response: {
          200: { description: 'The index.yaml Helm reads', headers: { ETag: ETAG }, content: { 'application/yaml': { schema: HELM_INDEX } } },
          304: { description: 'Not Modified: If-None-Match names the index as it is now; no body', headers: { ETag: ETAG }, type: 'null' },
          ...errors(400, 401), ...PRECONDITION_FAILED,
        },
      },
    }, async (request, reply) => {
      const access = await accessOf(request);
      const render = async (emptyGenerated: string): Promise<string> => toYamlText(helmIndex(await imagesOf(request.params.owner, access), access.environment, emptyGenerated));
      // Stored, but asked again each time (an ETag answers 304 when nothing changed): it is a user's own, behind a token.
      varyOn(reply.type('application/yaml; charset=utf-8').header('cache-control', 'private, no-cache'), 'accept-encoding');
      // An index the caller may see nothing of is empty whoever the owner is: it is not kept, or made-up owners would fill the cache.
      const index = access.allowed ? await deps.indexCache.get(request.params.owner, repositoryKey(request.params.owner, access), render) : await deps.indexCache.unkept(render);
      // A thousand versions are a megabyte of YAML and a tenth of that gzip'd, for clients that ask (curl --compressed,
      // Python requests, Go's default client). Not the Helm CLI: 3.16's getter turns Go's compression off and asks for none.
      if (acceptsGzip(request.headers['accept-encoding'])) return reply.header('content-encoding', 'gzip').send(index.gzip);
      return reply.send(index.yaml);
    });

    app.get<{ Params: RepositoryParams & { uid: string; file: string } }>('/helm/:environment/:owner/charts/:uid/:file', {
      schema: {
        operationId: 'helmRepositoryChart', tags: ['charts'], security: HELM_SECURITY,
        params: { type: 'object', properties: { ...REPOSITORY_PARAMS, uid: { type: 'string', pattern: IMAGE_UID_PATTERN }, file: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['environment', 'owner', 'uid', 'file'] },
        summary: 'A chart the repository index lists: the stored chart (.tgz)',
        headers: {
          type: 'object',
          properties: {
            'if-none-match': { type: 'string', description: 'ETags of charts held (a list, or *): 304 when one is the chart' },
            'if-match': { type: 'string', description: 'ETags the chart must have (a list, or *): 412 when it has none of them' },
          },
        },
        response: {
          200: { description: 'The chart archive (a HEAD: its headers, Content-Length too, without reading the chart)', headers: { ETag: CHART_ETAG }, content: { 'application/gzip': { schema: { type: 'string', format: 'binary' } } } },
          304: { description: 'Not Modified: If-None-Match names the chart; no body', headers: { ETag: CHART_ETAG }, type: 'null' },
          ...errors(400, 401, 404), ...PRECONDITION_FAILED,
        },
      },
    }, async (request, reply) => {
      const { caller, environment, readable, allowed } = await accessOf(request);
      const { owner, uid, file } = request.params;
      // The versions of the file the URL names, not the owner's listing nor the image's every version; what the index lists,
      // no more: a version not in the environment is not in its repository.
      const image = allowed ? visibleImage(await deps.images.getChart(uid, file), caller.actor.username, readable) : undefined;
      const version = image?.owner === owner
        ? image.versions.find((candidate) => chartFileName(candidate) === file && environmentsOfVersion(candidate).includes(environment))
        : undefined;
      const served = version && chartIn(version, environment);
      if (!served) throw notFound(`chart ${file} of image ${uid} in this repository`);
      const chart = served.location;
      // Before the store is asked: a body opened and left unread would hold an S3 connection.
      const etag = chartTag(served);
      if (matchFails(request.headers['if-match'], etag)) throw preconditionFailed();
      reply.header('cache-control', 'private, no-cache');
      if (etag !== undefined) reply.header('etag', etag);
      // `*` names a chart that is there, tagged or not (RFC 9110 §13.1.2).
      if (etag === undefined ? request.headers['if-none-match']?.trim() === '*' : noneMatchFails(request.headers['if-none-match'], etag)) return reply.code(304).send();
      reply.type('application/gzip').header('content-disposition', `attachment; filename="${file}"`);
      const stored = <T>(asked: Promise<T>): Promise<T> => asked.catch((error: unknown) => {
        // Listed but gone from the store (removed by hand, a bucket restored without it): what the redirect's S3 said, a 404.
        if (['NoSuchKey', 'NoSuchVersion', 'NotFound'].includes(String((error as { name?: string }).name))) throw notFound(`chart ${file} of image ${uid} in the chart store`);
        throw error;
      });
      // Fastify answers a HEAD by running this GET: the size alone, not the chart streamed to be thrown away.
      if (request.method === 'HEAD') return headOf(reply, await stored(deps.deployables.sizeOf(chart)));
      // Sent from here, not redirected to a presigned GET: Go's HTTP client (helm, Argo CD, Flux) passes the repository's
      // Authorization on to a redirect to the same host name or a subdomain, so the store behind it was handed the
      // caller's token (MinIO beside the gateway on the local stack), and an S3 refuses a presigned GET that carries one.
      const { body, sizeBytes } = await stored(deps.deployables.read(chart));
      if (sizeBytes !== null) reply.header('content-length', sizeBytes);
      return reply.send(body);
    });
  };
}

/**
 * A chart's entity tag: its SHA-256, the digest the index lists, known before the store is asked; where ViewPort
 * holds none, the id of the stored object's version (the bytes at a version never change); else none.
 */
function chartTag(chart: { readonly location: StoredObjectRef; readonly sha256?: string }): string | undefined {
  if (chart.sha256 !== undefined) return `"${chart.sha256}"`;
  const { versionId } = chart.location;
  // An entity tag holds no quote, space or control character (RFC 9110 §8.8.3).
  return versionId !== null && /^[\x21\x23-\x7e]+$/.test(versionId) ? `"${versionId}"` : undefined;
}

/**
 * A HEAD's answer with the GET's Content-Length. Its payload is an empty stream: Fastify's HEAD handling sizes a
 * missing body as Content-Length: 0 over the one set, and drains a stream without sizing it.
 */
function headOf(reply: FastifyReply, sizeBytes: number | null): FastifyReply {
  if (sizeBytes !== null) reply.header('content-length', sizeBytes);
  return reply.send(Readable.from([]));
}
