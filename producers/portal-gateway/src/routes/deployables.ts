import Negotiator from 'negotiator';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ENVIRONMENT_NAMES, helmChartNameOf, StoredJsonError, toYamlText, type EnvironmentName } from '@orbit/lib';
import type { Caller } from '../auth.js';
import { varyOn } from '../conditional.js';
import { notFound, type RequestRefusedError } from '../errors.js';
import { environmentOrThrow } from '../environment-param.js';
import { overlayPathOf, overlayPulling, tarGzOf } from '../kustomize-tree.js';
import { DOWNLOAD_LINK, errors, KUSTOMIZE_ARCHIVE, MANIFEST_LIST, pathParams, VERSION } from '../openapi.js';
import { environmentsOfVersion, type DeployableStore, type ImageReader, type RequestStore, type StoredObjectRef } from '../ports.js';
import { chartFileName } from '../helm-index.js';
import { archiveDownloadOf, chartIn, copyIn, versionShownTo } from '../version-objects.js';
import { imageSeenBy } from './visible-image.js';
import { imageNotHeld, isNotFound, versionNotHeld } from './not-held.js';
import type { TransferPolicy } from '../transfer-rules.js';

type VersionRequest = FastifyRequest<{ Params: { uid: string; version: string }; Querystring: { environment?: string } }>;

const VERSION_PARAMS = pathParams('uid', 'version');
const ENVIRONMENT_QUERY = {
  type: 'object', additionalProperties: false,
  properties: { environment: { type: 'string', maxLength: 32, default: 'Development', description: `One the version is in: ${ENVIRONMENT_NAMES.join(', ')}` } },
};
const CHART_QUERY = {
  type: 'object', additionalProperties: false,
  properties: {
    environment: {
      type: 'string', maxLength: 32,
      description: `One the version is in (${ENVIRONMENT_NAMES.join(', ')}): the chart that environment serves, which pulls from its own registry when it has one; without it, the version's chart`,
    },
  },
};
const REDIRECT = {
  302: { description: 'Location: a presigned GET of the object, valid for 15 minutes; follow it without the bearer token. X-Checksum-Sha256 and Repr-Digest: the object\'s SHA-256 as ViewPort recorded it, when it holds one, to check the download by', type: 'null' },
};
/** The download's answers: the 302 by default, the link as JSON when the client prefers application/json. */
const DOWNLOAD = {
  ...REDIRECT,
  200: { ...DOWNLOAD_LINK, description: 'With Accept: application/json preferred (over text/html, and */* only at a lower q: axios sends "application/json, text/plain, */*" and gets the 302): the same link as data, for a browser app, which can neither read a 302\'s Location nor follow it to a download of its own' },
};
/** Said in a download operation's summary: how a browser app gets the link. */
const LINK_AS_JSON = '; with Accept: application/json, 200 with the link (url, expiresAt, fileName, sizeBytes, sha256) instead';

/**
 * Whether a download's client would rather have the link as JSON than be redirected: application/json is what it
 * prefers most (RFC 9110 §12.5.1 q-values; at an equal q the type named first). `*\/*`, a browser's text/html
 * first, or no Accept keeps the 302, which curl -L, helm and a link all follow.
 */
export function linkAsJson(accept: string | undefined): boolean {
  if (accept === undefined || takesAnythingFully(accept)) return false;
  return new Negotiator({ headers: { accept } }).mediaTypes()[0]?.toLowerCase() === 'application/json';
}

/**
 * Whether Accept takes `*\/*` at full weight beside what it names: axios sends `application/json, text/plain, *\/*` on
 * every request, and its download of an archive got the link's JSON saved as the .tar (found by a reread). A client
 * asking for the link as data says so by naming application/json alone, or `*\/*` at a lower q.
 */
