import { headOf } from './code-point.js';

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
// A host label as docker's grammar has it: no hyphen first or last ("-a.b" was taken, and its pull failed on DNS).
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
// 1 to 65535, as a URL takes it (leading zeros are read away): :99999 was taken, and every pull of it failed on its URL.
const PORT = ':0*(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})';
const H16 = '[0-9a-fA-F]{1,4}';
/**
 * An IPv6 address in hex and colons (RFC 4291 §2.2 without a dotted IPv4 tail, which docker's grammar has no room for
 * either), as RE2 takes it: docker's own `[0-9a-fA-F:]+` took "[6]" and "[1:2:3]", which no URL can hold, so the
 * validator's every pull of them threw, and each such upload ended in the dead-letter queue (found by a review).
 */
const IPV6 = [
  `(?:${H16}:){7}${H16}`, `(?:${H16}:){1,7}:`, `(?:${H16}:){1,6}:${H16}`, `(?:${H16}:){1,5}(?::${H16}){1,2}`, `(?:${H16}:){1,4}(?::${H16}){1,3}`,
  `(?:${H16}:){1,3}(?::${H16}){1,4}`, `(?:${H16}:){1,2}(?::${H16}){1,5}`, `${H16}:(?::${H16}){1,6}`, `:(?::${H16}){1,7}`, '::',
].join('|');
// The first part names a registry only with a dot, a port, "localhost" or an IPv6 literal; a bare word would be a Docker Hub namespace.
const REGISTRY = `${LABEL}(?:\\.${LABEL})+(?:${PORT})?|${LABEL}${PORT}|localhost|\\[(?:${IPV6})\\](?:${PORT})?`;
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = 'sha256:[a-f0-9]{64}';

/**
 * The whole grammar as one ECMAScript pattern, also published in the OpenAPI document; a tag, a digest or both.
 * parseImageReference asks one thing more, which no RE2 pattern says: that a URL can name the host (urlCanName).
 */
// The lookahead bounds the name (registry and repository) to IMAGE_NAME_MAX_LENGTH, as docker's grammar does.
export const IMAGE_REFERENCE_PATTERN = `^(?=.{1,255}(?::${TAG})?(?:@${DIGEST})?$)(${REGISTRY})/(${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG})(?:@(${DIGEST}))?|@(${DIGEST}))$`;
export const IMAGE_REFERENCE_MAX_LENGTH = 512;
const REFERENCE = new RegExp(IMAGE_REFERENCE_PATTERN);

/** Registry host and repository together, as docker's reference grammar bounds a name. */
export const IMAGE_NAME_MAX_LENGTH = 255;

/**
 * Whether a URL can have `registry` (host[:port]) as its host, as every request of a pull has. The WHATWG parser
 * reads a host whose last label is a number as an IPv4 address ("reg.5000", "10.0.0.256" are none) and decodes
 * "xn--" labels (a bad one is no host): the grammar took those, and the validator's pull of them threw.
 */
function urlCanName(registry: string): boolean {
  return URL.canParse(`https://${registry}/`);
}

export function parseImageReference(text: string): ImageReference | undefined {
  if (text.length > IMAGE_REFERENCE_MAX_LENGTH) return undefined;
  const match = REFERENCE.exec(text.trim());
  if (!match) return undefined;
  const [, registry, repository, tag, digestAfterTag, digest] = match;
  if (!registry || !repository || registry.length + 1 + repository.length > IMAGE_NAME_MAX_LENGTH) return undefined;
  if (!urlCanName(registry)) return undefined;
  return { registry: canonicalRegistry(registry), repository, tag: tag ?? null, digest: digestAfterTag ?? digest ?? null };
}

/**
 * A reference with a registry login in it (`robot:ghp_…@ghcr.io/team/app:1`, a paste from a URL or a `docker login`):
 * said without quoting any of it, since this message is answered and logged (the host and port messages quoted the
 * text before the first "/", token and all; found by a review).
 */
