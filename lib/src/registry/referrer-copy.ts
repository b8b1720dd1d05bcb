import type { Logger } from '../logger.js';
import { isInsecureRegistry, type RegistryAccess } from './access.js';
import { MAX_MANIFEST_BYTES, readCapped } from './bounded-body.js';
import { RegistryClient } from './client.js';
import { isAccessoryPredecessor, isCosignAccessoryTag } from './cosign-accessory.js';
import { credentialsFor } from './docker-hub.js';
import { MANIFEST_ACCEPT, PushRefusedError, RegistryPush, tagManifest, type PushRepository } from './push.js';
import type { CopiedManifest, FoundReferrer, ReferrerSource } from './referrer-discovery.js';
import { listReferrers, referrersOf } from './referrers.js';
import { RegistryUnavailableError } from './registry-errors.js';

/** The OCI 1.1 release candidates' artifact manifest: some referrers were written so, and must be seen to be refused by name. */
const OCI_ARTIFACT_TYPE = 'application/vnd.oci.artifact.manifest.v1+json';

/** A repository referrers are copied from or into. */
export interface ReferrerCopyEnd {
  readonly client: RegistryClient;
  /** host[:port] its distribution API answers at: the same on both ends, blobs are mounted rather than sent. */
  readonly registry: string;
  /** Its path there (what `from=` names in a mount). */
  readonly repository: string;
  /** `registry/repository` as people write it. */
  readonly name: string;
}

/** A client that may only pull from the repository, with the access configured for its registry. */
export function pullClientOf(repository: PushRepository, access: RegistryAccess, signal?: AbortSignal): RegistryClient {
  return new RegistryClient({
    registry: repository.registry, repository: repository.repository, actions: ['pull'],
    insecure: isInsecureRegistry(repository.host, access), credentials: credentialsFor(repository.host, access.credentials, repository.repository), signal,
  });
}

/** Discovery's reads, from a registry: its referrers listing (API, else tag scheme) and manifests by digest or tag. */
export function registryReferrerSource(client: RegistryClient, registry: string): ReferrerSource {
  const reader = new RegistryPush(client, registry);
  return {
    listed: (subject) => referrersOf(reader, client, subject),
    manifest: async (reference) => {
      const what = `manifest ${reference}`;
      const response = await reader.expect(await client.request(`/manifests/${reference}`, { method: 'GET', headers: { accept: `${MANIFEST_ACCEPT}, ${OCI_ARTIFACT_TYPE}` } }), [200, 404], what);
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      const deadline = AbortSignal.timeout(client.answerTimeoutMs);
      const bytes = await readCapped(response, MAX_MANIFEST_BYTES, deadline).catch((error: unknown) => {
        throw new RegistryUnavailableError(registry, deadline.aborted ? new Error(`${what} did not arrive whole within ${client.answerTimeoutMs / 1000} s`) : error, true);
      });
      if (bytes === null) throw new PushRefusedError(`${registry} holds ${what} over ${MAX_MANIFEST_BYTES} bytes; it cannot be copied`);
      return bytes;
    },
  };
}

export interface CopiedReferrers {
  /** Referrers put into the target now. */
  readonly copied: number;
  /** Referrers the target held already (a redelivery, or pushed with the image from its archive). */
  readonly alreadyThere: number;
  /** cosign tags the target has naming a later manifest than the source's (signed there besides): left as they are. */
  readonly tagsHeldByOthers: number;
  /** cosign tags moved in the target to the source's manifest, which holds what the one it named held and more (signed again at the source). */
  readonly tagsMoved: number;
  readonly blobsSent: number;
  readonly bytesSent: number;
  readonly blobsMounted: number;
}

/**
 * Puts `referrers` (as discoverReferrers found them, each after its subject)
 * into `to` byte for byte, so each keeps its digest and its `subject` still
 * names the manifest it is about; what `to` holds already is left as it is,
 * so a redelivery sends nothing. Blobs are mounted from `from` on the same
 * registry, else streamed across. Each is then made discoverable as it was
 * at the source: cosign's by their tag (moved off an earlier manifest of
 * the same tag, see tagAccessory), the others as referrers of their subject
 * (the target's referrers API lists them by itself; else the tag-scheme
 * index is added to). A refusal by either registry throws (PushRefusedError,
 * PullRefusedError), a registry failing RegistryUnavailableError.
 */
