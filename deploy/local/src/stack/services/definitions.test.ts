import { describe, expect, it } from 'vitest';
import { kafkaProperties } from './kafka.js';
import { accountStatements } from './mysql.js';
import { localStackEnv } from '../endpoints.js';
import { readPorts } from '../ports.js';
import { PIPELINE, pipelineServices } from './pipeline.js';

describe('kafka server.properties', () => {
  it('runs combined KRaft on loopback with the given ports and no topic auto-creation', () => {
    const text = kafkaProperties('/data/kafka/logs', 9092, 9093);
    expect(text).toContain('listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
    expect(text).toContain('controller.quorum.voters=1@127.0.0.1:9093');
    expect(text).toContain('log.dirs=/data/kafka/logs');
    expect(text).toContain('auto.create.topics.enable=false');
    expect(text).not.toContain('SASL_SSL');
  });

  it('adds a SASL_SSL listener with PLAIN users and the broker\'s keystore, and an SSL one that wants a client certificate, when asked, the brokers talking among themselves in plain', () => {
    const text = kafkaProperties('/data/kafka/logs', 9092, 9093, { port: 9094, keystore: '/data/kafka/broker.p12', keystorePassword: 'pw', users: { orbit: 'secret' }, mtlsPort: 9095, clientCa: '/data/tls/ca.pem' });
    expect(text).toContain('listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,SASL_SSL://127.0.0.1:9094,SSL://127.0.0.1:9095');
    expect(text).toContain('advertised.listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9094,SSL://127.0.0.1:9095');
    expect(text).toContain('listener.name.ssl.ssl.client.auth=required');
    expect(text).toContain('listener.name.ssl.ssl.truststore.location=/data/tls/ca.pem');
    expect(text).toContain('inter.broker.listener.name=PLAINTEXT');
    expect(text).toContain('listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_orbit="secret";');
    expect(text).toContain('ssl.keystore.location=/data/kafka/broker.p12');
    expect(text).toContain('sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512');
    expect(text).toContain('listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;');
    expect(text).toContain('authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer');
  });
});

describe('mysql account statements', () => {
  it('are idempotent and grant the main and side databases from both hosts', () => {
    const statements = accountStatements('viewport', 'orbit', 'orbit');
    expect(statements[0]).toBe('CREATE DATABASE IF NOT EXISTS `viewport`');
    expect(statements.filter((s) => s.startsWith('CREATE USER IF NOT EXISTS'))).toHaveLength(2);
    expect(statements).toContain("GRANT ALL PRIVILEGES ON `viewport\\_%`.* TO 'orbit'@'127.0.0.1'");
    expect(statements).toContain("GRANT ALL PRIVILEGES ON `viewport`.* TO 'orbit'@'localhost'");
    expect(statements).toContain("ALTER USER 'orbit'@'127.0.0.1' REQUIRE NONE");
  });

  it('set what a TLS user must connect with on every start, so a user made before the requirement keeps up', () => {
    expect(accountStatements('viewport', 'orbit_x509', 'orbit', 'X509').filter((s) => s.startsWith('ALTER USER')))
      .toEqual(["ALTER USER 'orbit_x509'@'127.0.0.1' REQUIRE X509", "ALTER USER 'orbit_x509'@'localhost' REQUIRE X509"]);
  });
});

describe('pipeline services', () => {
  it('are the six services on distinct ports', () => {
    expect(PIPELINE.map(([name]) => name)).toEqual(['portal-gateway', 'image-validator', 'chart-generator', 'harbor-writer', 'viewport-projector', 'event-logger']);
    expect(new Set(PIPELINE.map(([, , port]) => port)).size).toBe(6);
  });

  it('run the two that stream images with a small young generation and glibc returning part buffers (bench:upload: peak RSS of the gateway)', () => {
    const launches = new Map(pipelineServices().map((service) => [service.name, service.prepare()]));
    for (const name of ['portal-gateway', 'harbor-writer']) {
      expect(launches.get(name)?.args.slice(0, -1), name).toEqual(['--max-semi-space-size=1']);
      expect(launches.get(name)?.env, name).toMatchObject({ MALLOC_MMAP_THRESHOLD_: '131072' });
    }
    expect(launches.get('image-validator')?.args).toHaveLength(1);
    expect(launches.get('image-validator')?.env?.['MALLOC_MMAP_THRESHOLD_']).toBeUndefined();
  });

  it('keep their health and metrics endpoints to this machine (a pod\'s default is every interface)', () => {
    for (const service of pipelineServices()) expect(service.prepare().env, service.name).toMatchObject({ HEALTH_HOST: '127.0.0.1' });
  });

  it('reach the broker on its SASL_SSL listener, trusting its certificate, each as a PLAIN user of its own (the stack env\'s KAFKA_BROKERS stays the plain one)', () => {
    for (const service of pipelineServices()) {
      expect(service.prepare().env, service.name).toMatchObject({
        KAFKA_BROKERS: `127.0.0.1:${readPorts().kafkaSecure}`, KAFKA_TLS_CA_FILE: expect.stringMatching(/\/data\/kafka\/broker-ca\.pem$/) as unknown,
        KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: `orbit-${service.name}`, KAFKA_SASL_PASSWORD: expect.any(String) as unknown,
      });
    }
    expect(localStackEnv()['KAFKA_BROKERS']).toBe(`127.0.0.1:${readPorts().kafka}`);
  });

  it('reach MariaDB over TLS by name with a client certificate, as the X509 user (the stack env\'s MYSQL_URL stays the plain one)', () => {
    for (const service of pipelineServices()) {
      expect(service.prepare().env, service.name).toMatchObject({
        MYSQL_URL: `mysql://orbit_x509:orbit@localhost:${readPorts().mysql}/viewport`, MYSQL_TLS_CA_FILE: expect.stringMatching(/\/data\/tls\/ca\.pem$/) as unknown,
        MYSQL_TLS_CERT_FILE: expect.stringMatching(/mysql-client-cert\.pem$/) as unknown, MYSQL_TLS_KEY_FILE: expect.stringMatching(/mysql-client-key\.pem$/) as unknown,
      });
    }
    expect(localStackEnv()['MYSQL_URL']).toBe(`mysql://orbit:orbit@127.0.0.1:${readPorts().mysql}/viewport`);
  });
});
