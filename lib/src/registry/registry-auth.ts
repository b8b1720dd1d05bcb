import { basicAuthorization, parseChallenge, type Challenge, type Credentials } from './auth.js';
import { answerTimeoutMsOf, type RegistryClientOptions, type RegistryFetch } from './client-options.js';
import { PullRefusedError } from './registry-errors.js';
import { bearerToken } from './token-service.js';

/**
 * A client's answers to the challenges it met: what each origin earned, and
 * the credentials it earned them with, asked for once.
 */
export class RegistryAuth {
  /** What each origin's own challenge earned (the registry's, or a host it redirects to that asked too): sent there only. */
  private readonly authorizations = new Map<string, string>();
  /** The credential helper's answer: one run per client, as one docker pull or push asks once. */
  private asked: Promise<Credentials | undefined> | undefined;

  /** `origin`: the registry's own, the only one its token and its challenges are for. */
  constructor(
    private readonly options: RegistryClientOptions,
    private readonly fetch: RegistryFetch,
    private readonly origin: string,
  ) {}

  /** What `origin`'s own challenge earned, if it asked. */
  authorizationFor(origin: string): string | undefined {
    return this.authorizations.get(origin);
  }

  private credentials(): Promise<Credentials | undefined> {
    const configured = this.options.credentials;
    if (typeof configured !== 'function') return Promise.resolve(configured);
    this.asked ??= configured();
    return this.asked;
  }

  /** The end of a refusal when Orbit holds no credentials for the registry (none given, or its helper had none): where to give them. */
  async withoutCredentials(): Promise<string> {
    const configured = this.options.credentials;
    let held: Credentials | null | undefined = typeof configured === 'function' ? null : configured;
    // A helper not yet run is not run for this (it may well have some); one that failed was named by its own refusal.
    if (typeof configured === 'function' && this.asked !== undefined) held = await this.asked.catch(() => null);
    if (held !== undefined) return '';
    return `; Orbit has no credentials for ${this.options.registry}: give them in ORBIT_REGISTRY_CREDENTIALS or ORBIT_REGISTRY_AUTH_FILE`;
  }

  /**
   * Earns what `answeredBy`'s origin asked for. The registry's credentials go
   * to its own host (any port or scheme of it: a registry that moved to HTTPS)
   * and to the token services it names; a host it redirects to under another
   * name gets an anonymous token (a gateway in front of public images).
   */
  async authenticate(challenge: Challenge, answeredBy: URL): Promise<void> {
    const forRegistry = answeredBy.hostname === new URL(this.origin).hostname;
    const credentials = forRegistry ? await this.credentials() : undefined;
    if (challenge.scheme === 'basic') {
      if (!credentials) throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${this.options.registry} needs credentials (Basic)${await this.withoutCredentials()}`);
      if (credentials.identityToken !== undefined && credentials.password === '') {
        throw new PullRefusedError('REGISTRY_UNAUTHORIZED', `${this.options.registry} asks for a password (Basic), and its credentials hold only an identity token, which only a token service takes`);
      }
      this.authorizations.set(answeredBy.origin, basicAuthorization(credentials));
      return;
    }
    const token = await bearerToken(challenge, credentials, {
      options: this.options, fetch: this.fetch, answerTimeoutMs: answerTimeoutMsOf(this.options), forRegistry, withoutCredentials: () => this.withoutCredentials(),
    });
    this.authorizations.set(answeredBy.origin, `Bearer ${token}`);
  }
}

/**
 * What an answer asks to be authenticated with: a 401's challenge (null when
 * it names none Orbit speaks), or a 403 whose Bearer challenge says the token
 * lacks scope; undefined for any other answer.
 */
export function challengeIn(response: Response): Challenge | null | undefined {
  if (response.status !== 401 && response.status !== 403) return undefined;
  const challenge = parseChallenge(response.headers.get('www-authenticate')) ?? null;
  if (response.status === 401) return challenge;
  return challenge?.scheme === 'bearer' && challenge.params['error'] === 'insufficient_scope' ? challenge : undefined;
}
