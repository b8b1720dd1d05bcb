import { createHash } from 'node:crypto';
import { OrbitError } from '../errors.js';
import { parseImageReference } from '../image-reference.js';
import type { Logger } from '../logger.js';
import { isInsecureRegistry, type RegistryAccess } from './access.js';
import { MAX_MANIFEST_BYTES, readCapped } from './bounded-body.js';
import { RegistryClient } from './client.js';
import { PullRefusedError, RegistryUnavailableError, unavailableAnswer } from './registry-errors.js';
import { registrySays } from './registry-words.js';
import { credentialsFor, distributionAddress } from './docker-hub.js';
import { manifestMediaType, sha256Of } from './image-manifest.js';

/** A repository pushed into: where its distribution API answers, and how people write it. */
export interface PushRepository {
  /** host[:port] the distribution API is asked at. */
  readonly registry: string;
  /** The repository's path there (what `from=` names in a mount). */
  readonly repository: string;
  /** `registry/repository` as charts and people write it (before Docker Hub's renaming). */
  readonly name: string;
  /** The registry as configured: what credentials and plain HTTP are configured under. */
  readonly host: string;
}

/**
 * `registry/path/name` as a repository to push into; undefined when it names
 * no registry host (`orbit/x` alone would mean Docker Hub's, surely not meant)
 * or is not a repository name.
 */
export function pushRepositoryOf(name: string): PushRepository | undefined {
  // References without a tag or digest are not ones the parser takes: a placeholder tag makes one.
  const reference = parseImageReference(`${name}:tag`);
  if (!reference || reference.digest !== null || `${reference.registry}/${reference.repository}` !== name) return undefined;
  return { ...distributionAddress(reference.registry, reference.repository), name, host: reference.registry };
}

/** A client that may pull from and push into the repository, with the access configured for its registry. */
export function pushClientOf(target: PushRepository, access: RegistryAccess, signal?: AbortSignal): RegistryClient {
  return new RegistryClient({
    registry: target.registry, repository: target.repository, actions: ['pull', 'push'],
    insecure: isInsecureRegistry(target.host, access), credentials: credentialsFor(target.host, access.credentials, target.repository), signal,
  });
}

/** The registry refused the push for a reason waiting will not mend (401/403, 4xx, a manifest it will not take). */
export class PushRefusedError extends OrbitError {
  readonly reasonCode = 'REGISTRY_PUSH_REFUSED';
  constructor(message: string) {
    super('ORBIT_ERR_PUSH_REFUSED', message);
  }
}

/**
 * A push the registry will not take as it stands: refused outright, or (from
 * the shared client) no credentials it takes, or no such host. Anything else
 * (RegistryUnavailableError) is tried again.
 */
