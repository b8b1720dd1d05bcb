/**
 * Opt-in path for hosts with a Docker engine: `ORBIT_TEST_INFRA=containers npm test`
 * starts deploy/kafka/compose.yaml through testcontainers instead of the native
 * local stack, provisions it, and removes it afterwards. UNVERIFIED on the
 * project's own machines, which have no Docker engine; the native stack is the
 * default and what CI runs.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env['ORBIT_TEST_INFRA'] !== 'containers') return undefined;
  const { DockerComposeEnvironment, Wait } = await import('testcontainers');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const environment = await new DockerComposeEnvironment(`${root}deploy/kafka`, 'compose.yaml')
    .withWaitStrategy('s3-1', Wait.forHttp('/minio/health/ready', 9000))
    .withWaitStrategy('schema-registry-1', Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
    .up();
  const provision = spawnSync(process.execPath, [`${root}deploy/local/dist/provision-cli.js`], { stdio: 'inherit' });
  if (provision.status !== 0) {
    await environment.down();
    throw new TypeError('provisioning the containers failed');
  }
  return async () => {
    await environment.down();
  };
}
