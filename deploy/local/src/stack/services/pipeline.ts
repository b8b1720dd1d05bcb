import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceName } from '@orbit/lib';
import { localStackEnv, secureKafkaEnv, secureMysqlEnv } from '../endpoints.js';
import { ensureAptPackage } from '../install.js';
import { REPO_ROOT } from '../paths.js';
import { httpOk } from '../probes.js';
import type { ServiceDefinition } from './types.js';

/** The six Orbit services: name, workspace folder, health port. */
export const PIPELINE: readonly (readonly [name: ServiceName, dir: string, port: number])[] = [
  ['portal-gateway', 'producers/portal-gateway', 8080],
  ['image-validator', 'consumers/image-validator', 9101],
  ['chart-generator', 'consumers/chart-generator', 9102],
  ['harbor-writer', 'consumers/harbor-writer', 9103],
  ['viewport-projector', 'consumers/viewport-projector', 9104],
  ['event-logger', 'consumers/event-logger', 9105],
];

/** Debian packages (and their commands) a service runs besides node: zstd-wrapped archives and layers are decoded with the reference decoder. */
const TOOLS: Readonly<Record<string, readonly (readonly [debianPackage: string, commands: readonly string[]])[]>> = {
  'image-validator': [['zstd', ['zstd']]],
  // It reads zstd-wrapped archives again to push them to the registry.
  'harbor-writer': [['zstd', ['zstd']]],
};

/**
 * Runtime settings of the services that stream images through Node (the gateway stages uploads, the
 * harbor-writer pushes layers). V8's young generation grows to 32 MiB by default, and glibc keeps freed
 * part buffers (MiBs each) in its heap once its mmap threshold has risen: together they held the gateway at
 * 215-225 MiB while streaming an upload, 165-170 MiB with both capped (bench:upload measures it).
 */
const STREAMING_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
const STREAMING_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };
const STREAMING_SERVICES: readonly ServiceName[] = ['portal-gateway', 'harbor-writer'];

export const mainOf = (dir: string): string => join(REPO_ROOT, dir, 'dist', 'main.js');

function pipelineService(name: ServiceName, dir: string, port: number): ServiceDefinition {
  const main = mainOf(dir);
  const streams = STREAMING_SERVICES.includes(name);
  return {
    name, kind: 'pipeline', port, ports: [port], startTimeoutMs: 60_000,
    unavailable: () => (existsSync(main) ? undefined : `not built (${main} is missing; run npm run build)`),
    install: () => {
      for (const [debianPackage, commands] of TOOLS[name] ?? []) ensureAptPackage(name, debianPackage, commands);
    },
    prepare: () => ({
      command: process.execPath,
      args: [...(streams ? STREAMING_NODE_FLAGS : []), main],
      cwd: REPO_ROOT,
      env: {
        ...localStackEnv(),
        ...secureKafkaEnv(name),
        ...secureMysqlEnv(),
        HEALTH_PORT: String(port),
        // A developer's machine keeps them to itself, as it keeps the gateway (a pod takes the 0.0.0.0 default).
        HEALTH_HOST: '127.0.0.1',
        // One quiet local broker answers a fetch in well under a second, so a stalled consumer is
        // replaced sooner than the 60 s a production cluster gets (a test waits 90 s for a request).
        ORBIT_CONSUMER_STALL_MS: process.env['ORBIT_CONSUMER_STALL_MS'] ?? '30000',
        ...(name === 'portal-gateway' ? { PORT: String(port) } : {}),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...(streams ? STREAMING_MALLOC_ENV : {}),
      },
    }),
    healthy: () => httpOk(`http://127.0.0.1:${port}/readyz`),
  };
}

export function pipelineServices(): ServiceDefinition[] {
  return PIPELINE.map(([name, dir, port]) => pipelineService(name, dir, port));
}
