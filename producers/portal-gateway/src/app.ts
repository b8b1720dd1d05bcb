import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import fastifyEtag from '@fastify/etag';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Registry } from 'prom-client';
import { CUT_RETRY_AFTER_SECONDS, cutAnswerOf, isRetriable, livenessAnswer, MAX_METADATA_BYTES, MysqlSilentError, OrbitError, refusedByStore, type Logger, type RegistryAllowlist, type ResolveHost } from '@orbit/lib';
import { bearerOfBasic, UnauthorizedError, type Caller, type TokenVerifier } from './auth.js';
import { BODY_PACE_WINDOW_MS, bodyTimedOut, guardBodyPace } from './body-pace.js';
import { answerClientError, awaitingAnswer } from './client-error.js';
import { clientWentAway } from './client-gone.js';
import { conditionalReads } from './conditional.js';
import { reportCutRequests } from './cut-requests.js';
import { allowBrowserOrigins, browserOriginHeaders } from './cors.js';
import { badRequest, errorBody, FORM_CUT_SHORT, ProjectionLostRefusal, RequestDeferredError, RequestRefusedError, sendError } from './errors.js';
import { formPartIsAFile } from './form-parts.js';
import { instrumentHttp } from './http-metrics.js';
import { parseJsonWithReasons } from './json-body.js';
import { completeDocument } from './openapi.js';
import { MAX_PARAM_LENGTH } from './openapi-app-answers.js';
import type { CommandPublisher, DeployableStore, EventLogReader, ImageNames, ImageReader, RequestStore, UploadClaims, UploadStore, VersionStored } from './ports.js';
import { deployableRoutes } from './routes/deployables.js';
import { HelmIndexCache, type OwnerMark } from './helm-index-cache.js';
import { helmRepositoryRoutes } from './routes/helm-repository.js';
import { imageRoutes } from './routes/images.js';
import type { Readiness } from './readiness.js';
import { loggedUrl, noteCaller, REQUEST_ID_HEADER, requestIdOf, requestLogFields } from './request-correlation.js';
import { RequestWatch } from './request-watch.js';
import { RouteMethods, unroutedAnswer } from './route-methods.js';
import { requestRoutes } from './routes/requests.js';
import { transferRoutes, type TransferClaims, type TransferPublisher } from './routes/transfers.js';
import { uploadRoutes } from './routes/uploads.js';
import type { TransferPolicy } from './transfer-rules.js';
import { UploadGivenUpError, UploadIncompleteError, UploadTooLargeError } from './staging.js';
import { DEFAULT_STREAMED_UPLOAD_LIMITS, instrumentStreamedUploads, StreamedUploads } from './streamed-uploads.js';
import { uploadBytesCounter } from './upload-metrics.js';
import { discardUnreadBody } from './unread-body.js';
import { jsonShapeProblem } from './well-formed-text.js';

/** The longest path segment the router takes (a 414 beyond): kept beside the document's 414, which says it. */
export { MAX_PARAM_LENGTH };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Paths of JSON body fields that refuse a number of 2^53 or more themselves, as one over their bound (jsonShapeProblem). */
    numbersCheckedByRoute?: readonly string[];
    /** The body holds image metadata (its own limit, 128 KiB, is named when the body is over the route's). */
    carriesMetadata?: boolean;
  }
}

/** A finite number as a query string writes one: digits, an optional fraction, no sign but minus, no exponent. */
const DECIMAL_NUMBER = /^-?\d+(\.\d+)?$/;
const DECIMAL_INTEGER = /^-?\d+$/;

/** The query parameters a route's schema types as numbers, and whether each must be whole. */
function numericQueryParameters(schema: unknown): ReadonlyMap<string, 'integer' | 'number'> {
  const found = new Map<string, 'integer' | 'number'>();
  const properties = typeof schema === 'object' && schema !== null ? (schema as { properties?: unknown }).properties : undefined;
  if (typeof properties !== 'object' || properties === null) return found;
  for (const [name, property] of Object.entries(properties)) {
    const type = typeof property === 'object' && property !== null ? (property as { type?: unknown }).type : undefined;
    if (type === 'integer' || type === 'number') found.set(name, type);
  }
  return found;
}

