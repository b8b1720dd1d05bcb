import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAptPackage } from '../install.js';
import { dataDir } from '../paths.js';
import { readPorts } from '../ports.js';
import { httpOk } from '../probes.js';
import type { ServiceDefinition } from './types.js';

const NAME = 'registry';

/** The distribution server's configuration: storage under the stack's data, the loopback only, no authentication (it is the local stack). */
export function registryConfig(storage: string, port: number): string {
  return `version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
`;
}

/**
 * The image registry the charts pull from (ORBIT_IMAGE_REGISTRY), which the
 * harbor-writer pushes stored images to: Debian's docker-registry, the CNCF
 * distribution server behind Docker Hub and Harbor.
 */
export function registryService(): ServiceDefinition {
  const ports = readPorts();
  return {
    name: NAME, kind: 'infrastructure', port: ports.registry, ports: [ports.registry], startTimeoutMs: 30_000,
    install: () => void ensureAptPackage(NAME, 'docker-registry', ['docker-registry']),
    prepare: () => {
      const [binary = 'docker-registry'] = ensureAptPackage(NAME, 'docker-registry', ['docker-registry']);
      const dir = dataDir(NAME);
      mkdirSync(join(dir, 'storage'), { recursive: true });
      writeFileSync(join(dir, 'config.yml'), registryConfig(join(dir, 'storage'), ports.registry));
      return { command: binary, args: ['serve', join(dir, 'config.yml')], cwd: dir };
    },
    healthy: () => httpOk(`http://127.0.0.1:${ports.registry}/v2/`),
  };
}