function takesAnythingFully(accept: string): boolean {
  return accept.split(',').some((range) => {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    if (type !== '*/*') return false;
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    return q === undefined || Number(q.slice(2)) >= 1;
  });
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** A SHA-256 as ViewPort keeps it (64 lower-case hex digits), or null for anything else (not kept, or another form). */
const sha256OrNull = (value: unknown): string | null => (typeof value === 'string' && SHA256_HEX.test(value) ? value : null);
/** The SHA-256 of an environment's copy of the archive: the upload's in Development, the promotion's copy's elsewhere. */
function archiveSha256In(version: Readonly<Record<string, unknown>>, environment: EnvironmentName): string | null {
  if (environment === 'Development') return sha256OrNull(version['sha256']);
  const promotions = version['promotions'];
  const promotion = typeof promotions === 'object' && promotions !== null ? (promotions as Record<string, unknown>)[environment] : undefined;
  return typeof promotion === 'object' && promotion !== null ? sha256OrNull((promotion as Record<string, unknown>)['sha256']) : null;
}
/**
 * The download's digest headers, from the SHA-256 ViewPort recorded: Artifactory's X-Checksum-Sha256 (curl, JFrog's CLI
 * and repository managers read it) and RFC 9530's Repr-Digest. The only SHA-256 a client saw was S3's
 * x-amz-meta-orbit-sha256, user metadata anyone who may write the bucket can forge (found by a review). None when
 * ViewPort holds none: a header naming nothing is no check.
 */
function digestHeaders(sha256: string | null): Readonly<Record<string, string>> {
  if (sha256 === null) return {};
  return { 'x-checksum-sha256': sha256, 'repr-digest': `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:` };
}
/** What the store calls an object (or its version) that is not there: HeadObject's 404 has no body, so the SDK says NotFound. */
const isMissingObject = (error: unknown): boolean => ['NoSuchKey', 'NoSuchVersion', 'NotFound'].includes(String((error as { name?: unknown } | null)?.name));

/** Media types a client may ask manifests as YAML with (kubectl apply -f - reads either). */
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** Kubernetes reads a JSON List as it reads a YAML stream, so either answer can be piped into `kubectl apply -f -`. */
export function manifestsAs(manifests: readonly unknown[], accept: string | undefined): { type: string; body: string } {
  // Ranked as RFC 9110 §12.5.1 says (q-values, q=0 refusing, the more specific range winning); JSON when nothing offered is acceptable.
  const chosen = new Negotiator({ headers: accept === undefined ? {} : { accept } }).mediaType(['application/json', ...YAML_TYPES]);
  if (chosen !== undefined && YAML_TYPES.includes(chosen)) {
    return { type: 'application/yaml; charset=utf-8', body: manifests.map((object) => `---\n${toYamlText(object)}`).join('') };
  }
  return { type: 'application/json; charset=utf-8', body: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }) };
}

/**
 * GET /v1/images/{uid}/versions/{version}, and its /manifests, /kustomize,
 * /archive and /chart: a version, and what an environment deploys of it. Manifests are that environment's
 * (its kustomize table: its namespace, labels, replica bounds); the archive
 * is the environment's own copy, at the S3 version its promotion made; the
 * chart is the one packaged for the version, or for the environment when it
 * pulls from a registry of its own. The caller reads what
 * GET /v1/images/{uid} shows them: all of their own images, and of anyone
 * else's the environments a promotion role lets them read. A version ViewPort
 * does not hold answers its owner, as the image does, 404 IMAGE_NOT_READY or
 * IMAGE_UPLOAD_FAILED naming its upload (when `requests` is given).
 */
