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
// The lookahead bounds the name (registry and repository) to IMAGE_NAME_MAX_LENGTH, as docker's grammar does.
export const IMAGE_REFERENCE_PATTERN = `^(?=.{1,255}(?::${TAG})?(?:@${DIGEST})?$)(${REGISTRY})/(${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG})(?:@(${DIGEST}))?|@(${DIGEST}))$`;
export const IMAGE_REFERENCE_MAX_LENGTH = 512;
const REFERENCE = new RegExp(IMAGE_REFERENCE_PATTERN);

/** Registry host and repository together, as docker's reference grammar bounds a name. */
export const IMAGE_NAME_MAX_LENGTH = 255;

export function parseImageReference(text: string): ImageReference | undefined {
  if (text.length > IMAGE_REFERENCE_MAX_LENGTH) return undefined;
  const match = REFERENCE.exec(text.trim());
  if (!match) return undefined;
  const [, registry, repository, tag, digestAfterTag, digest] = match;
  if (!registry || !repository || registry.length + 1 + repository.length > IMAGE_NAME_MAX_LENGTH) return undefined;
  return { registry: canonicalRegistry(registry), repository, tag: tag ?? null, digest: digestAfterTag ?? digest ?? null };
}

/**
 * Why `text` is no reference Orbit can pull, in words a user can act on
 * (one message for every mistake sent users guessing); undefined when it is one.
 */
export function imageReferenceProblem(text: string): string | undefined {
  const parsed = parseImageReference(text);
  if (parsed !== undefined) {
    const port = /:(\d+)$/.exec(parsed.registry)?.[1];
    return port !== undefined && FETCH_BLOCKED_PORTS.has(Number(port))
      ? `names port ${port}, one the Fetch standard blocks (as browsers do): no request of Orbit's can reach a registry there; serve it on another port`
      : undefined;
  }
  const trimmed = text.trim();
  if (trimmed.length > IMAGE_REFERENCE_MAX_LENGTH) return `is ${trimmed.length} characters; at most ${IMAGE_REFERENCE_MAX_LENGTH}`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) return 'starts with a URL scheme: name the registry host alone, as registry.example.com/team/app:1.0';
  const slash = trimmed.indexOf('/');
  if (slash === -1) return 'names no registry host and repository: write host[:port]/repository:tag (Docker Hub is docker.io/library/name:tag)';
  const host = trimmed.slice(0, slash);
  if (!new RegExp(`^(?:${REGISTRY})$`).test(host)) {
    // The host name is judged before the port: "my_reg.example.com:5000" was told its port 5000 was not one from 1 to 65535.
    const colon = host.lastIndexOf(':');
    const port = colon > host.lastIndexOf(']') ? host.slice(colon + 1) : null;
    const name = port === null ? host : host.slice(0, colon);
    if (port !== null || name.includes('.') || name.startsWith('[')) {
      const problem = hostNameProblem(name);
      if (problem !== undefined) return problem;
      if (port !== null) return /^\d+$/.test(port) ? `has port ${port}, not one from 1 to 65535` : `has port "${port.slice(0, 20)}", not a number from 1 to 65535`;
    }
    return `begins with "${host.slice(0, 100)}", which is no registry host (one with a dot, a port, or localhost): Orbit has no default registry (Docker Hub is docker.io/library/name:tag)`;
  }
  const rest = trimmed.slice(slash + 1);
  const at = rest.indexOf('@');
  const digest = at === -1 ? null : rest.slice(at + 1);
  const named = at === -1 ? rest : rest.slice(0, at);
  const colon = named.lastIndexOf(':');
  const tag = colon > named.lastIndexOf('/') && colon !== -1 ? named.slice(colon + 1) : null;
  const repository = tag === null ? named : named.slice(0, colon);
  if (digest !== null && !new RegExp(`^${DIGEST}$`).test(digest)) return `has digest "${digest.slice(0, 80)}", not sha256:<64 lower-case hex digits>`;
  if (!new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`).test(repository)) {
    return repository !== repository.toLowerCase()
      ? `has repository "${repository.slice(0, 100)}": repositories are lower case`
      : `has repository "${repository.slice(0, 100)}": lower-case letters and digits, joined by ".", "_", "__" or dashes, in parts between "/"`;
  }
  if (host.length + 1 + repository.length > IMAGE_NAME_MAX_LENGTH) return `names ${host}/${repository.slice(0, 40)}…, ${host.length + 1 + repository.length} characters; registries take at most ${IMAGE_NAME_MAX_LENGTH}`;
  if (tag === null && digest === null) return 'names no tag or digest: add :<tag> or @sha256:<digest> (Orbit does not assume latest)';
  if (tag !== null && !new RegExp(`^${TAG}$`).test(tag)) return `has tag "${tag.slice(0, 140)}": 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`;
  return 'does not look like host[:port]/repository:tag or host[:port]/repository@sha256:<digest>';
}

/** What is wrong with a registry's host name (the part before its port), in the words of the grammar; undefined when nothing is. */
function hostNameProblem(name: string): string | undefined {
  const shown = `"${name.slice(0, 100)}"`;
  if (name.length === 0) return 'names a port but no registry host before it';
  if (name.startsWith('[')) return /^\[[0-9a-fA-F:]+\]$/.test(name) ? undefined : `has registry host ${shown}, which is no IPv6 literal (hex digits and colons in brackets, as [::1])`;
  const character = /[^A-Za-z0-9.-]/.exec(name)?.[0];
  if (character !== undefined) return `has registry host ${shown}, which holds "${character}": a host name is letters, digits and dashes, in labels joined by dots`;
  if (name.endsWith('.')) return `has registry host ${shown}, which ends with a dot: write it without (${name.replace(/\.+$/, '')})`;
  if (name.startsWith('.') || name.includes('..')) return `has registry host ${shown}, which has an empty label (a dot first, or two together)`;
  return undefined;
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

/**
 * The Fetch standard's "bad ports" (fetch.spec.whatwg.org, port blocking), which Node's fetch refuses to connect to:
 * a registry on one is accepted as a reference and could never be pulled from (found by a walk through the README).
 */
export const FETCH_BLOCKED_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117,
  119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636,
  989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);