export interface GatewayDeps {
  /** Whether the stores it cannot serve without answer (with what each dependency answered, when known). */
  readonly ready: () => Promise<boolean | Readiness>;
  readonly metrics: Registry;
  readonly logger?: Logger;
  readonly verify?: TokenVerifier;
  readonly uploads?: UploadStore;
  readonly names?: ImageNames;
  readonly requests?: RequestStore;
  readonly events?: EventLogReader;
  readonly images?: ImageReader;
  /** Manifests and download links of what an environment holds; without it those routes are not served. */
  readonly deployables?: DeployableStore;
  /** An owner's mark in ViewPort (moves with each projector commit that changes the owner's images): an owner's Helm repository indexes are kept while it holds; without it each is rendered per request. */
  readonly ownerMark?: OwnerMark;
  /** Without it an upload of a stored version is refused only by the validator, after the whole upload. */
  readonly versionStored?: VersionStored;
  readonly publish?: CommandPublisher;
  /** One request per presigned upload, however often it is completed. */
  readonly completions?: UploadClaims;
  /** One request per Idempotency-Key an upload is sent with. */
  readonly idempotencyKeys?: UploadClaims;
  readonly publicBaseUrl?: string;
  readonly maxUploadBytes?: number;
  /** The registries references may name (ORBIT_ALLOWED_REGISTRIES); empty or absent: any. */
  readonly allowedRegistries?: RegistryAllowlist;
  /** Where Orbit pushes images (`registry/path` of ORBIT_IMAGE_REGISTRY and ORBIT_ENVIRONMENT_REGISTRIES): no reference may name them. */
  readonly ownRegistries?: readonly string[];
  readonly resolveHost?: ResolveHost;
  readonly interfaceAddresses?: ReadonlySet<string>;
  /** Milliseconds a connection may send nothing (a stalled upload) before it is answered 408 and closed (ORBIT_IDLE_TIMEOUT_SECONDS). @default 120 000 */
  readonly idleTimeoutMs?: number;
  /** Archive uploads (forms at POST /v1/uploads) one owner may stream through this gateway at once, else 429 (ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER). @default 8 */
  readonly maxStreamedUploadsPerOwner?: number;
  /** The same, every owner's together (ORBIT_MAX_STREAMED_UPLOADS). @default 32 */
  readonly maxStreamedUploads?: number;
  /** Bytes a second a request body must average over each window after its first, else 408 (ORBIT_MIN_UPLOAD_BYTES_PER_SECOND). @default 1024 */
  readonly minBodyBytesPerSecond?: number;
  /** The window that average is taken over. @default BODY_PACE_WINDOW_MS (60 000) */
  readonly bodyPaceWindowMs?: number;
  /** Browser origins allowed to call the API (ORBIT_CORS_ORIGINS); none by default. */
  readonly corsOrigins?: readonly string[];
  /** How often long polls (`GET /v1/requests/{id}?wait=`) look at the request store. @default 10 */
  readonly requestWatchIntervalMs?: number;
  readonly transfers?: { readonly claims: TransferClaims; readonly publish: TransferPublisher; readonly policy: TransferPolicy };
  /** The partitions ViewPort lost, as last seen (see ProjectionWatch); while there are any, every /v1 request is refused. */
  readonly projectionLost?: () => readonly string[];
}

/** Seconds a client is asked to wait when a store is away (MySQL restarting, say). */
const STORE_RETRY_AFTER_SECONDS = 5;
const COMMIT_UNANSWERED = 'MySQL did not answer in time while the request was being recorded, so it may have been accepted: '
  + 'look for it in GET /v1/requests before sending it again, or send it again with the same Idempotency-Key (a transfer sent again answers its earlier result)';
/** Seconds a client is asked to wait while ViewPort is rebuilt: minutes, not moments. */
const PROJECTION_RETRY_AFTER_SECONDS = 30;

/**
 * errorAnswer, and a log line for each refusal (4xx) with its code and reason:
 * the client hears why, and so can whoever runs the gateway when that client
 * asks them.
 */
function errorHandler(logger: Logger | undefined, unrouted: (request: FastifyRequest, reply: FastifyReply) => FastifyReply) {
  const answer = errorAnswer(logger, unrouted);
  return (error: FastifyError | OrbitError, request: FastifyRequest, reply: FastifyReply) => {
    // Answered 408 and logged when the gateway's timeout gave its body up: its handler failing after that is the same event.
    if (bodyTimedOut(request.raw) !== undefined) return reply;
    // Cut and answered 503 by the shutdown grace, then failed on its closed connection: reportCutRequests logs and
    // counts it as that 503, which this answer, going nowhere, keeps as its status.
    const cut = cutAnswerOf(request.raw);
    if (cut !== undefined) return sendError(reply, 503, errorBody(cut.code, cut.message));
    const answered = answer(error, request, reply);
    // A client gone before its request was read hears nothing: it is logged so, whatever it was answered, and a refusal
    // line would report a 400 that was never sent (found by a review); the metrics count it as 499 (http-metrics.ts).
    if (clientWentAway(request.raw)) {
      logger?.info({ url: loggedUrl(request), ...requestLogFields(request), reason: (error as { code?: string }).code ?? error.message }, 'client went away before its request was read; nothing was accepted');
    } else if (reply.statusCode >= 400 && reply.statusCode < 500 && !request.is404) {
      // Framework refusals are answered under one of our codes by status; their own code says more in a log. The code is
      // reasonCode too, the name the consumers' lines give it, so one query finds a request's refusal at any stage.
      const code = error instanceof OrbitError ? { code: error.code, reasonCode: error.code } : { frameworkCode: error.code };
      // A refusal recorded as a failed request answers its id: the line names it as correlationId, as the events and the error log do.
      const recorded = error instanceof RequestRefusedError && error.requestId !== undefined ? { correlationId: error.requestId, ...error.trail } : {};
      logger?.info({ status: reply.statusCode, ...code, method: request.method, url: loggedUrl(request), ...requestLogFields(request), reason: error.message, ...recorded }, 'request refused');
    }
    return answered;
  };
}

