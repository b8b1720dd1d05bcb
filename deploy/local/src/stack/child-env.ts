/**
 * A developer's own AWS session (aws-vault, SSO exports) must not reach the stack: the SDK sends
 * AWS_SESSION_TOKEN with the stack's static keys (MinIO: InvalidTokenId), and skips those keys
 * altogether when AWS_PROFILE is set (credential-provider-node's defaultProvider), which MinIO then refuses.
 */
export const FOREIGN_AWS_VARIABLES = ['AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION', 'AWS_PROFILE'] as const;

/** The environment the stack gives what it runs (services, provisioning): this process's, without the developer's AWS session. */
export function stackChildEnv(extra: Readonly<Record<string, string>> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const foreign: readonly string[] = FOREIGN_AWS_VARIABLES;
  return { ...Object.fromEntries(Object.entries(base).filter(([name]) => !foreign.includes(name))), ...extra };
}
