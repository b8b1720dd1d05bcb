import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureMavenInstall } from '../install.js';
import { findJava } from '../java.js';
import { dataDir } from '../paths.js';
import { readPorts } from '../ports.js';
import { httpOk } from '../probes.js';
import type { ServiceDefinition } from './types.js';

const NAME = 'schema-registry';

/** Apicurio Registry 3 with its Confluent-compatible API, on an H2 file database. */
export function schemaRegistryService(): ServiceDefinition {
  const ports = readPorts();
  return {
    name: NAME, kind: 'infrastructure', port: ports.schemaRegistry, ports: [ports.schemaRegistry, ports.schemaRegistryManagement], startTimeoutMs: 120_000,
    install: () => {
      ensureMavenInstall(NAME, 'apicurio');
      findJava(21, NAME);
    },
    prepare: () => {
      const home = ensureMavenInstall(NAME, 'apicurio');
      const dir = dataDir(NAME);
      mkdirSync(dir, { recursive: true });
      return {
        command: findJava(21, NAME),
        args: ['-Xmx512m', '-jar', join(home, 'quarkus-run.jar')],
        cwd: dir,
        env: {
          APICURIO_STORAGE_KIND: 'sql',
          APICURIO_STORAGE_SQL_KIND: 'h2',
          // On disk, not in memory: schema ids are inside every stored Kafka message and must survive restarts.
          APICURIO_DATASOURCE_URL: `jdbc:h2:file:${join(dir, 'registry')};DB_CLOSE_ON_EXIT=FALSE`,
          APICURIO_DATASOURCE_USERNAME: 'sa',
          APICURIO_DATASOURCE_PASSWORD: 'sa',
          QUARKUS_HTTP_HOST: '127.0.0.1',
          QUARKUS_HTTP_PORT: String(ports.schemaRegistry),
          QUARKUS_MANAGEMENT_HOST: '127.0.0.1',
          QUARKUS_MANAGEMENT_PORT: String(ports.schemaRegistryManagement),
        },
      };
    },
    healthy: () => httpOk(`http://127.0.0.1:${ports.schemaRegistry}/apis/ccompat/v7/subjects`),
  };
}