/** In bytes as people say them: 1 MiB, 128 KiB, 1000 bytes. */
function sizeInWords(bytes: number): string {
  if (bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2} MiB`;
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

/**
 * A JSON body over its route's limit, said with that limit; metadata's own only where the body carries metadata (every
 * route said "metadata is at most 128 KiB", a transfer's and a DELETE's too: found by a review).
 */
function jsonBodyTooLarge(request: FastifyRequest): string {
  const over = `the JSON body is over ${sizeInWords(request.routeOptions.bodyLimit)}`;
  return request.routeOptions.config.carriesMetadata === true ? `${over}; metadata is at most ${sizeInWords(MAX_METADATA_BYTES)} (an image goes as a multipart upload or by reference)` : over;
}

/** Maps refusals to their status with a stable code; a store that is away is a 503; anything else is a logged 500. */
function errorAnswer(logger: Logger | undefined, unrouted: (request: FastifyRequest, reply: FastifyReply) => FastifyReply) {
  return (error: FastifyError | OrbitError, request: FastifyRequest, reply: FastifyReply) => {
    // A request no route takes failed before the not-found handler ran (QUERY without a content type, say): its answer is the same.
    if (request.is404) return unrouted(request, reply);
    if (error instanceof RequestRefusedError) {
      if (error instanceof RequestDeferredError) void reply.header('retry-after', String(error.retryAfterSeconds));
      return sendError(reply, error.statusCode, errorBody(error.code, error.message, error.problems, error.requestId));
    }
    if (error instanceof UnauthorizedError) return sendError(reply.header('www-authenticate', error.wwwAuthenticate), 401, errorBody(error.code, error.message));
    if (error instanceof UploadTooLargeError) return sendError(reply, 413, errorBody(error.code, error.message));
    if (error instanceof UploadGivenUpError) return sendError(reply, 409, errorBody(error.code, error.message));
    if (error instanceof UploadIncompleteError) return sendError(reply, 409, errorBody(error.code, error.message, error.problems.map((message) => ({ field: 'parts', message }))));
    const fastifyError = error as FastifyError;
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(reply, 413, errorBody('ORBIT_ERR_BAD_REQUEST', jsonBodyTooLarge(request)));
    }
    if (fastifyError.code === 'FST_REQ_FILE_TOO_LARGE' || fastifyError.statusCode === 413) {
      return sendError(reply, 413, errorBody('ORBIT_ERR_UPLOAD_TOO_LARGE', 'the upload exceeds the size limit'));
    }
    if (fastifyError.validation) {
      // A route schema refused the request: the same code and per-field problems as every other refusal.
      const problems = fastifyError.validation.map((issue) => {
        const missing = issue.params['missingProperty'];
        const unexpected = issue.params['additionalProperty'];
        const named = typeof missing === 'string' ? missing : typeof unexpected === 'string' ? unexpected : undefined;
        const path = [partOf(fastifyError.validationContext), ...issue.instancePath.split('/').filter(Boolean), ...(named === undefined ? [] : [named])];
        return { field: path.filter(Boolean).join('.'), message: typeof unexpected === 'string' ? `unexpected field "${unexpected}"` : issue.message ?? issue.keyword };
      });
      return sendError(reply, 400, errorBody('ORBIT_ERR_BAD_REQUEST', unknownQueryParameter(fastifyError, request) ?? fastifyError.message, problems));
    }
    if (fastifyError.code === 'FST_INVALID_JSON_FIELD_ERROR') {
      // The multipart reader says no more than that: broken JSON, a prototype-poisoning key it refuses on purpose, or a part cut at 1 MiB.
      return sendError(reply, 400, errorBody('ORBIT_ERR_BAD_REQUEST', MULTIPART_JSON_REFUSAL));
    }
    if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendError(reply, 415, errorBody('ORBIT_ERR_BAD_REQUEST', unreadableContentType(request.headers['content-type'])));
    }
    if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      // Framework refusals (a wrong content type, an empty JSON body, …) keep their status, not their internal code.
      return sendError(reply, fastifyError.statusCode, errorBody('ORBIT_ERR_BAD_REQUEST', fastifyError.message));
    }
    if (error instanceof ProjectionLostRefusal) {
      return sendError(reply.header('retry-after', String(PROJECTION_RETRY_AFTER_SECONDS)), 503, errorBody(error.code, error.message));
    }
    if (clientWentAway(request.raw)) {
      // The client went away mid-body (a cancelled upload, or a half-close short of Content-Length, which the socket
      // reports as ECONNRESET): nothing was accepted and nobody hears the answer; not a fault of ours, nor a store's
      // (errorHandler logs it so).
      return sendError(reply, 400, errorBody('ORBIT_ERR_BAD_REQUEST', 'the request body ended early'));
    }
    if (error instanceof MysqlSilentError && error.outcomeUnknown) {
      // The COMMIT went out and no answer came back: MySQL may have applied it when it woke up.
      logger?.warn({ err: error, url: loggedUrl(request), ...requestLogFields(request) }, 'MySQL did not answer a commit in time; the request may have been accepted');
      return sendError(reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS)), 503, errorBody('ORBIT_ERR_STORE_UNAVAILABLE', COMMIT_UNANSWERED));
    }
    const refused = refusedByStore(error);
    if (refused) {
      // The gateway's own role lacks a permission (or its bucket is gone): an operator's to mend, said in the log with
      // the permission; the caller hears a store away, as for a MySQL grant taken away, since nothing was accepted.
      logger?.error({ err: error, url: loggedUrl(request), ...requestLogFields(request), reasonCode: refused.reasonCode }, `S3 refused the gateway: ${refused.message}`);
      return sendError(reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS)), 503, errorBody(
        'ORBIT_ERR_STORE_UNAVAILABLE', `S3 refused the gateway (${refused.reasonCode}: a permission or bucket Orbit's operators must mend); nothing was accepted: try again later`,
      ));
    }
    if (isRetriable(error)) {
      // Writes are one transaction (request row and command together), so a store that fails them leaves nothing accepted.
      logger?.warn({ err: error, url: loggedUrl(request), ...requestLogFields(request) }, 'a store did not answer; asked the client to try again');
      return sendError(reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS)), 503, errorBody(
        'ORBIT_ERR_STORE_UNAVAILABLE', `a store the gateway needs did not answer; nothing was accepted: try again in ${STORE_RETRY_AFTER_SECONDS} s`,
      ));
    }
    // After a store's outage: an S3 upload that failed may have left the form's part stream closed under it too.
    if (formCutShort(error)) {
      return sendError(reply, 400, errorBody('ORBIT_ERR_BAD_REQUEST', FORM_CUT_SHORT));
    }
    logger?.error({ err: error, method: request.method, url: loggedUrl(request), ...requestLogFields(request) }, 'request failed');
    // The id is the one the answer's X-Request-Id carries, and the one the log line names as reqId.
    return sendError(reply, 500, errorBody('ORBIT_ERR_INTERNAL', `internal error: the gateway log has it under request id ${request.id} (X-Request-Id); quote that id to whoever runs the gateway`));
  };
}

