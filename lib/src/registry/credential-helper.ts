import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { Credentials } from './auth.js';
import { PullRefusedError } from './registry-errors.js';
import { isDockerHub } from './docker-hub.js';

/**
 * Docker's credential helper protocol (docker-credential-helpers): the
 * program `docker-credential-<name>` is run with `get`, the registry on its
 * stdin, and prints `{"ServerURL","Username","Secret"}`, or says "credentials
 * not found in native keychain" and exits 1. ecr-login, gcr, acr-env, pass and
 * secretservice all speak it.
 */
export const HELPER_PROGRAM_PREFIX = 'docker-credential-';
const execFileAsync = promisify(execFile);
const NOT_FOUND = 'credentials not found in native keychain';
/** ecr-login may call STS and ECR first; a helper silent for this long is stuck. */
const HELPER_TIMEOUT_MS = 30_000;
/** Its answer is a few hundred bytes of JSON; an ECR token is about 2 KB. */
const MAX_HELPER_OUTPUT_BYTES = 64 * 1024;

const answerShape = z.object({ Username: z.string(), Secret: z.string() });

/** A helper's name as a config.json names it: the program's suffix, nothing that could leave PATH. */
export const isHelperName = (name: string): boolean => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name);

/** Where the helper's program is on PATH, or undefined: looked for once, when the auth file is read. */
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
  const timeoutMs = options.timeoutMs ?? HELPER_TIMEOUT_MS;
  let out: string;
  try {
    const running = execFileAsync(name, ['get'], {
      timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_HELPER_OUTPUT_BYTES, encoding: 'utf8',
      ...(options.path === undefined ? {} : { env: { ...process.env, PATH: options.path } }),
    });
    // A helper that exits before reading its stdin is answered by its exit code, not by EPIPE.
    running.child.stdin?.on('error', () => undefined);
    running.child.stdin?.end(helperServerUrlOf(registry));
    out = (await running).stdout.trim();
  } catch (error) {
    const failed = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string; killed?: boolean };
    const said = { out: (failed.stdout ?? '').trim(), err: (failed.stderr ?? '').trim() };
    if (failed.code === 'ENOENT') throw refused('is not on PATH');
    if (failed.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') throw refused(`printed over ${MAX_HELPER_OUTPUT_BYTES} bytes`);
    if (failed.killed === true) throw refused(`gave no answer within ${timeoutMs / 1000} s`);
    if (said.out === NOT_FOUND || said.err === NOT_FOUND) return undefined;
    throw refused(`failed (exit ${String(failed.code)}): ${(said.err || said.out).split('\n')[0]?.slice(0, 300) ?? ''}`);
  }
  let answer: z.infer<typeof answerShape>;
  try {
    answer = answerShape.parse(JSON.parse(out));
  } catch {
    throw refused('answered with no {"Username","Secret"} JSON');
  }
  // `<token>` marks an identity token: an OAuth2 refresh token, traded at the token service for an access token.
  if (answer.Username === '<token>') return { username: '', password: '', identityToken: answer.Secret };
  if (answer.Username === '' && answer.Secret === '') return undefined;
  return { username: answer.Username, password: answer.Secret };
}
