/**
 * What the app answers around its routes, said in the API document on the operations that get it: conditional reads
 * (app.ts conditionalReads), and the refusals of hooks that run before any route (a body's coding, size, pace).
 * Generated clients read only the statuses and headers the document lists (a 304 was an error in all three probed).
 */

type Schema = Record<string, unknown>;
type Operation = Record<string, unknown>;

/**
 * The /v1 reads whose 200 keeps its ETag: the JSON (and YAML) answers of the API scope, asked again each time
 * (`private, no-cache`). Not resumeUpload nor downloadKustomization, answered `no-store`, nor the 302 redirects.
 */
export const CONDITIONAL_READS: readonly string[] = [
  'getRequest', 'listRequests', 'getImage', 'listImageEvents', 'listImageVersions', 'searchImages', 'getImageVersion', 'getManifests', 'getUpload',
];

const ETAG = {
  description: 'The answer\'s strong entity tag (a SHA-256 of its body): send it back as If-None-Match to be answered 304 while nothing changed',
  schema: { type: 'string' },
};

const CONDITION_PARAMETERS = [
  { name: 'if-none-match', in: 'header', required: false, description: 'ETags of answers held (a list, or *): 304 with no body when one is the answer now', schema: { type: 'string' } },
  { name: 'if-match', in: 'header', required: false, description: 'ETags the answer must have (a list, or *; compared strongly): 412 when it has none of them, evaluated before If-None-Match', schema: { type: 'string' } },
];

const jsonAnswer = (description: string, errorBody: Schema): Schema => ({ description, content: { 'application/json': { schema: errorBody } } });

/** If-None-Match and If-Match, the 200's ETag, a 304 and a 412, as the Helm repository's operations say them. */
export function documentConditionalRead(operation: Operation, errorBody: Schema): void {
  if (!CONDITIONAL_READS.includes(String(operation['operationId']))) return;
  const parameters = (operation['parameters'] ?? []) as { name: string; in: string }[];
  const taken = new Set(parameters.filter((parameter) => parameter.in === 'header').map((parameter) => parameter.name.toLowerCase()));
  operation['parameters'] = [...parameters, ...CONDITION_PARAMETERS.filter((parameter) => !taken.has(parameter.name))];
  const responses = (operation['responses'] ?? {}) as Record<string, { headers?: Record<string, unknown> } & Schema>;
  const ok = responses['200'];
  if (ok) ok.headers = { ETag: ETAG, ...ok.headers };
  responses['304'] ??= { description: 'Not Modified: If-None-Match names the answer as it is now; no body', headers: { ETag: ETAG } };
  responses['412'] ??= jsonAnswer('If-Match names no entity tag the answer has now (strong comparison; * names any): ORBIT_ERR_BAD_REQUEST, problems names header.if-match', errorBody);
  operation['responses'] = responses;
}

/** Methods whose body the app reads before the route runs (a GET's is never read): the body can be over its limit, or stall. */
const BODY_READ = new Set(['post', 'put', 'patch', 'delete']);

/** The longest path segment the router takes (app.ts routerOptions): a 414 beyond; an over-long id up to it is a 400 naming its field. */
export const MAX_PARAM_LENGTH = 1024;

/** Whether the operation has a path parameter: only a path with one can hold a segment over the router's limit. */
function takesPathParameter(path: string, operation: Operation): boolean {
  const parameters = (operation['parameters'] ?? []) as { in?: unknown }[];
  return path.includes('{') || parameters.some((parameter) => parameter.in === 'path');
}

/**
 * The refusals of the app's hooks: any request with a Content-Encoding (415) or a Transfer-Encoding other than chunked
 * (501), and, where a body is read, one of a type not read (415), over its limit (413) or that stopped or trickled (408).
 * Before any of them, Node's parser and the router: headers over 16 KiB (431), and where the path names something, a
 * segment of it over `maxParamLength` characters (414; found by a review: answered, but on no operation).
 */
export function documentRefusalsBeforeRoutes(method: string, operation: Operation, errorBody: Schema, path: string): void {
  const responses = (operation['responses'] ?? {}) as Record<string, unknown>;
  const readsBody = BODY_READ.has(method) || operation['requestBody'] !== undefined;
  if (takesPathParameter(path, operation)) {
    responses['414'] ??= jsonAnswer(`A path segment (an id, a version, a file name) over ${MAX_PARAM_LENGTH} characters, as sent (percent-encoded): ORBIT_ERR_BAD_REQUEST. One up to that long that is no valid id is the 400 naming its field`, errorBody);
  }
  responses['431'] ??= jsonAnswer('The request\'s headers are over 16 KiB in all (Node\'s limit): ORBIT_ERR_BAD_REQUEST, and the connection is closed after the answer', errorBody);
  if (readsBody) {
    responses['408'] ??= {
      ...jsonAnswer('The request body stopped (nothing for ORBIT_IDLE_TIMEOUT_SECONDS: BODY_IDLE) or came slower than ORBIT_MIN_UPLOAD_BYTES_PER_SECOND over a minute (BODY_TOO_SLOW): '
        + 'given up, nothing of it kept, and the connection closed; problems names body. Send it again', errorBody),
      headers: { Connection: { description: 'close: the connection is not used again', schema: { type: 'string', enum: ['close'] } } },
    };
    responses['413'] ??= jsonAnswer('The body is over its limit: 1 MiB for JSON, ORBIT_MAX_UPLOAD_BYTES for an image', errorBody);
  }
  responses['415'] ??= jsonAnswer(readsBody
    ? 'A content type or Content-Encoding this operation does not read'
    : 'A Content-Encoding on the request (any but identity): the gateway decodes none', errorBody);
  responses['501'] ??= jsonAnswer('A coding before the final chunked in Transfer-Encoding (gzip, chunked): the gateway decodes none; send the body chunked alone, or with a Content-Length. One without chunked last (gzip alone) cannot be framed and is answered 400', errorBody);
  operation['responses'] = responses;
}

/** What holds for every operation, which no operation can say: HEAD, and methods a path does not take. */
export const ABOUT_EVERY_OPERATION = ' Every GET also answers HEAD: the same status and headers (ETag, Content-Length where known), without a body. '
  + 'A method a path does not take is answered 405 (ORBIT_ERR_METHOD_NOT_ALLOWED) with an Allow header naming the methods it does; OPTIONS answers 204 with that Allow header.';