/** The first query parameter the schema takes that was given more than once (the parser makes it a list), and how many times. */
function repeatedQueryParameter(query: object, schema: unknown): { name: string; times: number } | undefined {
  const properties = typeof schema === 'object' && schema !== null ? (schema as { properties?: unknown }).properties : undefined;
  const taken = typeof properties === 'object' && properties !== null ? properties : {};
  const found = Object.entries(query).find(([name, value]) => Array.isArray(value) && Object.hasOwn(taken, name));
  return found ? { name: found[0], times: (found[1] as unknown[]).length } : undefined;
}

/**
 * A query parameter the operation does not take, said with the ones it does: Ajv says only "must NOT have additional
 * properties", and a misspelt filter (`imageUid` for `imageUID`) is read best beside the right spelling.
 */
function unknownQueryParameter(error: FastifyError, request: FastifyRequest): string | undefined {
  const unexpected = error.validationContext === 'querystring' ? error.validation?.[0]?.params['additionalProperty'] : undefined;
  if (typeof unexpected !== 'string') return undefined;
  const schema = request.routeOptions.schema?.querystring as { properties?: Record<string, unknown> } | undefined;
  const taken = Object.keys(schema?.properties ?? {});
  return `unknown query parameter "${unexpected}": ${taken.length > 0 ? `this operation takes ${taken.join(', ')} (names as written, in their letter case)` : 'this operation takes none'}`;
}

/**
 * True when the multipart parser found the body's end before the form's
 * closing boundary: it says so itself, or destroys the image part's stream
 * under whoever reads it (a premature close, maybe wrapped by the S3 upload).
 */
