/**
 * An image reference as the OCI distribution API addresses it:
 * `host[:port]/repository[/more]:tag` or `...@sha256:<64 hex>`. The registry
 * host is required (no implicit Docker Hub: this pipeline pulls from the
 * registries it is pointed at).
 */
export interface ImageReference {
  readonly registry: string;
  readonly repository: string;
  readonly tag: string | null;
  readonly digest: string | null;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REFERENCE = new RegExp(
  `^((?:[A-Za-z0-9-]+\\.)*[A-Za-z0-9-]+(?::[0-9]{1,5})?|\\[[0-9a-fA-F:]+\\](?::[0-9]{1,5})?)/(${COMPONENT}(?:/${COMPONENT})*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`,
);

export function parseImageReference(text: string): ImageReference | undefined {
  if (text.length > 512) return undefined;
  const match = REFERENCE.exec(text.trim());
  if (!match) return undefined;
  const [, registry, repository, tag, digest] = match;
  if (!registry || !repository || (!tag && !digest)) return undefined;
  // A bare first component without a dot, colon or "localhost" would be a Docker Hub namespace.
  if (!/[.:[]/.test(registry) && registry !== 'localhost') return undefined;
  return { registry, repository, tag: tag ?? null, digest: digest ?? null };
}
