/**
 * A schema registry URL may carry its credentials (`https://KEY:SECRET@host`,
 * as Confluent Cloud's API keys are given): the registry client and fetch
 * take them apart, as HTTP basic auth, and fetch refuses a URL holding them.
 */
export interface RegistryEndpoint {
  /** The URL without credentials or a trailing slash. */
  readonly host: string;
  readonly auth?: { readonly username: string; readonly password: string };
  /** The Authorization header for calls made without the registry client. */
  readonly headers: Readonly<Record<string, string>>;
}

export function registryEndpoint(url: string): RegistryEndpoint {
  const parsed = new URL(url);
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const host = parsed.toString().replace(/\/+$/, '');
  if (username === '' && password === '') return { host, headers: {} };
  return { host, auth: { username, password }, headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } };
}
