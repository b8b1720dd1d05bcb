import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureMavenInstall } from '../install.js';
import { findRuntimeJava } from '../java.js';
import { dataDir } from '../paths.js';
import { readPorts } from '../ports.js';
import { dynamoAnswers } from '../probes.js';
import type { ServiceDefinition } from './types.js';

const NAME = 'dynamodb';

/** DynamoDB Local has no bind-address option: it listens on all interfaces (a known deviation). */
export function dynamodbService(): ServiceDefinition {
  const ports = readPorts();
  return {
    name: NAME, kind: 'infrastructure', port: ports.dynamodb, ports: [ports.dynamodb], startTimeoutMs: 60_000,
    install: () => {
      ensureMavenInstall(NAME, 'dynamodb');
      findRuntimeJava(NAME);
    },
    prepare: () => {
      const home = ensureMavenInstall(NAME, 'dynamodb');
      const dir = dataDir(NAME);
      mkdirSync(dir, { recursive: true });
      return {
        command: findRuntimeJava(NAME),
        args: [
          '-Xmx512m', `-Djava.library.path=${join(home, 'native')}`, '-cp', `${join(home, 'libs')}/*`,
          'com.amazonaws.services.dynamodbv2.local.main.ServerRunner',
          '-sharedDb', '-disableTelemetry', '-dbPath', dir, '-port', String(ports.dynamodb),
        ],
        cwd: dir,
      };
    },
    healthy: () => dynamoAnswers(ports.dynamodb),
  };
}