function formCutShort(error: unknown): boolean {
  for (let cause: unknown = error, hops = 0; cause instanceof Error && hops < 5; cause = cause.cause, hops += 1) {
    if ((cause as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE' || /unexpected end of multipart data/i.test(cause.message)) return true;
  }
  return false;
}

/**
 * The part of a request a schema refused, as `problems[].field` names it: Ajv's context for headers is `headers`, and
 * every header the app checks in code is named `header.<name>` (found by a review: one header was spelled three ways).
 */
function partOf(context: string | undefined): string | undefined {
  return context === 'headers' ? 'header' : context;
}

/** Fastify says only "Unsupported Media Type"; a client sending a bare tar needs to hear what to send instead. */
function unreadableContentType(contentType: string | undefined): string {
  return `content-type ${contentType === undefined ? '(none)' : JSON.stringify(contentType)} is not read here: send application/json, `
    + 'or multipart/form-data with the parts metadata and image to POST /v1/uploads (see /docs)';
}

/** On every answer: a browser takes a body as its Content-Type says, never as what it looks like (a JSON error as HTML). */
const NO_SNIFF = { 'x-content-type-options': 'nosniff' } as const;
/**
 * On /docs, where users paste their bearer token into Swagger UI's Authorize: no other site may frame it (clickjacking).
 * Not swagger-ui's staticCSP: its upgrade-insecure-requests breaks the page on a gateway served over plain HTTP.
 */
const NOT_FRAMED = { 'content-security-policy': "frame-ancestors 'none'", 'x-frame-options': 'DENY' } as const;
const isDocs = (url: string): boolean => url === '/docs' || /^\/docs[/?]/.test(url);

/**
 * A URL the router cannot read (bad percent-encoding, say): Orbit's answer shape, not the framework's. No hook runs
 * for it, so what the hooks add to every answer is added here: its X-Request-Id, nosniff, and the CORS headers a
 * portal's script needs to read the refusal (found by a review: the browser showed only "Failed to fetch").
 */
function frameworkRefusal(corsOrigins: readonly string[]) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    void reply.header(REQUEST_ID_HEADER, request.id).headers({ ...NO_SNIFF, ...browserOriginHeaders(corsOrigins, request.headers.origin) });
    void sendError(reply, error.statusCode ?? 400, errorBody('ORBIT_ERR_BAD_REQUEST', error.message));
  };
}

/**
 * Route schemas compiled as Fastify does, except that a JSON body is taken as
 * sent: Fastify's Ajv coerces types everywhere, so `"dryRun": "true"` was
 * true, `["v1-0-00"]` a version and `"sizeBytes": null` 0. A query string or
 * header is text, and is still read as the number or flag its schema says.
 */
function validatorsByPart(): ValidatorFactory {
  const pool = AjvCompiler();
  return (externalSchemas, options) => {
    const coercing = pool(externalSchemas, options);
    const asSent = pool(externalSchemas, { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } } as typeof options);
    return (route) => (route.httpPart === 'body' ? asSent : coercing)(route);
  };
}

/** The query of an operation that takes no parameters: none, each one sent refused naming it. */
const NO_QUERY_PARAMETERS = { type: 'object', properties: {}, additionalProperties: false } as const;

