import { join } from 'node:path';
import { SERVICE_KAFKA_USE, type ServiceName } from '@orbit/lib';
import { principalVariableOf } from '../provision/acls.js';
import { issuedFiles, localCaFile } from './certificates.js';
import { dataDir, mysqlSocket, stackDir } from './paths.js';
import { readPorts } from './ports.js';

export const S3_ROOT_USER = 'orbitlocal';
export const S3_ROOT_PASSWORD = 'orbitlocalsecret';
export const MYSQL_USER = 'orbit';
export const MYSQL_PASSWORD = 'orbit';
export const MYSQL_DATABASE = 'viewport';
/** A user the server admits over TLS only, and one that must also show a certificate the stack's CA signed (the services'). */
export const MYSQL_TLS_USER = 'orbit_tls';
export const MYSQL_X509_USER = 'orbit_x509';
export const KAFKA_SASL_USER = 'orbit';
export const KAFKA_SASL_PASSWORD = 'orbit-local-secret';
export const KAFKA_KEYSTORE_PASSWORD = 'orbitlocal';
/** A user the broker knows but Orbit's ACLs do not name: what a test shows the topics refused to. */
export const KAFKA_OUTSIDER_USER = 'outsider';
export const KAFKA_OUTSIDER_PASSWORD = 'outsider-local-secret';
/** Each service's own user on the SASL_SSL listener (PLAIN), granted only what that service does. */
export const kafkaServiceUser = (service: ServiceName): { readonly user: string; readonly password: string } => ({ user: `orbit-${service}`, password: `${service}-local-secret` });
export const KAFKA_SERVICE_USERS: Readonly<Record<string, string>> = Object.fromEntries((Object.keys(SERVICE_KAFKA_USE) as ServiceName[]).map((service) => {
  const { user, password } = kafkaServiceUser(service);
  return [user, password];
}));

/** The local CA's certificate for the services' user, which the broker's mutual TLS listener admits as User:orbit. */
export const KAFKA_CLIENT_CERTIFICATE = 'kafka-client';

/**
 * Every endpoint and credential of the local stack: what `stack env` prints
 * and what the pipeline services are started with. The single source for them.
 */
