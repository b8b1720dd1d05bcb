import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasContent, isCompletePem, partialOf, publish } from '../atomic-file.js';
import { issuedOnce, localCaFile } from '../certificates.js';
import { KAFKA_CLIENT_CERTIFICATE, KAFKA_KEYSTORE_PASSWORD, KAFKA_SERVICE_USERS, KAFKA_OUTSIDER_PASSWORD, KAFKA_OUTSIDER_USER, KAFKA_SASL_PASSWORD, KAFKA_SASL_USER } from '../endpoints.js';
import { StackError } from '../errors.js';
import { ensureAptPackage, ensureMavenInstall } from '../install.js';
import { findRuntimeJava, jdkTool } from '../java.js';
import { dataDir, logFile } from '../paths.js';
import { readPorts } from '../ports.js';
import { kafkaAnswers } from '../probes.js';
import type { ServiceDefinition } from './types.js';

const NAME = 'kafka';
/** What MSK, Confluent Platform and Aiven offer; each of SASL_USERS gets credentials for both. */
const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
/**
 * Users of PLAIN and both SCRAMs alike: the all-topics user (ops commands, tests) and one no ACL names.
 * The pipeline's per-service users (KAFKA_SERVICE_USERS) are PLAIN only.
 */
const SASL_USERS: Readonly<Record<string, string>> = { [KAFKA_SASL_USER]: KAFKA_SASL_PASSWORD, [KAFKA_OUTSIDER_USER]: KAFKA_OUTSIDER_PASSWORD };

/** The SASL_SSL listener beside the plain one: what a test (or a developer) uses to exercise TLS and SASL end to end. */
export interface SecureListener {
  readonly port: number;
  /** PKCS12 keystore of the broker's self-signed certificate. */
  readonly keystore: string;
  readonly keystorePassword: string;
  /** Its users and their passwords (PLAIN; the SCRAM mechanisms take the same, written by scramUsersOnce). */
  readonly users: Readonly<Record<string, string>>;
  /** The SSL listener that admits a client by its certificate alone, signed by `clientCa` (PEM); its CN is the principal. */
  readonly mtlsPort: number;
  readonly clientCa: string;
}

export function kafkaProperties(logDirs: string, port: number, controllerPort: number, secure?: SecureListener): string {
  const secureListener = secure ? `,SASL_SSL://127.0.0.1:${secure.port},SSL://127.0.0.1:${secure.mtlsPort}` : '';
  const plainUsers = secure ? Object.entries(secure.users).map(([user, password]) => ` user_${user}="${password}"`).join('') : '';
  return `# Written by deploy/local on every start; edit deploy/local/src/stack/services/kafka.ts instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${secureListener}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}${secureListener}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${secure ? ',SASL_SSL:SASL_SSL,SSL:SSL' : ''}
log.dirs=${logDirs}
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
${secure ? `# Whoever has no ACL is refused; the plain listener (loopback, for tests and ops tools) and the controller are trusted.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
sasl.enabled.mechanisms=PLAIN,${SCRAM_MECHANISMS.join(',')}
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required${plainUsers};
${SCRAM_MECHANISMS.map((mechanism) => `listener.name.sasl_ssl.${mechanism.toLowerCase()}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`).join('\n')}
ssl.keystore.type=PKCS12
ssl.keystore.location=${secure.keystore}
ssl.keystore.password=${secure.keystorePassword}
ssl.key.password=${secure.keystorePassword}
# Mutual TLS: a certificate the local CA signed, or nothing; its CN is the principal the ACLs name (User:orbit).
listener.name.ssl.ssl.client.auth=required
listener.name.ssl.ssl.truststore.type=PEM
listener.name.ssl.ssl.truststore.location=${secure.clientCa}
ssl.principal.mapping.rules=RULE:^CN=(.*)$/$1/,DEFAULT
` : ''}`;
}

/**
 * The broker's self-signed certificate for 127.0.0.1 and localhost, made once with the JDK's keytool, and its PEM,
 * which clients give as KAFKA_TLS_CA_FILE.
 */