/** The HTTP application, without listening: route tests use `app.inject()`. */
export function buildApp(deps: GatewayDeps): FastifyInstance {
  const idleTimeoutMs = deps.idleTimeoutMs ?? 120_000;
  const app = Fastify({
    logger: false, bodyLimit: 1024 * 1024,
    // request.id: the caller's X-Request-Id when well formed, else a UUID (request-correlation.ts); requestIdHeader stays
    // off, as it would take any header value, unchecked, as the id.
    genReqId: requestIdOf,
    // Idle, not total: a 10 GiB upload may take an hour, but one that stops sending is given up, its staging aborted.
    connectionTimeout: idleTimeoutMs,
    // Long enough that an over-long id reaches its route's schema and gets the field at fault: 255 characters
    // (a user name, a chart file), each possibly two UTF-16 units, and then some. Under routerOptions: Fastify 5
    // takes it at the top level too, but then prints a plain-text deprecation warning (FSTDEP022) at every start.
    // A trailing slash names the resource without it: `/v1/images/` was a 400 (an empty UID), `/v1/images/{uid}/` a
    // 404 with no route, `/v1/requests/` a 400 (found by a review). One rule for every path, the Helm routes too.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: true },
    frameworkErrors: frameworkRefusal(deps.corsOrigins ?? []),
    // Answered by the hook below instead, with a code and Retry-After: Fastify's own 503 is a bare body no client can tell apart.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    // Fastify's default drops fields a schema does not name: a transfer with `"dryrun": true` (a typo) would run for real.
    ajv: { customOptions: { removeAdditional: false } },
    schemaController: { compilersFactory: { buildValidator: validatorsByPart() } },
  });
  // First of all hooks: a request is noted before anything can answer it, so a parse error after it waits for its answer.
  // Every answer, a refusal by any later hook too, names the request's id: the one its log lines carry as reqId.
  app.addHook('onRequest', async (request, reply) => {
    void reply.header(REQUEST_ID_HEADER, request.id).headers(NO_SNIFF);
    if (isDocs(request.url)) void reply.headers(NOT_FRAMED);
    awaitingAnswer(request.raw, reply.raw);
  });
  guardBodyPace(app, idleTimeoutMs, { minBytesPerSecond: deps.minBodyBytesPerSecond ?? 1024, windowMs: deps.bodyPaceWindowMs ?? BODY_PACE_WINDOW_MS, ...(deps.logger ? { logger: deps.logger } : {}) });
  const routeMethods = new RouteMethods();
  app.addHook('onRoute', (route) => {
    // Only an operation listing its query parameters refused the others: the rest took anything, and a transfer asked
    // with `?dryRun=true` promoted for real (found by a review). The Helm repository routes stay lenient (README).
    if (route.url.startsWith('/v1/') && route.schema?.querystring === undefined) route.schema = { ...route.schema, querystring: NO_QUERY_PARAMETERS };
  });
  app.addHook('onRoute', (route) => {
    // CORS's catch-all OPTIONS route only lets preflights through: it names no path, and a GET of a path no route has stays a 404.
    if (route.url !== '*') routeMethods.add(route.method, route.url);
  });
  const unrouted = unroutedAnswer(routeMethods);
  app.setErrorHandler(errorHandler(deps.logger, unrouted));
  // A request that reaches a gateway being stopped (the next one on a connection busy when SIGTERM came) is refused with
  // a code a client retries on, and the connection closed, so the retry goes to a new connection (another instance).
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });
  app.addHook('onRequest', async (request, reply) => {
    if (!closing) return;
    // Refused before the CORS plugin's hook runs (a plugin's hooks come after these): its headers are added here, or a
    // portal's script saw only "Failed to fetch" and no code to retry on.
    reply.header('connection', 'close').header('retry-after', String(CUT_RETRY_AFTER_SECONDS)).headers(browserOriginHeaders(deps.corsOrigins ?? [], request.headers.origin));
    throw new RequestRefusedError(503, 'ORBIT_ERR_SHUTTING_DOWN', 'this gateway is shutting down and takes no new requests; nothing was accepted: send it again');
  });
  allowBrowserOrigins(app, deps.corsOrigins ?? [], routeMethods);
  parseJsonWithReasons(app);
  // No route reads text: a text/plain body is a content type the API does not read (415), as any other is, not a malformed object.
  app.removeContentTypeParser('text/plain');
  // RFC 9112 §6.1: a transfer coding the server does not know is a 501; Node decodes `chunked` alone and read
  // `gzip, chunked` as if it were that (found by a probe), handing the route a gzip'd body as the one sent.
  app.addHook('onRequest', async (request) => {
    const codings = request.headers['transfer-encoding']?.split(',').map((coding) => coding.trim().toLowerCase()).filter(Boolean) ?? [];
    const unknown = codings.find((coding) => coding !== 'chunked');
    if (unknown !== undefined) {
      throw new RequestRefusedError(501, 'ORBIT_ERR_BAD_REQUEST', `Transfer-Encoding ${unknown} is not decoded here: send the body with chunked alone, or with a Content-Length`);
    }
  });
  // RFC 9110 §8.4.1: a content coding the server does not decode is a 415, not a body that seems broken.
  app.addHook('onRequest', async (request) => {
    const coding = request.headers['content-encoding']?.trim().toLowerCase();
    if (coding && coding !== 'identity') {
      throw new RequestRefusedError(415, 'ORBIT_ERR_BAD_REQUEST', `Content-Encoding ${coding} is not decoded here: send the body as it is (an image archive may itself be gzip)`);
    }
  });
  // Every JSON body, before its route's schema: text no store keeps as sent, or nesting no walk should go down, is refused, naming the field.
  app.addHook('preValidation', async (request) => {
    const problem = jsonShapeProblem(request.body, request.routeOptions.config.numbersCheckedByRoute);
    if (problem !== undefined) throw badRequest(`${problem.path} ${problem.message}`, problem.path === 'body' ? 'body' : `body.${problem.path}`);
  });
  // Ajv's coercion takes any text JavaScript reads as a number: "Infinity" and "1e400" got past `maximum` (a page of
  // Infinity rows reached MySQL as `LIMIT Infinity`, a 500), and "0x10", "1e2" or " 5" passed as 16, 100 and 5.
  // A number in a query string is written in decimal digits, as every client writes one. Checked on the text as sent,
  // before the schema: after it, `wait=1e2` was told "must be <= 50" and `wait=5e1` "decimal digits".
  app.addHook('preValidation', async (request) => {
    const query = request.query;
    if (typeof query !== 'object' || query === null) return;
    // `?wait=1&wait=2` reaches the schema as an array and was told "must be integer"; no /v1 parameter is a list.
    // Only a parameter the operation takes: an unknown one given twice is told it is unknown (the schema's answer).
    const repeated = request.routeOptions.url?.startsWith('/v1/') ? repeatedQueryParameter(query, request.routeOptions.schema?.querystring) : undefined;
    if (repeated !== undefined) throw badRequest(`query parameter "${repeated.name}" is given ${repeated.times} times: give it once`, `querystring.${repeated.name}`);
    for (const [name, type] of numericQueryParameters(request.routeOptions.schema?.querystring)) {
      const text = (query as Record<string, unknown>)[name];
      if (typeof text !== 'string') continue;
      if (type === 'integer' && !DECIMAL_INTEGER.test(text)) throw badRequest(`querystring.${name} must be a whole number in decimal digits, such as 20`, `querystring.${name}`);
      if (!DECIMAL_NUMBER.test(text)) throw badRequest(`querystring.${name} must be a number in decimal digits, such as 5 or 0.5`, `querystring.${name}`);
    }
  });
  reportCutRequests(app, instrumentHttp(app, deps.metrics, deps.projectionLost, deps.logger), deps.logger);
  const maxUploadBytes = deps.maxUploadBytes ?? 10 * 1024 ** 3;
  const streamedUploads = new StreamedUploads({
    perOwner: deps.maxStreamedUploadsPerOwner ?? DEFAULT_STREAMED_UPLOAD_LIMITS.perOwner, total: deps.maxStreamedUploads ?? DEFAULT_STREAMED_UPLOAD_LIMITS.total,
  });
  instrumentStreamedUploads(streamedUploads, deps.metrics);
  const countUploadBytes = uploadBytesCounter(deps.metrics);
  // PUBLIC_BASE_URL=https://orbit.example.com/ must not give statusUrls with `//v1`.
  const publicBase = (deps.publicBaseUrl ?? '').replace(/\/+$/, '');
  const bodyPace = { minBytesPerSecond: deps.minBodyBytesPerSecond ?? 1024, windowMs: deps.bodyPaceWindowMs ?? BODY_PACE_WINDOW_MS };
  // Held to the body-pace floor too: answered early (a 401 before the body, say), a trickle was held open for ever.
  app.addHook('onResponse', async (request, reply) => discardUnreadBody(request.raw, {
    limitBytes: maxUploadBytes + 1024 * 1024, ...bodyPace,
    onTooSlow: (bytesDropped) => deps.logger?.info({ status: reply.statusCode, reasonCode: 'BODY_TOO_SLOW', method: request.method, url: loggedUrl(request), ...requestLogFields(request), bytesDropped },
      'the rest of a body answered before it was read came slower than the floor; closed the connection'),
  }));
  app.setNotFoundHandler(unrouted);
  // Response schemas document the API; answers are written whole, never filtered down to a schema.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.register(swagger, {
    transformObject: (document) => ('openapiObject' in document ? completeDocument(document.openapiObject) : document.swaggerObject),
    openapi: {
      info: { title: 'Orbit portal gateway', version: '1.0.0', description: 'Upload, trace and transfer container images.' },
      // Generators take a document without servers to mean http://localhost; the address statusUrl names is where clients call.
      ...(publicBase ? { servers: [{ url: publicBase }] } : {}),
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          // The Helm repository routes' (helmCaller): any user name, the token as the password.
          basic: { type: 'http', scheme: 'basic', description: 'Helm repository routes only: any user name, the bearer token as the password' },
        },
      },
      security: [{ bearer: [] }],
    },
  });
  app.register(swaggerUi, {
    routePrefix: '/docs',
    // swagger-ui sends /docs/static/index.html to /docs/ by rewriting the URL's end, which a trailing slash (taken by
    // the router) or a query string keeps from matching: it redirected to itself for ever (found by a review).
    uiHooks: {
      onRequest: (request, reply, done) => {
        if (request.routeOptions.url === '/docs/static/index.html') void reply.redirect('/docs/');
        else done();
      },
    },
  });

  // Alive, and which build (orbit_build_info's labels too): which of README's upgrade notes apply to this gateway.
  app.get('/healthz', { schema: { hide: true } }, async () => livenessAnswer());
  // What a dependency said when it failed stays in the log (readinessOf logs it): /readyz is on the API's port, open to
  // anyone, and a driver's words carry internal host names, addresses and account names.
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const answer = await deps.ready();
    const ready = typeof answer === 'boolean' ? answer : answer.ready;
    const dependencies = typeof answer === 'boolean' ? undefined
      : Object.fromEntries(Object.entries(answer.dependencies).map(([name, { error: _reason, ...state }]) => [name, state]));
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', ...(dependencies ? { dependencies } : {}) });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.metrics()));

  const { verify, uploads, names, requests, events, publish } = deps;
  if (verify && uploads && names && requests && events && publish) {
    const apiCaller = (request: FastifyRequest): Promise<Caller> => verify(request.headers.authorization);
    // Chart repository clients send a user name and password (the token), and some only once challenged for them.
    const helmCaller = async (request: FastifyRequest): Promise<Caller> => {
      try {
        return await verify(bearerOfBasic(request.headers.authorization));
      } catch (error) {
        throw error instanceof UnauthorizedError ? error.offeringBasic() : error;
      }
    };
    const watch = new RequestWatch({
      finishedAmong: (ids) => requests.finishedAmong(ids), intervalMs: deps.requestWatchIntervalMs ?? 10,
      onError: (error) => deps.logger?.warn({ err: error }, 'long poll could not read request statuses; trying again'),
    });
    // Before the server waits for in-flight requests: long polls answer at once instead of holding shutdown.
    app.addHook('preClose', async () => watch.close());
    const { projectionLost } = deps;
    app.register(async (scope) => {
      if (projectionLost) {
        // Before the body is read: an upload is refused before its bytes are streamed anywhere.
        scope.addHook('onRequest', async () => {
          const lost = projectionLost();
          if (lost.length > 0) throw new ProjectionLostRefusal(lost);
        });
      }
      await scope.register(multipart, {
        // The upload routes read the metadata part as a file too (upload-metadata-part.ts METADATA_AS_FILE), to decode its bytes strictly.
        isPartAFile: formPartIsAFile,
        throwFileSizeLimit: false, limits: { files: 2, fields: 4, fieldSize: 1024 * 1024, fileSize: maxUploadBytes, parts: 6 } });
      const reach = deps.images && deps.deployables ? { images: deps.images, deployables: deps.deployables, ...(deps.transfers ? { policy: deps.transfers.policy } : {}) } : undefined;
      const indexCache = new HelmIndexCache(deps.ownerMark);
      await scope.register(async (api) => {
        // A portal's scripts revalidate what they hold (CORS lets them send If-None-Match and read ETag): each read is
        // tagged, asked again each time (it is a user's own, behind a token), and answered 304 when nothing changed.
        await api.register(fastifyEtag, { algorithm: 'sha256', replyWith304: false });
        conditionalReads(api, 'private, no-cache');
        const caller = authenticatedFirst(api, apiCaller);
        await api.register(uploadRoutes({ uploads, names, publish, versionStored: deps.versionStored, completions: deps.completions, idempotencyKeys: deps.idempotencyKeys, maxUploadBytes, streamedUploads, countUploadBytes, allowedRegistries: deps.allowedRegistries, ownRegistries: deps.ownRegistries, resolveHost: deps.resolveHost, interfaceAddresses: deps.interfaceAddresses, statusUrl: (id) => `${publicBase}/v1/requests/${id}`, completeUrl: (id) => `${publicBase}/v1/uploads/${id}/complete`, uploadUrl: (id) => `${publicBase}/v1/uploads/${id}`, logger: deps.logger }), { caller });
        await api.register(requestRoutes({ requests, events, watch, ...(deps.logger ? { logger: deps.logger } : {}), ...(deps.images && deps.transfers ? { requestReaders: { images: deps.images, policy: deps.transfers.policy } } : {}) }), { caller });
        if (deps.images) await api.register(imageRoutes({ images: deps.images, events, requests, ...(deps.transfers ? { policy: deps.transfers.policy } : {}) }), { caller });
        // The request store too: a version still uploading, or whose upload failed, answers its owner so (not-held.ts).
        if (reach) await api.register(deployableRoutes({ ...reach, requests }), { caller });
        if (deps.images && deps.transfers && deps.requests) {
          await api.register(transferRoutes({ images: deps.images, requests: deps.requests, ...deps.transfers, statusUrl: (id) => `${publicBase}/v1/requests/${id}`, logger: deps.logger }), { caller });
        }
      });
      if (reach) {
        await scope.register(async (helm) => {
          // A repository's pollers ask again and again; those that send back the ETag (curl, scripts, caching proxies;
          // the Helm CLI sends none) get a 304. Its own comparison takes If-None-Match as one tag: a list, or *, is
          // compared after it, as RFC 9110 says.
          await helm.register(fastifyEtag, { algorithm: 'sha256', replyWith304: false });
          conditionalReads(helm);
          await helm.register(helmRepositoryRoutes({ ...reach, indexCache }), { caller: authenticatedFirst(helm, helmCaller) });
        });
      }
    });
  }
  return app;
}

