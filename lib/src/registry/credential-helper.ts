import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { z } from 'zod';
import type { Credentials } from './auth.js';
import { PullRefusedError } from './client.js';
import { isDockerHub } from './docker-hub.js';

/**
 * Docker's credential helper protocol (docker-credential-helpers): the
 * program `docker-credential-<name>` is run with `get`, the registry on its
 * stdin, and prints `{"ServerURL","Username","Secret"}`, or says "credentials
 * not found in native keychain" and exits 1. ecr-login, gcr, acr-env, pass and
 * secretservice all speak it.
 */
export const HELPER_PROGRAM_PREFIX = 'docker-credential-';
const NOT_FOUND = 'credentials not found in native keychain';
/** ecr-login may call STS and ECR first; a helper silent for this long is stuck. */
const HELPER_TIMEOUT_MS = 30_000;
/** Its answer is a few hundred bytes of JSON; an ECR token is about 2 KB. */
const MAX_HELPER_OUTPUT_BYTES = 64 * 1024;

const answerShape = z.object({ Username: z.string(), Secret: z.string() });

/** A helper's name as a config.json names it: the program's suffix, nothing that could leave PATH. */
export const isHelperName = (name: string): boolean => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name);

/** Where the helper's program is on PATH, or undefined. */
export function helperProgramOf(helper: string, path: string | undefined = process.env['PATH']): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, `${HELPER_PROGRAM_PREFIX}${helper}`);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** What a registry is asked of a helper under: Docker Hub as `docker login` stores it, any other as host[:port]. */
export const helperServerUrlOf = (registry: string): string => (isDockerHub(registry) ? 'https://index.docker.io/v1/' : registry);

/**
 * Asks the helper for a registry's credentials. Undefined when it has none
 * (the registry is then asked anonymously, as Docker does); a helper that is
 * missing, fails, hangs or answers nonsense refuses the pull or push with a
 * message saying which helper and why: waiting would not mend it.
 */
export async function askCredentialHelper(helper: string, registry: string, options: { readonly timeoutMs?: number; readonly path?: string | undefined } = {}): Promise<Credentials | undefined> {
  const name = `${HELPER_PROGRAM_PREFIX}${helper}`;
  const refused = (why: string): PullRefusedError => new PullRefusedError('REGISTRY_UNAUTHORIZED', `credential helper ${name} ${why} (asked for ${registry})`);
  const program = helperProgramOf(helper, options.path ?? process.env['PATH']);
  if (program === undefined) throw refused('is not on PATH');
  const timeoutMs = options.timeoutMs ?? HELPER_TIMEOUT_MS;
  const outcome = await new Promise<{ code: number | null; out: string; err: string; failure?: string }>((resolve) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (code: number | null, failure?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8').trim();
      resolve({ code, out: text(out), err: text(err), ...(failure === undefined ? {} : { failure }) });
    };
    // Killed and left: a child it started may hold the pipes open long after.
    const abandon = (why: string): void => {
      child.kill('SIGKILL');
      child.stdout.destroy();
      child.stderr.destroy();
      settle(null, why);
    };
    const timer = setTimeout(() => abandon(`gave no answer within ${timeoutMs / 1000} s`), timeoutMs);
    const collect = (into: Buffer[]) => (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_HELPER_OUTPUT_BYTES) abandon(`printed over ${MAX_HELPER_OUTPUT_BYTES} bytes`);
      else into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.on('error', (error) => settle(null, error.message));
    // A helper that exits before reading its stdin is answered by its exit code, not by EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(helperServerUrlOf(registry));
    child.on('close', (code) => settle(code));
  });
  if (outcome.failure !== undefined) throw refused(outcome.failure);
  if (outcome.code !== 0) {
    if (outcome.out === NOT_FOUND || outcome.err === NOT_FOUND) return undefined;
    throw refused(`failed (exit ${outcome.code}): ${(outcome.err || outcome.out).split('\n')[0]?.slice(0, 300) ?? ''}`);
  }
  let answer: z.infer<typeof answerShape>;
  try {
    answer = answerShape.parse(JSON.parse(outcome.out));
  } catch {
    throw refused('answered with no {"Username","Secret"} JSON');
  }
  // `<token>` marks an identity token: an OAuth2 refresh token, traded at the token service for an access token.
  if (answer.Username === '<token>') return { username: '', password: '', identityToken: answer.Secret };
  if (answer.Username === '' && answer.Secret === '') return undefined;
  return { username: answer.Username, password: answer.Secret };
}