const CREDENTIALS_IN_REFERENCE = 'names credentials before its registry host (user:password@host), which Orbit never takes in a reference: '
  + 'send host[:port]/repository:tag alone (Orbit\'s operators give it the registry\'s credentials), and change that password or token if it was a real one';

/** What follows a digest's "@": an algorithm Orbit (or any registry) knows. */
const DIGEST_AFTER_AT = /^(?:sha256|sha384|sha512|blake3):/i;

/**
 * Whether a reference that does not parse holds a login: an "@" (not a digest's) in its host part, or one followed by
 * a host and path, or, where what comes before the first "/" is no registry host, by something with a dot or a port.
 * Tokens and secret keys hold "/", ":" and "@" too, so no one place tells (`AKIA…:wJal/K7…@registry.example.com:5000`
 * was quoted back as a bad port, found by a reread); the messages after this one quote the text before the first "/".
 */
function namesCredentials(text: string): boolean {
  const slash = text.indexOf('/');
  const head = slash === -1 ? text : text.slice(0, slash);
  const registryHost = new RegExp(`^(?:${REGISTRY})$`).test(head);
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    const after = text.slice(at + 1);
    if (DIGEST_AFTER_AT.test(after)) continue;
    if (slash === -1 || at < slash || after.includes('/')) return true;
    if (!registryHost && /[.:]/.test(after)) return true;
  }
  return false;
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
  if (namesCredentials(trimmed)) return CREDENTIALS_IN_REFERENCE;
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
      if (port !== null) return /^\d+$/.test(port) ? `has port ${port}, not one from 1 to 65535` : `has port "${headOf(port, 20)}", not a number from 1 to 65535`;
    }
    return `begins with "${headOf(host, 100)}", which is no registry host (one with a dot, a port, or localhost): Orbit has no default registry (Docker Hub is docker.io/library/name:tag)`;
  }
  const unnamed = urlHostProblem(host);
  if (unnamed !== undefined) return unnamed;
  const rest = trimmed.slice(slash + 1);
  const at = rest.indexOf('@');
  const digest = at === -1 ? null : rest.slice(at + 1);
  const named = at === -1 ? rest : rest.slice(0, at);
  const colon = named.lastIndexOf(':');
  const tag = colon > named.lastIndexOf('/') && colon !== -1 ? named.slice(colon + 1) : null;
  const repository = tag === null ? named : named.slice(0, colon);
  if (digest !== null && !new RegExp(`^${DIGEST}$`).test(digest)) return `has digest "${headOf(digest, 80)}", not sha256:<64 lower-case hex digits>`;
  if (!new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`).test(repository)) {
    return repository !== repository.toLowerCase()
      ? `has repository "${headOf(repository, 100)}": repositories are lower case`
      : `has repository "${headOf(repository, 100)}": lower-case letters and digits, joined by ".", "_", "__" or dashes, in parts between "/"`;
  }
  if (host.length + 1 + repository.length > IMAGE_NAME_MAX_LENGTH) return `names ${host}/${headOf(repository, 40)}…, ${host.length + 1 + repository.length} characters; registries take at most ${IMAGE_NAME_MAX_LENGTH}`;
  if (tag === null && digest === null) return 'names no tag or digest: add :<tag> or @sha256:<digest> (Orbit does not assume latest)';
  if (tag !== null && !new RegExp(`^${TAG}$`).test(tag)) return `has tag "${headOf(tag, 140)}": 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`;
  return 'does not look like host[:port]/repository:tag or host[:port]/repository@sha256:<digest>';
}

/** What is wrong with a registry's host name (the part before its port), in the words of the grammar; undefined when nothing is. */
function hostNameProblem(name: string): string | undefined {
  const shown = `"${headOf(name, 100)}"`;
  if (name.length === 0) return 'names a port but no registry host before it';
  if (name.startsWith('[')) return new RegExp(`^\\[(?:${IPV6})\\]$`).test(name) ? undefined : `has registry host ${shown}, which is no IPv6 literal ${ipv6LiteralAdvice(name)}`;
  const character = /[^A-Za-z0-9.-]/u.exec(name)?.[0];
  if (character !== undefined) return `has registry host ${shown}, which holds "${character}": a host name is letters, digits and dashes, in labels joined by dots`;
  if (name.endsWith('.')) return `has registry host ${shown}, which ends with a dot: write it without (${name.replace(/\.+$/, '')})`;
  if (name.startsWith('.') || name.includes('..')) return `has registry host ${shown}, which has an empty label (a dot first, or two together)`;
  const dashed = name.split('.').find((label) => label.startsWith('-') || label.endsWith('-'));
  if (dashed !== undefined) return `has registry host ${shown}, whose label "${headOf(dashed, 63)}" begins or ends with a dash, which no host name's label does`;
  return undefined;
}

