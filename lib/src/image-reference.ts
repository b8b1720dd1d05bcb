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
const LABEL = '[A-Za-z0-9-]+';
// 1 to 65535, as a URL takes it (leading zeros are read away): :99999 was taken, and every pull of it failed on its URL.
const PORT = ':0*(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})';
// The first part names a registry only with a dot, a port, "localhost" or an IPv6 literal; a bare word would be a Docker Hub namespace.
const REGISTRY = `${LABEL}(?:\\.${LABEL})+(?:${PORT})?|${LABEL}${PORT}|localhost|\\[[0-9a-fA-F:]+\\](?:${PORT})?`;
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = 'sha256:[a-f0-9]{64}';

/** The whole grammar as one ECMAScript pattern, also published in the OpenAPI document; a tag, a digest or both. */
export const IMAGE_REFERENCE_PATTERN = `^(${REGISTRY})/(${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG})(?:@(${DIGEST}))?|@(${DIGEST}))$`;
export const IMAGE_REFERENCE_MAX_LENGTH = 512;
const REFERENCE = new RegExp(IMAGE_REFERENCE_PATTERN);

export function parseImageReference(text: string): ImageReference | undefined {
  if (text.length > IMAGE_REFERENCE_MAX_LENGTH) return undefined;
  const match = REFERENCE.exec(text.trim());
  if (!match) return undefined;
  const [, registry, repository, tag, digestAfterTag, digest] = match;
  if (!registry || !repository) return undefined;
  return { registry: canonicalRegistry(registry), repository, tag: tag ?? null, digest: digestAfterTag ?? digest ?? null };
}

/**
 * A registry as every client reaches it: host names and IPv6 literals in
 * lower case, the port without leading zeros. `127.0.0.1:05050` and
 * `Registry.Example.com` are pulled from `127.0.0.1:5050` and
 * `registry.example.com`, so a rule about registries must see those names.
 */
function canonicalRegistry(registry: string): string {
  return registry.toLowerCase().replace(/:0+(?=\d+$)/, ':');
}
