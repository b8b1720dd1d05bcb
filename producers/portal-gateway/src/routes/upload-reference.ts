import type { FastifyRequest } from 'fastify';
import { imageReferenceProblem, ownRegistryReached, registryAllowed } from '@orbit/lib';
import type { ImageMetadata } from '@orbit/schemas';
import type { Caller } from '../auth.js';
import { badRequest, RequestRefusedError } from '../errors.js';
import { parseImageReference, type ImageReference } from '../reference.js';
import { metadataSha256, referenceSha256 } from '../upload-body-digest.js';
import type { UploadAcceptance } from './upload-acceptance.js';
import { metadataOrThrow, onlyFields } from './upload-metadata-part.js';
import { senderOf, type ClaimedBy, type SentBody, type UploadAnswer, type UploadRouteDeps } from './upload-route-types.js';

/** A JSON {metadata, reference} body, checked: what it asks for, and what it is compared by under a key. */
export function referenceBody(request: FastifyRequest): { metadata: ImageMetadata; reference: ImageReference; text: string; sent: SentBody } {
  const body = request.body as { metadata?: unknown; reference?: unknown } | undefined;
  if (!body || typeof body !== 'object') throw badRequest('send JSON {metadata, reference}');
  onlyFields(body, ['metadata', 'reference']);
  const metadata = metadataOrThrow(body.metadata);
  const reference = typeof body.reference === 'string' ? parseImageReference(body.reference) : undefined;
  // A reference can parse and still name nothing Orbit reaches (a port fetch blocks): its problem is asked for either way.
  const unreachable = typeof body.reference === 'string' ? imageReferenceProblem(body.reference) : undefined;
  if (!reference || typeof body.reference !== 'string' || unreachable !== undefined) {
    const problem = typeof body.reference === 'string' ? unreachable : 'is missing: a string host[:port]/repository:tag or host/repository@sha256:<digest>';
    throw badRequest(`reference ${problem ?? 'is not one Orbit can pull'}`, 'reference');
  }
  const text = body.reference;
  return { metadata, reference, text, sent: { digest: { metadataSha256: metadataSha256(metadata), contentSha256: referenceSha256(text) }, contentIs: 'reference' } };
}

/** An upload by reference: the image pulled from an OCI registry rather than sent. */
export interface ReferenceUploads {
  /** JSON {metadata, reference}: an image pulled from an OCI registry. */
  readonly fromReference: (request: FastifyRequest, caller: Caller, claimed: ClaimedBy | undefined) => Promise<UploadAnswer>;
}

export function referenceUploads(
  deps: Pick<UploadRouteDeps, 'ownRegistries' | 'allowedRegistries' | 'resolveHost' | 'interfaceAddresses'>, acceptance: UploadAcceptance,
): ReferenceUploads {
  const { accept, uidForNewVersion } = acceptance;

  /** The hosts of Orbit's own registries: every path of them is Orbit's. */
  const ownHosts = (deps.ownRegistries ?? []).map((entry) => entry.split('/')[0] ?? entry);

  async function fromReference(request: FastifyRequest, caller: Caller, claimed: ClaimedBy | undefined): Promise<UploadAnswer> {
    const { metadata, reference, text, sent } = referenceBody(request);
    // Every owner's images are in Orbit's own registries, readable with the validator's credentials: a reference there
    // would hand the caller an image that is someone else's (or a second copy of their own, which a transfer promotes).
    // The whole host, as the validator refuses it: any repository there is read with Orbit's credentials (found by a
    // probe: another path of the host was accepted here, 202, and then refused by the validator).
    const own = await ownRegistryReached({ registry: reference.registry, repository: '' }, ownHosts, deps.resolveHost, deps.interfaceAddresses);
    if (own !== undefined) {
      throw new RequestRefusedError(403, 'ORBIT_ERR_REGISTRY_NOT_ALLOWED', `${reference.registry}/${reference.repository} is on ${own}, Orbit's own registry, where Orbit keeps the images it has and reads every repository with its own credentials: upload an image from where it was built or pushed (another registry), and promote one Orbit has with a transfer`, [{ field: 'reference', message: 'names a repository of Orbit\'s own registry' }]);
    }
    if (!registryAllowed(reference.registry, deps.allowedRegistries ?? [])) {
      throw new RequestRefusedError(403, 'ORBIT_ERR_REGISTRY_NOT_ALLOWED', `registry ${reference.registry} is not one Orbit pulls from; allowed: ${deps.allowedRegistries?.join(', ')}`, [{ field: 'reference', message: 'names a registry ORBIT_ALLOWED_REGISTRIES does not list' }]);
    }
    const sender = senderOf(request, caller);
    return accept(sender, metadata, 'REFERENCE', null, text, await uidForNewVersion(sender, metadata, claimed), claimed, sent);
  }

  return { fromReference };
}