/** How to write the IPv6 literal `name` meant, when it is none: the forms a URL takes but docker's grammar has no room for get their own words. */
function ipv6LiteralAdvice(name: string): string {
  if (name.includes('%')) return 'Orbit can pull from: a zone ("%…") names a link of one host, and a URL has no room for it';
  const hex = name.includes('.') && name.endsWith(']') && URL.canParse(`https://${name}/`) ? new URL(`https://${name}/`).hostname : undefined;
  if (hex !== undefined) return `docker's grammar takes: it has no room for a dotted IPv4 part; write ${hex}`;
  return '(eight groups of 1 to 4 hex digits joined by colons, "::" standing once for groups of zeros, in brackets, as [::1] or [fd00::5])';
}

/** What keeps a URL from naming `host` (host[:port]), which the grammar takes; undefined when nothing does. */
function urlHostProblem(host: string): string | undefined {
  if (urlCanName(host)) return undefined;
  const name = host.replace(/:\d+$/, '');
  const shown = `"${headOf(name, 100)}"`;
  // The WHATWG URL parser's "ends in a number" rule: such a host is an IPv4 address or nothing.
  if (/(?:^|\.)(?:\d+|0x[0-9a-f]*)$/i.test(name)) return `has registry host ${shown}, which ends in a number, so it is read as an IPv4 address, and is no valid one (four numbers from 0 to 255, as 10.0.0.5)`;
  if (/(?:^|\.)xn--/i.test(name)) return `has registry host ${shown}, with an "xn--" label that is no valid punycode: write the host name as DNS knows it`;
  return `has registry host ${shown}, which no URL can hold, so no request reaches a registry there`;
}

/**
 * A registry as every client reaches it, one spelling per registry: host names in lower case, the port without
 * leading zeros, an IPv6 literal as the URL standard writes it (RFC 5952: lower-case hex, no leading zeros in a
 * group, the longest run of zero groups as "::"). `127.0.0.1:05050`, `Registry.Example.com` and `[0:0::0001]:5050`
 * are pulled from `127.0.0.1:5050`, `registry.example.com` and `[::1]:5050`, so a rule about registries (the
 * allowlist, Orbit's own, the credentials, the memory of outages) must see those names. An IPv4-mapped address
 * stays in hex (`[::ffff:7f00:1]`): RFC 5952's dotted tail is no reference docker's grammar takes. Docker keeps
 * the name as written; Orbit keeps the reference as written too (events, pulledFrom) and uses this only to compare.
 * Text that is no host[:port] comes back in lower case.
 */
export function canonicalRegistry(registry: string): string {
  const lower = registry.toLowerCase();
  const close = lower.startsWith('[') ? lower.indexOf(']') : -1;
  const colon = lower.indexOf(':', close + 1);
  const name = colon === -1 ? lower : lower.slice(0, colon);
  const port = colon === -1 ? undefined : lower.slice(colon + 1).replace(/^0+(?=\d+$)/, '');
  const host = close > 0 && close === name.length - 1 && URL.canParse(`http://${name}/`) ? new URL(`http://${name}/`).hostname : name;
  return port === undefined ? host : `${host}:${port}`;
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