export function deployableRoutes(deps: { images: ImageReader; deployables: DeployableStore; requests?: Pick<RequestStore, 'list'>; policy?: TransferPolicy }) {
  return async function register(app: FastifyInstance, options: { caller: (request: FastifyRequest) => Promise<Caller> }): Promise<void> {
    /**
     * The 404 of a version the caller does not see, or of its image: to the owner, why ViewPort does not hold it yet (its
     * upload under way, or failed), as GET /v1/images/{uid} answers; the version is what a client polls after a 202.
     */
    const notHeldAnswer = async (caller: Caller, uid: string, imageVersion: string, missing: RequestRefusedError, imageHeld: boolean): Promise<RequestRefusedError> => {
      if (!deps.requests) return missing;
      const owner = caller.actor.username;
      return (await versionNotHeld(deps.requests, owner, uid, imageVersion))
        // An image ViewPort does not hold at all is not ready (or failed) whichever version is asked for.
        ?? (imageHeld ? undefined : await imageNotHeld(deps.requests, owner, uid)) ?? missing;
    };
    const versionOf = async (request: VersionRequest) => {
      const caller = await options.caller(request);
      const { uid, version: imageVersion } = request.params;
      const { image, readable } = await imageSeenBy(deps.images, caller, uid, deps.policy, imageVersion).catch(async (error: unknown) => {
        throw isNotFound(error) ? await notHeldAnswer(caller, uid, imageVersion, error, false) : error;
      });
      const version = image.versions.find((candidate) => candidate['imageVersion'] === imageVersion);
      if (!version) throw await notHeldAnswer(caller, uid, imageVersion, notFound(`version ${imageVersion} of image ${uid}`), true);
      const owned = image.owner === caller.actor.username;
      const mayRead = (environment: EnvironmentName): boolean => owned || readable.includes(environment);
      return { image, version, imageVersion, mayRead, owned };
    };
    const environmentOf = async (request: VersionRequest) => {
      const found = await versionOf(request);
      const environment = environmentOrThrow(request.query.environment ?? 'Development', 'querystring.environment');
      if (!environmentsOfVersion(found.version).includes(environment) || !found.mayRead(environment)) {
        throw notFound(`version ${found.imageVersion} of image ${request.params.uid} in ${environment}`);
      }
      return { ...found, environment };
    };
    const ownChartOf = async (request: VersionRequest) => {
      const found = await versionOf(request);
      if (!found.mayRead('Development')) throw notFound(`version ${found.imageVersion} of image ${request.params.uid} in Development`);
      return { ...found, environment: undefined };
    };
    /**
     * A presigned GET of `object`: a 302 to it, or with Accept: application/json the link as data. Either is no-store
     * (the link is a credential for 15 minutes) and varies on Accept. The size is asked of the store only for the JSON:
     * the object at its version, so what the link downloads. The 302 carries the SHA-256 ViewPort recorded (the JSON's
     * sha256), for a client to check the download by.
     */
    const download = async (request: FastifyRequest, reply: FastifyReply, object: StoredObjectRef, fileName: string, link: { contentType?: string; sha256: string | null }) => {
      varyOn(reply.header('cache-control', 'no-store'), 'accept');
      if (!linkAsJson(request.headers.accept)) {
        const signed = await deps.deployables.downloadUrl(object, fileName, link.contentType);
        return reply.headers({ 'x-orbit-link-expires': signed.expiresAt, ...digestHeaders(link.sha256) }).redirect(signed.url, 302);
      }
      const [signed, sizeBytes] = await Promise.all([
        deps.deployables.downloadUrl(object, fileName, link.contentType),
        deps.deployables.sizeOf(object).catch((error: unknown) => {
          throw isMissingObject(error) ? notFound(`${fileName} in the store (${object.bucket}/${object.key})`) : error;
        }),
      ]);
      return reply.send({ url: signed.url, expiresAt: signed.expiresAt, fileName, sizeBytes, sha256: link.sha256 });
    };

    app.get('/v1/images/:uid/versions/:version', {
      schema: {
        operationId: 'getImageVersion', tags: ['images'], params: VERSION_PARAMS,
        summary: 'One version of an image with its ViewPort facts, as GET /v1/images/{uid} lists it',
        response: { 200: VERSION, ...errors(400, 401, 404) },
      },
    }, async (request: VersionRequest) => {
      const { version, owned } = await versionOf(request);
      // Said as null rather than left out when ViewPort holds none: the version was stored before Orbit read them, which
      // is not an image without labels (an empty list says that).
      return { ...versionShownTo(version, owned), labels: version['labels'] ?? null };
    });

    app.get('/v1/images/:uid/versions/:version/manifests', {
      schema: {
        operationId: 'getManifests', tags: ['images'], params: VERSION_PARAMS, querystring: ENVIRONMENT_QUERY,
        summary: 'The Kubernetes manifests an environment deploys of a version: a JSON List, or a YAML stream with Accept: application/yaml; either pipes into kubectl apply -f -',
        response: { 200: MANIFEST_LIST, ...errors(400, 401, 404) },
      },
    }, async (request: VersionRequest, reply) => {
      const { image, imageVersion, environment } = await environmentOf(request);
      const manifests = await deps.deployables.manifests(environment, helmChartNameOf(image.imageUID, imageVersion));
      // ViewPort lists an environment only once its chart row is written; a row gone since is what transfers:reconcile repairs.
      if (!manifests) throw notFound(`manifests of version ${imageVersion} of image ${image.imageUID} in ${environment} (run transfers:reconcile)`);
      const answer = manifestsAs(manifests, request.headers.accept);
      return varyOn(reply.type(answer.type), 'accept').send(answer.body);
    });

    app.get('/v1/images/:uid/versions/:version/kustomize', {
      schema: {
        operationId: 'downloadKustomization', tags: ['images'], params: VERSION_PARAMS, querystring: ENVIRONMENT_QUERY,
        summary: 'The Kustomize base and an environment\'s overlay of a version, as a .tar.gz: curl … | tar xz, then kubectl apply -k <chart name>/overlays/<environment> (what /manifests answers, built by kustomize)',
        response: { 200: KUSTOMIZE_ARCHIVE, ...errors(400, 401, 404) },
      },
    }, async (request: VersionRequest, reply) => {
      const { image, version, imageVersion, environment } = await environmentOf(request);
      const helmChartName = helmChartNameOf(image.imageUID, imageVersion);
      const tree = await deps.deployables.kustomization(environment, helmChartName);
      if (!tree) throw notFound(`the Kustomize tree of version ${imageVersion} of image ${image.imageUID} in ${environment} (run transfers:reconcile)`);
      const overlay = overlayPathOf(environment);
      const written = tree.files.get(overlay);
      if (written === undefined) throw new StoredJsonError(`the Kustomize tree of ${helmChartName} holds no ${overlay}`);
      const uploadPin = typeof version['imageReference'] === 'string' ? version['imageReference'] : null;
      const files = new Map([...tree.files, [overlay, overlayPulling(written, uploadPin, tree.imageReference)]]);
      const folder = typeof version['chartName'] === 'string' ? version['chartName'] : helmChartName;
      return reply.type('application/gzip').header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="${folder}-${imageVersion}-${environment.toLowerCase()}-kustomize.tar.gz"`)
        .send(await tarGzOf(folder, files));
    });

    app.get('/v1/images/:uid/versions/:version/archive', {
      schema: {
        operationId: 'downloadArchive', tags: ['images'], params: VERSION_PARAMS, querystring: ENVIRONMENT_QUERY,
        summary: `Redirects to the stored image archive of an environment (docker load / skopeo copy it), pinned to the S3 version that environment holds${LINK_AS_JSON}`,
        response: { ...DOWNLOAD, ...errors(400, 401, 404) },
      },
    }, async (request: VersionRequest, reply) => {
      const { image, version, imageVersion, environment } = await environmentOf(request);
      const copy = copyIn(version, environment);
      if (!copy) throw notFound(`the location of the ${environment} copy of version ${imageVersion} (promoted before ViewPort kept the locations of copies)`);
      const archive = archiveDownloadOf(version);
      return download(request, reply, copy, `${image.imageName}-${imageVersion}${archive.suffix}`, { contentType: archive.contentType, sha256: archiveSha256In(version, environment) });
    });

    app.get('/v1/images/:uid/versions/:version/chart', {
      schema: {
        operationId: 'downloadChart', tags: ['images'], params: VERSION_PARAMS, querystring: CHART_QUERY,
        summary: `Redirects to the packaged Helm chart (.tgz) of a version, or the one an environment serves; helm install takes the link${LINK_AS_JSON}`,
        response: { ...DOWNLOAD, ...errors(400, 401, 404) },
      },
    }, async (request: VersionRequest, reply) => {
      // Without an environment, the version's own chart, as before environments could pull from registries of their own:
      // the upload's, in Development, so for those who may read Development (a release-manager asking so got it).
      const { version, imageVersion, environment } = request.query.environment === undefined ? await ownChartOf(request) : await environmentOf(request);
      const chart = chartIn(version, environment ?? 'Development');
      if (!chart) throw notFound(`the chart of version ${imageVersion} (not generated yet, or the version failed)`);
      return download(request, reply, chart.location, chartFileName(version) ?? `${imageVersion}.tgz`, { sha256: chart.sha256 ?? null });
    });
  };
}