const MULTIPART_JSON_REFUSAL = 'a multipart part declared application/json is not valid JSON, holds a "__proto__" key or "constructor" with "prototype" '
  + '(refused: prototype poisoning), or is over 1 MiB';

/**
 * Authenticates every request of `scope` when it arrives, before its body is read or its
 * parameters checked: a caller without a valid token gets 401 and learns nothing of the route
 * (no 400 naming a field, no 415), and an unauthenticated upload streams nowhere. Handlers read
 * the same caller back without verifying the token twice.
 */
function authenticatedFirst(scope: FastifyInstance, identify: (request: FastifyRequest) => Promise<Caller>): (request: FastifyRequest) => Promise<Caller> {
  const known = new WeakMap<FastifyRequest, Promise<Caller>>();
  const callerOf = (request: FastifyRequest): Promise<Caller> => {
    let found = known.get(request);
    if (found === undefined) {
      found = identify(request);
      known.set(request, found);
    }
    return found;
  };
  scope.addHook('onRequest', async (request) => {
    // Node keeps the first of two Authorization headers and drops the other: which one a proxy added is anyone's guess.
    const sent = request.raw.rawHeaders.filter((name, index) => index % 2 === 0 && name.toLowerCase() === 'authorization').length;
    if (sent > 1) throw badRequest(`send one Authorization header, not ${sent}: which of them names the caller is not to be guessed`, 'header.authorization');
    noteCaller(request, (await callerOf(request)).actor.username);
  });
  return callerOf;
}
