import { errorCodesOf, unavailableElsewhere } from './error-codes.js';
import { PullRefusedError, RegistryUnavailableError, unavailableAnswer } from './registry-errors.js';
import { wordsOf } from './registry-words.js';

/** Whom a refused GET concerns: the registry and repository asked, and the storage a redirect led to, if one did. */
export interface RefusedGet {
  readonly registry: string;
  readonly repository: string;
  /** The host that answered when it is not the registry (where a blob redirect led); undefined for the registry's own answer. */
  readonly storage: string | undefined;
  /** The end of a refusal when Orbit holds no credentials for the registry. */
  withoutCredentials(): Promise<string>;
}

/**
 * Why a GET was not served: the host that answered, what it said, and what
 * would mend it. The registry's own words are quoted; storage a redirect led
 * to is said by its status and error code alone (see errorCodesOf).
 */
export async function refusalOf(path: string, response: Response, refused: RefusedGet): Promise<PullRefusedError | RegistryUnavailableError> {
  const { registry, repository, storage } = refused;
  const what = nameOf(`${registry}/${repository}`, path);
  if (storage !== undefined) return storageRefusal(registry, storage, what, response);
  if (response.status === 429 || response.status >= 500) return unavailableAnswer(registry, response, what);
  const { text, structured } = await wordsOf(response);
  const says = text === '' ? '' : `: ${text}`;
  // A 404's own text ("not found", a web page) adds nothing; the spec's code tells NAME_UNKNOWN from MANIFEST_UNKNOWN.
  if (response.status === 404) return new PullRefusedError('REFERENCE_NOT_FOUND', `${what} was not found${structured ? says : ''}`);
  if (response.status === 401 || response.status === 403) {
    return new PullRefusedError('REGISTRY_UNAUTHORIZED', `${registry} refused access to ${repository} (${response.status})${says}${await refused.withoutCredentials()}`);
  }
  return new PullRefusedError('REGISTRY_ERROR', `${registry} answered ${response.status} for ${path}${says}`);
}

/**
 * An answer from the storage a blob redirect led to: the registry's storage
 * misbehaving (or away, 5xx), not the registry refusing Orbit. A 401/403
 * there (asked twice, see RegistryClient.get) is no matter of Orbit's
 * credentials, which never go there.
 */
async function storageRefusal(registry: string, storage: string, what: string, response: Response): Promise<PullRefusedError | RegistryUnavailableError> {
  const at = `at ${storage}, where ${registry} redirected it`;
  const { status } = response;
  if (status === 429 || status >= 500) return unavailableElsewhere(registry, response, `${what} ${at}`);
  const says = await errorCodesOf(response);
  if (status === 404) return new PullRefusedError('REFERENCE_NOT_FOUND', `${what} was not found ${at}${says}`);
  if (status === 401 || status === 403) {
    return new PullRefusedError('REGISTRY_ERROR', `${registry} redirected ${what} to ${storage}, which refused it (${status}${says}), with a fresh redirect too: that host does not take the address the registry hands out (an expired presigned URL, storage the registry cannot read, a host wanting credentials of its own); a fault of the registry's storage, not of Orbit's credentials, which go to ${registry} only`);
  }
  return new PullRefusedError('REGISTRY_ERROR', `${registry} redirected ${what} to ${storage}, which answered ${status}${says}`);
}

/** What a path is for, as a person writes it: `registry/repo:tag`, `registry/repo@sha256:…`, or a blob of the repository. */
function nameOf(repositoryName: string, path: string): string {
  const [, kind, reference = ''] = /^\/(manifests|blobs)\/(.*)$/.exec(path) ?? [];
  if (kind === 'blobs') return `blob ${reference} of ${repositoryName}`;
  if (kind === 'manifests') return `${repositoryName}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
  return `${repositoryName}${path}`;
}
