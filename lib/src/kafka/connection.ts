import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';
import { env } from '../config.js';
import { ConfigError } from '../errors.js';
import { readTlsFiles } from '../tls-files.js';

/**
 * How every Orbit process reaches the brokers: plain TCP on the local stack;
 * TLS and SASL for a cluster that wants them (Confluent Cloud and Aiven take
 * SASL/PLAIN or SCRAM over TLS, MSK SCRAM over TLS or mutual TLS). Without
 * authenticated principals a broker's ACLs cannot tell Orbit's services from
 * anyone else, which the topics' trust model (README, "Honest limits") needs.
 */
export const kafkaConnectionEnv = {
  /** SASL mechanism; unset: no SASL. @default unset */
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512'], { message: 'must be plain, scram-sha-256 or scram-sha-512' }).optional(),
  /** SASL user, with KAFKA_SASL_MECHANISM. */
  KAFKA_SASL_USERNAME: env.optionalString(),
  /** SASL password, with KAFKA_SASL_MECHANISM. */
  KAFKA_SASL_PASSWORD: env.optionalString(),
  /** TLS to the brokers, trusting the system's CAs unless KAFKA_TLS_CA_FILE names others; on by itself when a KAFKA_TLS_*_FILE is set. @default false */
  KAFKA_TLS: env.bool(false),
  /** PEM file of the CAs the brokers' certificates are checked against. */
  KAFKA_TLS_CA_FILE: env.optionalString(),
  /** PEM certificate for mutual TLS, with KAFKA_TLS_KEY_FILE. */
  KAFKA_TLS_CERT_FILE: env.optionalString(),
  /** PEM private key for mutual TLS, with KAFKA_TLS_CERT_FILE. */
  KAFKA_TLS_KEY_FILE: env.optionalString(),
};

export interface KafkaConnectionConfig {
  readonly KAFKA_BROKERS: readonly string[];
  readonly KAFKA_SASL_MECHANISM?: SaslMechanism | undefined;
  readonly KAFKA_SASL_USERNAME?: string | undefined;
  readonly KAFKA_SASL_PASSWORD?: string | undefined;
  readonly KAFKA_TLS?: boolean | undefined;
  readonly KAFKA_TLS_CA_FILE?: string | undefined;
  readonly KAFKA_TLS_CERT_FILE?: string | undefined;
  readonly KAFKA_TLS_KEY_FILE?: string | undefined;
}

export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly ssl?: ConnectionOptions;
  readonly sasl?: SaslCredentials;
}

/** One object per mechanism, as the client's types want them. */
export type SaslCredentials = { readonly [M in SaslMechanism]: { readonly mechanism: M; readonly username: string; readonly password: string } }[SaslMechanism];
export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/**
 * The brokers and how to reach them, checked together: a mechanism without
 * its user or password, a user without a mechanism, half of a client
 * certificate, or a file that cannot be read is refused at start, one line
 * each, rather than as a broker's refusal later.
 */
export function kafkaConnection(config: KafkaConnectionConfig, readFile: (path: string) => Buffer = readFileSync): KafkaConnection {
  const problems: string[] = [];
  const mechanism = config.KAFKA_SASL_MECHANISM;
  const { KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  if (mechanism !== undefined) {
    if (username === undefined) problems.push(`KAFKA_SASL_USERNAME: is missing: KAFKA_SASL_MECHANISM=${mechanism} needs a user`);
    if (password === undefined) problems.push(`KAFKA_SASL_PASSWORD: is missing: KAFKA_SASL_MECHANISM=${mechanism} needs a password`);
  } else if (username !== undefined || password !== undefined) {
    problems.push('KAFKA_SASL_MECHANISM: is missing: KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set, so name the mechanism (plain, scram-sha-256 or scram-sha-512)');
  }
  const { requested: tls, ca, clientCertificate } = readTlsFiles('KAFKA_TLS', config, problems, { asked: config.KAFKA_TLS, certificateNeeds: 'mutual TLS', readFile });
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    brokers: config.KAFKA_BROKERS,
    ...(tls ? { ssl: { ...(ca ? { ca } : {}), ...clientCertificate } } : {}),
    ...(mechanism !== undefined && username !== undefined && password !== undefined ? { sasl: { mechanism, username, password } } : {}),
  };
}
