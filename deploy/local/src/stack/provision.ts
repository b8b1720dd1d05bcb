import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stackChildEnv } from './child-env.js';
import { localStackEnv } from './endpoints.js';
import { StackError } from './errors.js';
import { REPO_ROOT } from './paths.js';

export const PROVISION_CLI = join(REPO_ROOT, 'deploy', 'local', 'dist', 'provision-cli.js');

/**
 * Topics, schemas, tables, buckets and migrations, by the provisioning CLI
 * (its own workspace code). Its output goes to stderr so `up` keeps stdout clean.
 * Returns false when the CLI is not built yet.
 */
export function provisionStack(timeoutMs = 300_000): Promise<boolean> {
  if (!existsSync(PROVISION_CLI)) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PROVISION_CLI], {
      cwd: REPO_ROOT,
      env: stackChildEnv({ ...localStackEnv(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }),
      stdio: ['ignore', 2, 2],
      timeout: timeoutMs,
    });
    child.once('error', (error) => reject(new StackError('ORBIT_ERR_STACK_PROVISION', 'provision', `could not run ${PROVISION_CLI}`, { cause: error })));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(true);
      else reject(new StackError('ORBIT_ERR_STACK_PROVISION', 'provision', `${PROVISION_CLI} ${signal ? `was killed (${signal})` : `exited ${code}`}; its output is above`));
    });
  });
}