export function isPushRefusal(error: unknown): error is PushRefusedError | PullRefusedError {
  return error instanceof PushRefusedError || error instanceof PullRefusedError;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/**
 * The steps of a push into one repository: looks for blobs and manifests,
 * blob uploads and mounts, manifest puts; each answer the registry gives is
 * read as retriable (5xx, 429) or a refusal.
 */
export class RegistryPush {
  private blobsSent = 0;
  private bytesSent = 0;
  private blobsMounted = 0;
  /** Sizes of the blobs the repository has or was sent, by digest. */
  readonly sizes = new Map<string, number>();

  constructor(private readonly client: RegistryClient, private readonly registry: string) {}

  /** The answer when it is one of `expected`; else retriable for 5xx/429, a refusal for the rest. */
  async expect(response: Response, expected: readonly number[], what: string): Promise<Response> {
    if (expected.includes(response.status)) return response;
    if (response.status === 429 || response.status >= 500) throw await unavailableAnswer(this.registry, response, what);
    const says = await registrySays(response);
    throw new PushRefusedError(`${this.registry} refused ${what} (HTTP ${response.status}${says})`);
  }

  /** HEAD of a blob: its size when the repository has it, undefined when not. */
  async blobSize(digest: string): Promise<number | undefined> {
    const response = await this.expect(await this.client.request(`/blobs/${digest}`, { method: 'HEAD' }), [200, 404], `a look for blob ${digest}`);
    if (response.status === 404) return undefined;
    const size = Number(response.headers.get('content-length') ?? Number.NaN);
    this.sizes.set(digest, size);
    return size;
  }

  /** The digest a manifest reference names in the repository, or undefined when it names nothing. */
  async manifestAt(reference: string): Promise<string | undefined> {
    const response = await this.expect(await this.client.request(`/manifests/${reference}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } }), [200, 404], `a look for manifest ${reference}`);
    if (response.status === 404) return undefined;
    const said = response.headers.get('docker-content-digest');
    if (said) return said;
    // Some registries (registry.access.redhat.com) and proxies leave the header out, as the spec warns clients:
    // a digest names its own content, and a tag's is learnt from the bytes, or it would look like another manifest's.
    return isDigest(reference) ? reference : this.digestOfManifest(reference);
  }

  /** The sha256 of the manifest `reference` names, from its bytes; undefined when it is gone since the HEAD. */
  private async digestOfManifest(reference: string): Promise<string | undefined> {
    const what = `manifest ${reference}`;
    const response = await this.expect(await this.client.request(`/manifests/${reference}`, { method: 'GET', headers: { accept: MANIFEST_ACCEPT } }), [200, 404], what);
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    const deadline = AbortSignal.timeout(this.client.answerTimeoutMs);
    const bytes = await readCapped(response, MAX_MANIFEST_BYTES, deadline).catch((error: unknown) => {
      throw new RegistryUnavailableError(this.registry, deadline.aborted ? new Error(`${what} did not arrive whole within ${this.client.answerTimeoutMs / 1000} s`) : error, true);
    });
    if (bytes === null) throw new PushRefusedError(`${this.registry} holds ${what} over ${MAX_MANIFEST_BYTES} bytes`);
    return sha256Of(bytes);
  }

  /**
   * One blob streamed into an upload session (POST, one PATCH, PUT with the
   * digest: the way docker push does it, which every registry takes).
   * `digest`: the blob's, when its name says it; the registry checks the bytes
   * against it at the PUT, so they are not hashed here. Without one (a legacy
   * docker-archive names its layers by path) the bytes are hashed on the way
   * and `keep` decides from the digest whether the upload is committed (PUT)
   * or cancelled (DELETE).
   */
  async sendBlob(bytes: AsyncIterable<Buffer> | Iterable<Buffer>, size: number, wanted: { readonly digest: string } | { readonly keep: (digest: string) => boolean }): Promise<string | null> {
    const started = await this.expect(await this.client.request('/blobs/uploads/', { method: 'POST', headers: { 'content-length': '0' } }), [202], 'to start a blob upload');
    await started.body?.cancel();
    const session = this.client.locationFrom(started, '/blobs/uploads/');
    if (!session) throw new PushRefusedError(`${this.registry} started a blob upload without saying where (no Location)`);
    const hash = 'digest' in wanted ? undefined : createHash('sha256');
    let counted = 0;
    // S3 answers in chunks of tens of kilobytes: they go to the socket in megabytes, a write each.
    const body = async function* megabytes(): AsyncGenerator<Buffer> {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const chunk of bytes) {
        hash?.update(chunk);
        counted += chunk.length;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= SEND_CHUNK_BYTES) {
          yield Buffer.concat(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
        }
      }
      if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
    };
    const patched = await this.expect(await this.client.request(session, {
      method: 'PATCH', headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) }, body: body(),
    }), [202, 204], 'the bytes of a blob');
    await patched.body?.cancel();
    const digest = 'digest' in wanted ? wanted.digest : `sha256:${hash?.digest('hex') ?? ''}`;
    const next = this.client.locationFrom(patched, session) ?? session;
    if (counted !== size || ('keep' in wanted && !wanted.keep(digest))) {
      await this.client.request(next, { method: 'DELETE' }).then((answer) => answer.body?.cancel()).catch(() => undefined);
      if ('digest' in wanted) throw new PushRefusedError(`the archive entry of blob ${digest} holds ${counted} bytes, not ${size}`);
      return null;
    }
    const committed = new URL(next);
    committed.searchParams.set('digest', digest);
    const done = await this.expect(await this.client.request(committed.href, { method: 'PUT', headers: { 'content-length': '0' } }), [201, 204], `blob ${digest}`);
    await done.body?.cancel();
    this.blobsSent += 1;
    this.bytesSent += size;
    this.sizes.set(digest, size);
    return digest;
  }

  /**
   * Asks the registry to mount `digest` from the repository `from` (201).
   * False when it will not: it opened an upload instead (202; cancelled
   * here), or the caller may not read `from`, or `from` lacks the blob.
   */
  async mountBlob(digest: string, from: string): Promise<boolean> {
    const query = new URLSearchParams({ mount: digest, from });
    let response: Response;
    try {
      response = await this.client.request(`/blobs/uploads/?${query.toString()}`, { method: 'POST', headers: { 'content-length': '0' } });
    } catch (error) {
      // The token service would not grant a read of `from`: the blob is sent instead.
      if (error instanceof PullRefusedError) return false;
      throw error;
    }
    await response.body?.cancel();
    if (response.status === 201) {
      // Its size is needed for a docker-archive's manifest; a registry that cannot say it yet (storage behind) gets the blob sent.
      if (!this.sizes.has(digest) && await this.blobSize(digest) === undefined) return false;
      this.blobsMounted += 1;
      return true;
    }
    if (response.status === 429 || response.status >= 500) await this.expect(response, [201], `to mount blob ${digest}`);
    const session = response.status === 202 ? this.client.locationFrom(response, `/blobs/uploads/?${query.toString()}`) : null;
    if (session) await this.client.request(session, { method: 'DELETE' }).then((answer) => answer.body?.cancel()).catch(() => undefined);
    return false;
  }

  async putManifest(reference: string, manifest: Buffer, digest: string): Promise<void> {
    const response = await this.expect(await this.client.request(`/manifests/${reference}`, {
      method: 'PUT', headers: { 'content-type': manifestMediaType(manifest) }, body: manifest,
    }), [201, 204], `manifest ${digest}`);
    await response.body?.cancel();
    const stored = response.headers.get('docker-content-digest');
    if (stored && stored !== digest) throw new PushRefusedError(`${this.registry} stored manifest ${digest} as ${stored}`);
  }

  get counts(): { blobsSent: number; bytesSent: number; blobsMounted: number } {
    return { blobsSent: this.blobsSent, bytesSent: this.bytesSent, blobsMounted: this.blobsMounted };
  }
}

const SEND_CHUNK_BYTES = 1024 * 1024;

/** A manifest reference that is a digest (`sha256:<hex>`), not a tag: a tag has no colon. */
const isDigest = (reference: string): boolean => reference.includes(':');

/**
 * Tags manifest `digest` (an image, a chart) with the first of the target's
 * tags that is free or already its own, and answers that tag (null: none was,
 * and nothing was put). Tags are never moved: one naming another manifest
 * (another owner's `billing-api` 1.0.0 in the same repository) is left to
 * it, and the next is tried; a registry with immutable tags refusing a put
 * because another manifest took the tag since the look counts the same.
 */
export async function tagManifest(push: RegistryPush, target: { readonly name: string; readonly tags: readonly string[] }, digest: string, manifest: () => Promise<Buffer>, log: Logger): Promise<string | null> {
  for (const tag of target.tags) {
    const named = await push.manifestAt(tag);
    if (named === digest) return tag;
    if (named === undefined) {
      try {
        await push.putManifest(tag, await manifest(), digest);
        return tag;
      } catch (error) {
        if (!(error instanceof PushRefusedError)) throw error;
        const now = await push.manifestAt(tag);
        if (now === digest) return tag;
        if (now === undefined) throw error;
      }
    }
    log.warn({ reference: `${target.name}@${digest}`, tag }, 'the tag already names another manifest; left as it is');
  }
  return null;
}
