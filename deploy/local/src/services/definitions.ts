import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { StackStartError } from './errors.js';
import { ensureMariadb, ensureMavenInstall, ensureMinio, findJava } from './install.js';
import { dataDir, logFile, mysqlSocket, REPO_ROOT, stackDir } from './paths.js';
import type { Launch } from './processes.js';
import { dynamoAnswers, httpOk, kafkaAnswers, mysqlAnswers } from './probes.js';

export interface ServiceDefinition {
  readonly name: string;
  readonly port: number;
  readonly kind: 'infrastructure' | 'pipeline';
  /** Installs what is missing and prepares first-run state; returns how to start it. */
  readonly prepare: () => Launch;
  readonly healthy: () => Promise<boolean>;
  /** Seconds to wait for health after a start. */
  readonly startTimeoutS: number;
  /** Runs once healthy (e.g. create the database user). */
  readonly afterStart?: () => Promise<void>;
}

const KAFKA_PROPERTIES = (logDirs: string): string => `# written by deploy/local (orbit); changes are overwritten
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://127.0.0.1:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${logDirs}
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
`;

const KAFKA_LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
`;

const kafka: ServiceDefinition = {
  name: 'kafka', port: 9092, kind: 'infrastructure', startTimeoutS: 90,
  prepare: () => {
    const home = ensureMavenInstall('kafka');
    const dir = dataDir('kafka');
    mkdirSync(dir, { recursive: true });
    const properties = join(dir, 'server.properties');
    writeFileSync(properties, KAFKA_PROPERTIES(join(dir, 'logs')));
    writeFileSync(join(dir, 'log4j.properties'), KAFKA_LOG4J);
    const classpath = `${join(home, 'libs')}/*`;
    if (!existsSync(join(dir, 'logs', 'meta.properties'))) {
      // KRaft storage is formatted once with a fresh cluster id.
      const id = spawnSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' }).stdout.trim().split('\n').pop() ?? '';
      const format = spawnSync('java', ['-cp', classpath, `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`, 'kafka.tools.StorageTool', 'format', '-t', id, '-c', properties], { encoding: 'utf8' });
      if (format.status !== 0) throw new StackStartError('kafka', 'formatting KRaft storage failed', logFile('kafka'), `${format.stdout}\n${format.stderr}`);
    }
    return { command: 'java', args: ['-Xms256m', '-Xmx1g', `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`, '-cp', classpath, 'kafka.Kafka', properties] };
  },
  healthy: () => kafkaAnswers(['127.0.0.1:9092']),
};

const schemaRegistry: ServiceDefinition = {
  name: 'schema-registry', port: 8081, kind: 'infrastructure', startTimeoutS: 120,
  prepare: () => {
    const home = ensureMavenInstall('apicurio');
    const dir = dataDir('schema-registry');
    mkdirSync(dir, { recursive: true });
    return {
      command: findJava(21),
      args: ['-Xmx512m', '-jar', join(home, 'quarkus-run.jar')],
      cwd: dir,
      env: {
        APICURIO_STORAGE_KIND: 'sql',
        APICURIO_STORAGE_SQL_KIND: 'h2',
        // A file database: schema ids are inside every stored message, so they must survive restarts.
        APICURIO_DATASOURCE_URL: `jdbc:h2:file:${join(dir, 'registry')};DB_CLOSE_ON_EXIT=FALSE`,
        APICURIO_DATASOURCE_USERNAME: 'sa',
        APICURIO_DATASOURCE_PASSWORD: 'sa',
        QUARKUS_HTTP_HOST: '127.0.0.1',
        QUARKUS_HTTP_PORT: '8081',
        // Its management interface defaults to 0.0.0.0:9000, MinIO's port.
        QUARKUS_MANAGEMENT_HOST: '127.0.0.1',
        QUARKUS_MANAGEMENT_PORT: '8091',
      },
    };
  },
  healthy: () => httpOk('http://127.0.0.1:8081/apis/ccompat/v7/subjects'),
};

const dynamodb: ServiceDefinition = {
  name: 'dynamodb', port: 8000, kind: 'infrastructure', startTimeoutS: 60,
  prepare: () => {
    const home = ensureMavenInstall('dynamodb');
    const dir = dataDir('dynamodb');
    mkdirSync(dir, { recursive: true });
    return {
      command: 'java',
      args: ['-Xmx512m', `-Djava.library.path=${join(home, 'native')}`, '-cp', `${join(home, 'libs')}/*`,
        'com.amazonaws.services.dynamodbv2.local.main.ServerRunner', '-sharedDb', '-disableTelemetry', '-dbPath', dir, '-port', '8000'],
    };
  },
  healthy: () => dynamoAnswers('http://127.0.0.1:8000'),
};

const s3: ServiceDefinition = {
  name: 's3', port: 9000, kind: 'infrastructure', startTimeoutS: 60,
  prepare: () => {
    const binary = ensureMinio();
    const dir = dataDir('s3');
    mkdirSync(dir, { recursive: true });
    // SSE-S3 needs a KMS key; one random local key, kept beside the data it encrypts.
    const keyFile = join(stackDir(), 'data', 's3-kms.key');
    if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    return {
      command: binary,
      args: ['server', '--quiet', '--address', '127.0.0.1:9000', '--console-address', '127.0.0.1:9001', dir],
      env: {
        MINIO_ROOT_USER: 'orbitlocal',
        MINIO_ROOT_PASSWORD: 'orbitlocalsecret',
        MINIO_KMS_SECRET_KEY: `orbit-local-key:${readFileSync(keyFile, 'utf8').trim()}`,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
      },
    };
  },
  healthy: () => httpOk('http://127.0.0.1:9000/minio/health/ready'),
};

const mysqlService: ServiceDefinition = {
  name: 'mysql', port: 3306, kind: 'infrastructure', startTimeoutS: 60,
  prepare: () => {
    const { server, installDb } = ensureMariadb();
    const dir = dataDir('mysql');
    mkdirSync(join(stackDir(), 'run'), { recursive: true });
    if (!existsSync(join(dir, 'mysql'))) {
      mkdirSync(dir, { recursive: true });
      const init = spawnSync(installDb, ['--no-defaults', `--datadir=${dir}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8' });
      if (init.status !== 0) throw new StackStartError('mysql', 'mariadb-install-db failed', logFile('mysql'), `${init.stdout}\n${init.stderr}`);
    }
    return {
      command: server,
      args: ['--no-defaults', `--datadir=${dir}`, `--socket=${mysqlSocket()}`, '--port=3306', '--bind-address=127.0.0.1', '--user=root',
        `--pid-file=${join(stackDir(), 'run', 'mysqld.pid')}`, '--skip-name-resolve', '--innodb-buffer-pool-size=128M',
        '--character-set-server=utf8mb4', '--collation-server=utf8mb4_bin'],
    };
  },
  healthy: mysqlAnswers,
  afterStart: async () => {
    const connection = await mysql.createConnection({ socketPath: mysqlSocket(), user: 'root' });
    try {
      for (const statement of [
        'CREATE DATABASE IF NOT EXISTS viewport',
        "CREATE USER IF NOT EXISTS 'orbit'@'127.0.0.1' IDENTIFIED BY 'orbit'",
        "CREATE USER IF NOT EXISTS 'orbit'@'localhost' IDENTIFIED BY 'orbit'",
        // Rebuilds project into side databases (viewport_*) before swapping them in.
        "GRANT ALL PRIVILEGES ON `viewport`.* TO 'orbit'@'127.0.0.1'",
        "GRANT ALL PRIVILEGES ON `viewport\\_%`.* TO 'orbit'@'127.0.0.1'",
        "GRANT ALL PRIVILEGES ON `viewport`.* TO 'orbit'@'localhost'",
        "GRANT ALL PRIVILEGES ON `viewport\\_%`.* TO 'orbit'@'localhost'",
      ]) await connection.query(statement);
    } finally {
      await connection.end();
    }
  },
};

export const INFRASTRUCTURE: readonly ServiceDefinition[] = [kafka, schemaRegistry, dynamodb, s3, mysqlService];

/** The six Orbit services, started from their compiled main.js with the stack's environment. */
export function pipelineServices(env: Readonly<Record<string, string>>): ServiceDefinition[] {
  const services: [string, string, number][] = [
    ['portal-gateway', 'producers/portal-gateway', 8080],
    ['image-validator', 'consumers/image-validator', 9101],
    ['chart-generator', 'consumers/chart-generator', 9102],
    ['harbor-writer', 'consumers/harbor-writer', 9103],
    ['viewport-projector', 'consumers/viewport-projector', 9104],
    ['event-logger', 'consumers/event-logger', 9105],
  ];
  return services.map(([name, dir, port]) => ({
    name, port, kind: 'pipeline' as const, startTimeoutS: 60,
    prepare: () => {
      const main = join(REPO_ROOT, dir, 'dist', 'main.js');
      if (!existsSync(main)) throw new StackStartError(name, `not built (${main} missing): run npm run build`, logFile(name), '');
      return { command: process.execPath, args: [main], cwd: REPO_ROOT, env: { ...env, HEALTH_PORT: String(port), PORT: String(port), ORBIT_SERVICE: name } };
    },
    healthy: () => httpOk(`http://127.0.0.1:${port}/readyz`),
  }));
}
