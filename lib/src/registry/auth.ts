/**
 * Registry authentication as the distribution spec describes it: a 401 with
 * `WWW-Authenticate: Bearer realm=...,service=...,scope=...` means "fetch a
 * token from realm"; `Basic` means send the credentials directly.
 */
export interface Challenge {
  readonly scheme: 'bearer' | 'basic';
  readonly params: Readonly<Record<string, string>>;
}

interface ParsedChallenge {
  readonly scheme: string;
  readonly params: Record<string, string>;
}

/** RFC 9110's `token`: what a scheme, a parameter's name and an unquoted value are made of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
/** A token68 credential (base64 and kin) standing in for parameters; none of Orbit's schemes use one, so it is skipped. */
const TOKEN68 = /^[0-9A-Za-z._~+/-]+=*(?=\s*(,|$))/;

/**
 * Every challenge of a WWW-Authenticate value (RFC 9110 §11.6.1): a scheme,
 * then parameters whose values are tokens or quoted strings. Two header lines
 * arrive joined by ", " (fetch's Headers.get), so a comma may end a
 * parameter or a whole challenge: a token followed by `=` is a parameter, one
 * followed by anything else starts the next challenge.
 */
export function parseChallenges(header: string): ParsedChallenge[] {
  const challenges: ParsedChallenge[] = [];
  let rest = header;
  const skip = (pattern: RegExp): void => {
    rest = rest.replace(pattern, '');
  };
  let current: ParsedChallenge | undefined;
  for (;;) {
    skip(/^[\s,]+/);
    if (rest === '') return challenges;
    const name = TOKEN.exec(rest)?.[0];
    if (name === undefined) return challenges; // Not a challenge list past here; what came before stands.
    rest = rest.slice(name.length);
    const parameter = current !== undefined && /^\s*=/.test(rest) && !/^\s*=+\s*(,|$)/.test(rest);
    if (!parameter) {
      current = { scheme: name.toLowerCase(), params: {} };
      challenges.push(current);
      skip(/^\s+/);
      const credential = TOKEN68.exec(rest)?.[0];
      // `Negotiate abc==` carries a token68; `Bearer realm=…` starts its parameters (a token followed by `=` and more).
      if (credential !== undefined && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*=\s*[^=\s,]/.test(rest)) rest = rest.slice(credential.length);
      continue;
    }
    skip(/^\s*=\s*/);
    let value: string;
    if (rest.startsWith('"')) {
      const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
      if (!quoted) return challenges; // An unterminated quote: nothing after it can be trusted.
      value = (quoted[1] ?? '').replace(/\\(.)/g, '$1');
      rest = rest.slice(quoted[0].length);
    } else {
      // Leniently past RFC 9110's token: realms unquoted as `https://…/token` are met in the wild.
      value = /^[^\s,"]*/.exec(rest)?.[0] ?? '';
      rest = rest.slice(value.length);
    }
    if (current) current.params[name.toLowerCase()] = value;
  }
}

/** The challenge Orbit answers: the first Bearer one, else the first Basic one (a header may offer Negotiate first). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const challenges = parseChallenges(header);
  const chosen = challenges.find((challenge) => challenge.scheme === 'bearer') ?? challenges.find((challenge) => challenge.scheme === 'basic');
  return chosen && { scheme: chosen.scheme === 'bearer' ? 'bearer' : 'basic', params: chosen.params };
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** Docker's `identitytoken`: an OAuth2 refresh token, traded at the token service for an access token (ACR's `az acr login`, a helper answering `<token>`). */
  readonly identityToken?: string | undefined;
}

/** Credentials as configured, or how to ask for them when a registry wants them (a credential helper, run each time). */
export type CredentialSource = Credentials | (() => Promise<Credentials | undefined>);

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}