export function localStackEnv(): Record<string, string> {
  const ports = readPorts();
  const secure = secureKafkaEnv();
  const secureMysql = secureMysqlEnv();
  return {
    KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
    SCHEMA_REGISTRY_URL: `http://127.0.0.1:${ports.schemaRegistry}/apis/ccompat/v7`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: S3_ROOT_USER,
    AWS_SECRET_ACCESS_KEY: S3_ROOT_PASSWORD,
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${ports.s3}`,
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${ports.dynamodb}`,
    S3_FORCE_PATH_STYLE: 'true',
    MYSQL_URL: `mysql://${MYSQL_USER}:${MYSQL_PASSWORD}@127.0.0.1:${ports.mysql}/${MYSQL_DATABASE}`,
    MYSQL_ADMIN_SOCKET: mysqlSocket(),
    // The loopback is plain HTTP without being listed in ORBIT_INSECURE_REGISTRIES (Docker's rule).
    ORBIT_IMAGE_REGISTRY: `127.0.0.1:${ports.registry}/orbit`,
    ORBIT_STACK_DIR: stackDir(),
    // The broker's SASL_SSL listener, which the pipeline's services use (secureKafkaEnv); tests and tools keep the plain one.
    ORBIT_STACK_KAFKA_SECURE_BROKERS: secure.KAFKA_BROKERS,
    ORBIT_STACK_KAFKA_CA_FILE: secure.KAFKA_TLS_CA_FILE,
    ORBIT_STACK_KAFKA_SASL_USERNAME: secure.KAFKA_SASL_USERNAME,
    ORBIT_STACK_KAFKA_SASL_PASSWORD: secure.KAFKA_SASL_PASSWORD,
    ORBIT_STACK_KAFKA_OUTSIDER: `${KAFKA_OUTSIDER_USER}:${KAFKA_OUTSIDER_PASSWORD}`,
    // The SSL listener that wants a client certificate: the local CA's for the services' user.
    ORBIT_STACK_KAFKA_MTLS_BROKERS: `127.0.0.1:${ports.kafkaMtls}`,
    ORBIT_STACK_KAFKA_CLIENT_CERT_FILE: issuedFiles(KAFKA_CLIENT_CERTIFICATE).cert,
    ORBIT_STACK_KAFKA_CLIENT_KEY_FILE: issuedFiles(KAFKA_CLIENT_CERTIFICATE).key,
    // Provisioning grants this user every orbit. topic (ops commands and tests); the broker refuses anyone without a grant on its SASL_SSL listener.
    ORBIT_KAFKA_SERVICE_PRINCIPALS: `User:${KAFKA_SASL_USER}`,
    // And each pipeline service's own user, granted only what that service does (the pipeline runs as these).
    ...Object.fromEntries((Object.keys(SERVICE_KAFKA_USE) as ServiceName[]).map((service) => [principalVariableOf(service), `User:${kafkaServiceUser(service).user}`])),
    // MariaDB's TLS, which the pipeline's services use (secureMysqlEnv) as the X509 user; tests and tools keep MYSQL_URL.
    ORBIT_STACK_MYSQL_TLS_URL: `mysql://${MYSQL_TLS_USER}:${MYSQL_PASSWORD}@localhost:${ports.mysql}/${MYSQL_DATABASE}`,
    ORBIT_STACK_MYSQL_X509_URL: secureMysql.MYSQL_URL,
    ORBIT_STACK_MYSQL_CA_FILE: secureMysql.MYSQL_TLS_CA_FILE,
    ORBIT_STACK_MYSQL_CLIENT_CERT_FILE: secureMysql.MYSQL_TLS_CERT_FILE,
    ORBIT_STACK_MYSQL_CLIENT_KEY_FILE: secureMysql.MYSQL_TLS_KEY_FILE,
  };
}

/**
 * How the pipeline's services reach the broker: its SASL_SSL listener, trusting its self-signed certificate, as a
 * PLAIN user, as they would reach a managed cluster (so every end-to-end test runs them over authenticated TLS).
 */
export function secureKafkaEnv(service?: ServiceName) {
  const own = service === undefined ? undefined : kafkaServiceUser(service);
  return {
    KAFKA_BROKERS: `127.0.0.1:${readPorts().kafkaSecure}`,
    KAFKA_TLS_CA_FILE: join(dataDir('kafka'), 'broker-ca.pem'),
    KAFKA_SASL_MECHANISM: 'plain',
    KAFKA_SASL_USERNAME: own?.user ?? KAFKA_SASL_USER,
    KAFKA_SASL_PASSWORD: own?.password ?? KAFKA_SASL_PASSWORD,
  } as const satisfies Record<string, string>;
}

/**
 * How the pipeline's services reach MariaDB: over TLS to `localhost` (so the certificate's name is checked), as a user
 * the server admits only with a client certificate its CA signed, as they would reach a database that wants it.
 */
export function secureMysqlEnv() {
  const client = issuedFiles('mysql-client');
  return {
    MYSQL_URL: `mysql://${MYSQL_X509_USER}:${MYSQL_PASSWORD}@localhost:${readPorts().mysql}/${MYSQL_DATABASE}`,
    MYSQL_TLS_CA_FILE: localCaFile(),
    MYSQL_TLS_CERT_FILE: client.cert,
    MYSQL_TLS_KEY_FILE: client.key,
  } as const satisfies Record<string, string>;
}

/** Single quotes keep `$`, backticks and spaces literal under `eval`; a quote inside is closed, escaped, reopened. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** `unset` names what must not stay in the shell that evals the output. */
export function renderExports(env: Readonly<Record<string, string>>, unset: readonly string[] = []): string {
  return [...Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}`), ...unset.map((name) => `unset ${name}`)].join('\n');
}
