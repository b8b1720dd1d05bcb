/**
 * Registry authentication as the distribution spec describes it: a 401 with
 * `WWW-Authenticate: Bearer realm=...,service=...,scope=...` means "fetch a
 * token from realm"; `Basic` means send the credentials directly.
 */
export interface Challenge {
  readonly scheme: 'bearer' | 'basic';
  readonly params: Readonly<Record<string, string>>;
}

export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(Bearer|Basic)\b\s*(.*)$/i.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const pair of (match[2] ?? '').matchAll(/([A-Za-z_]+)="([^"]*)"/g)) {
    if (pair[1] && pair[2] !== undefined) params[pair[1].toLowerCase()] = pair[2];
  }
  return { scheme: match[1]?.toLowerCase() === 'bearer' ? 'bearer' : 'basic', params };
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