export async function copyReferrers(referrers: readonly FoundReferrer[], from: ReferrerCopyEnd, to: ReferrerCopyEnd, log: Logger): Promise<CopiedReferrers> {
  const push = new RegistryPush(to.client, to.registry);
  let copied = 0;
  const tags = { heldByOthers: 0, moved: 0, put: 0 };
  const bySubject = new Map<string, FoundReferrer[]>();
  for (const referrer of referrers) {
    if (await push.manifestAt(referrer.digest) === undefined) {
      for (const child of referrer.children) if (await push.manifestAt(child.digest) === undefined) await copyManifest(push, child, from, to);
      await copyManifest(push, referrer, from, to);
      copied += 1;
    }
    if (referrer.tag === null) bySubject.set(referrer.subject, [...bySubject.get(referrer.subject) ?? [], referrer]);
    else tags[await tagAccessory(push, to, referrer, referrer.tag, log)] += 1;
  }
  for (const [subject, about] of bySubject) {
    await listReferrers(push, to.client, subject, about.map((referrer) => ({ digest: referrer.digest, manifest: async () => referrer.bytes })));
  }
  return { copied, alreadyThere: referrers.length - copied, tagsHeldByOthers: tags.heldByOthers, tagsMoved: tags.moved, ...push.counts };
}

/**
 * Tags `referrer` in `to` as cosign tagged it at the source. cosign adds a
 * signature by moving its tag to a manifest holding the earlier ones and the
 * new: a target still naming the earlier one gets the tag moved (left
 * there, `cosign verify` in the target never saw the new signature, and
 * every later transfer left it so). A target naming a later one (signed
 * there besides) keeps it; one that has diverged (signed there instead)
 * refuses the transfer: either choice would lose a signature unsaid. An
 * image's tags are never moved (tagManifest).
 */
async function tagAccessory(push: RegistryPush, to: ReferrerCopyEnd, referrer: FoundReferrer, tag: string, log: Logger): Promise<'moved' | 'heldByOthers' | 'put'> {
  const tagged = async (): Promise<'heldByOthers' | 'put'> => (await tagManifest(push, { name: to.name, tags: [tag] }, referrer.digest, async () => referrer.bytes, log) === null ? 'heldByOthers' : 'put');
  if (!isCosignAccessoryTag(tag)) return tagged();
  const named = await push.manifestAt(tag);
  if (named === undefined || named === referrer.digest) return tagged();
  const held = await registryReferrerSource(to.client, to.registry).manifest(named);
  // Gone since the look: nothing is lost by putting the tag where it is free.
  if (held === undefined) return tagged();
  if (isAccessoryPredecessor(held, referrer.bytes)) {
    await push.putManifest(tag, referrer.bytes, referrer.digest);
    log.info({ reference: `${to.name}:${tag}`, from: named, to: referrer.digest }, 'cosign tag moved to the manifest the source holds now, which keeps what the target held');
    return 'moved';
  }
  if (isAccessoryPredecessor(referrer.bytes, held)) return tagged();
  throw new PushRefusedError(`${to.name}:${tag} names ${named}, which holds what the source's ${referrer.digest} lacks (signed in the target too?); `
    + 'moving the tag would lose those, leaving it would lose the source\'s: the referrers were not carried whole');
}

/** One manifest and the blobs it names that the target lacks, the manifest last (a registry refuses one naming blobs it lacks). */
async function copyManifest(push: RegistryPush, manifest: CopiedManifest, from: ReferrerCopyEnd, to: ReferrerCopyEnd): Promise<void> {
  for (const blob of manifest.blobs) {
    if (await push.blobSize(blob.digest) !== undefined) continue;
    if (from.registry === to.registry && await push.mountBlob(blob.digest, from.repository)) continue;
    const answer = await from.client.get(`/blobs/${blob.digest}`);
    await push.sendBlob(chunksOf(answer), blob.size, { digest: blob.digest });
  }
  await push.putManifest(manifest.digest, manifest.bytes, manifest.digest);
}

async function* chunksOf(answer: Response): AsyncGenerator<Buffer> {
  if (answer.body === null) return;
  for await (const chunk of answer.body) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