export function certificateOnce(dir: string, password: string): { keystore: string; certificate: string } {
  const keystore = join(dir, 'broker.p12');
  const certificate = join(dir, 'broker-ca.pem');
  const keytool = (args: readonly string[]): void => {
    const result = spawnSync(jdkTool(findRuntimeJava(NAME), 'keytool'), [...args], { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) throw new StackError('ORBIT_ERR_STACK_START', NAME, `keytool ${args[0] ?? ''} failed`, { log: logFile(NAME), tail: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim() });
  };
  // keytool writes beside each file and the finished one is renamed into place; a new keystore needs its certificate exported anew.
  if (!hasContent(keystore)) {
    rmSync(partialOf(keystore), { force: true });
    keytool(['-genkeypair', '-alias', 'broker', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '3650', '-dname', 'CN=orbit-local-kafka',
      '-ext', 'SAN=ip:127.0.0.1,dns:localhost', '-ext', 'BC=ca:true', '-keystore', partialOf(keystore), '-storetype', 'PKCS12', '-storepass', password, '-keypass', password]);
    rmSync(certificate, { force: true });
    publish(keystore);
  }
  if (!isCompletePem(certificate)) {
    rmSync(partialOf(certificate), { force: true });
    keytool(['-exportcert', '-rfc', '-alias', 'broker', '-keystore', keystore, '-storepass', password, '-file', partialOf(certificate)]);
    publish(certificate);
  }
  return { keystore, certificate };
}

const LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
`;

function tool(classpath: string, log4j: string, args: readonly string[]): string {
  const result = spawnSync(findRuntimeJava(NAME), ['-cp', classpath, `-Dlog4j.configuration=file:${log4j}`, 'kafka.tools.StorageTool', ...args], { encoding: 'utf8', timeout: 120_000 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) {
    throw new StackError('ORBIT_ERR_STACK_START', NAME, `kafka.tools.StorageTool ${args[0] ?? ''} failed`, { log: logFile(NAME), tail: output.trim() });
  }
  return result.stdout ?? '';
}

/**
 * SCRAM users live in the cluster's metadata, not in a file: written through the plain listener (the JDK's
 * ConfigCommand; kafkajs cannot) once per data directory, list of users and of mechanisms, each with the same password as for PLAIN.
 */
function scramUsersOnce(classpath: string, log4j: string, dir: string, port: number, users: Readonly<Record<string, string>>): void {
  const marker = join(dir, 'scram-users.done');
  const written = `${SCRAM_MECHANISMS.join(' ')}\n${Object.keys(users).join('\n')}\n`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === written) return;
  // One mechanism per call: Kafka 3.9's ConfigCommand sends both in one request, which the KRaft controller refuses.
  for (const [user, password] of Object.entries(users)) for (const mechanism of SCRAM_MECHANISMS) {
    const result = spawnSync(findRuntimeJava(NAME), ['-cp', classpath, `-Dlog4j.configuration=file:${log4j}`, 'kafka.admin.ConfigCommand', '--bootstrap-server', `127.0.0.1:${port}`,
      '--alter', '--add-config', `${mechanism}=[iterations=8192,password=${password}]`, '--entity-type', 'users', '--entity-name', user], { encoding: 'utf8', timeout: 120_000 });
    if (result.status !== 0) {
      throw new StackError('ORBIT_ERR_STACK_START', NAME, `kafka.admin.ConfigCommand could not add the SCRAM user ${user}`, { log: logFile(NAME), tail: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() });
    }
  }
  writeFileSync(marker, written);
}

/** KRaft storage must be formatted once with a cluster id before the first start. */
function formatOnce(classpath: string, log4j: string, properties: string, logDirs: string): void {
  if (existsSync(join(logDirs, 'meta.properties'))) return;
  const clusterId = tool(classpath, log4j, ['random-uuid']).trim().split('\n').map((line) => line.trim()).filter((line) => /^[A-Za-z0-9_-]{22}$/.test(line)).pop();
  if (!clusterId) throw new StackError('ORBIT_ERR_STACK_START', NAME, 'kafka.tools.StorageTool random-uuid printed no cluster id', { log: logFile(NAME) });
  tool(classpath, log4j, ['format', '-t', clusterId, '-c', properties]);
}

export function kafkaService(): ServiceDefinition {
  const ports = readPorts();
  return {
    name: NAME, kind: 'infrastructure', port: ports.kafka, ports: [ports.kafka, ports.kafkaController, ports.kafkaSecure, ports.kafkaMtls], startTimeoutMs: 90_000,
    install: () => {
      ensureMavenInstall(NAME, 'kafka');
      findRuntimeJava(NAME);
      // The client certificate prepare() issues with it; here, a user who is not root learns of it with the other packages.
      ensureAptPackage(NAME, 'openssl', ['openssl']);
    },
    prepare: () => {
      const home = ensureMavenInstall(NAME, 'kafka');
      const dir = dataDir(NAME);
      const logDirs = join(dir, 'logs');
      mkdirSync(dir, { recursive: true });
      const properties = join(dir, 'server.properties');
      const log4j = join(dir, 'log4j.properties');
      const { keystore } = certificateOnce(dir, KAFKA_KEYSTORE_PASSWORD);
      issuedOnce(NAME, KAFKA_CLIENT_CERTIFICATE, `/CN=${KAFKA_SASL_USER}`, ['extendedKeyUsage=clientAuth']);
      const secure = { port: ports.kafkaSecure, keystore, keystorePassword: KAFKA_KEYSTORE_PASSWORD, users: { ...SASL_USERS, ...KAFKA_SERVICE_USERS }, mtlsPort: ports.kafkaMtls, clientCa: localCaFile() };
      writeFileSync(properties, kafkaProperties(logDirs, ports.kafka, ports.kafkaController, secure));
      writeFileSync(log4j, LOG4J);
      const classpath = `${join(home, 'libs')}/*`;
      formatOnce(classpath, log4j, properties, logDirs);
      return { command: findRuntimeJava(NAME), args: ['-Xms256m', '-Xmx1g', `-Dlog4j.configuration=file:${log4j}`, '-cp', classpath, 'kafka.Kafka', properties], cwd: dir };
    },
    healthy: () => kafkaAnswers(ports.kafka),
    afterHealthy: async () => {
      const dir = dataDir(NAME);
      scramUsersOnce(`${join(ensureMavenInstall(NAME, 'kafka'), 'libs')}/*`, join(dir, 'log4j.properties'), dir, ports.kafka, SASL_USERS);
    },
  };
}
