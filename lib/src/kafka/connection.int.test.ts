import { describe, expect, it } from 'vitest';
import { createTestTopics, quietLogger, readAll, testKafka, uniqueSuffix } from '../../../test/helpers/index.js';
import { readConfig } from '../config.js';
import { runtimeEnv } from '../runtime-config.js';
import { createKafka, orbitProducer } from './client.js';
import { kafkaConnection } from './connection.js';

/** The local broker's SASL_SSL listener, as `stack env` names it: a self-signed certificate and a PLAIN user. */
const stack = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the test with the local stack's env (npm run stack:env)`);
  return value;
};

function secureEnv(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    KAFKA_BROKERS: stack('ORBIT_STACK_KAFKA_SECURE_BROKERS'),
    KAFKA_TLS_CA_FILE: stack('ORBIT_STACK_KAFKA_CA_FILE'),
    KAFKA_SASL_MECHANISM: 'plain',
    KAFKA_SASL_USERNAME: stack('ORBIT_STACK_KAFKA_SASL_USERNAME'),
    KAFKA_SASL_PASSWORD: stack('ORBIT_STACK_KAFKA_SASL_PASSWORD'),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** `retries: 0` for the refusals, so each answers at once; the idempotent producer wants its retries. */
const clientOf = (env: Record<string, string>, retries?: number) => createKafka({
  clientId: `secure-${uniqueSuffix()}`, ...kafkaConnection(readConfig(runtimeEnv, env)), logger: quietLogger, connectionTimeoutMs: 3_000, ...(retries === undefined ? {} : { retries }),
});

/** What a client configured by `env` reads back of one message it wrote to a fresh orbit. topic (the services' user is granted those alone). */
async function roundTrip(env: Record<string, string>): Promise<(string | undefined)[]> {
  const topic = `orbit.test.secure.${uniqueSuffix()}`;
  await createTestTopics(testKafka(), [topic]);
  const secure = clientOf(env);
  const producer = orbitProducer(secure);
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ key: 'k', value: 'over TLS, as orbit' }] });
  } finally {
    await producer.disconnect();
  }
  return (await readAll(secure, topic, 1)).map((message) => message.value?.toString());
}

/** 'connected', or the error a client configured by `env` met. */
async function connect(env: Record<string, string>): Promise<string> {
  const admin = clientOf(env, 0).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return 'connected';
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  } finally {
    await admin.disconnect();
  }
}

describe('a broker that wants TLS and SASL (the local SASL_SSL listener)', () => {
  it.each(['plain', 'scram-sha-256', 'scram-sha-512'])('is written to and read from by Orbit\'s client when its CA and user are configured (SASL %s)', async (mechanism) => {
    expect(await roundTrip(secureEnv({ KAFKA_SASL_MECHANISM: mechanism }))).toEqual(['over TLS, as orbit']);
  });

  it('admits a client by its certificate alone on the mutual TLS listener, as the user its CN names, and refuses one without', async () => {
    const mutualTls = (certificate: boolean): Record<string, string> => secureEnv({
      KAFKA_BROKERS: stack('ORBIT_STACK_KAFKA_MTLS_BROKERS'), KAFKA_SASL_MECHANISM: undefined, KAFKA_SASL_USERNAME: undefined, KAFKA_SASL_PASSWORD: undefined,
      ...(certificate ? { KAFKA_TLS_CERT_FILE: stack('ORBIT_STACK_KAFKA_CLIENT_CERT_FILE'), KAFKA_TLS_KEY_FILE: stack('ORBIT_STACK_KAFKA_CLIENT_KEY_FILE') } : {}),
    });
    expect(await roundTrip(mutualTls(true))).toEqual(['over TLS, as orbit']);
    expect(await connect(mutualTls(false))).not.toBe('connected');
  });

  it('refuses a wrong password, a certificate the client does not trust, a client that speaks no TLS, with PLAIN and SCRAM alike', async () => {
    expect(await connect(secureEnv({ KAFKA_SASL_PASSWORD: 'wrong' }))).toMatch(/SASL PLAIN authentication failed|Authentication failed/i);
    expect(await connect(secureEnv({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: 'wrong' }))).toMatch(/SASL SCRAM SHA512 authentication failed|Authentication failed/i);
    expect(await connect(secureEnv({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_PASSWORD: 'wrong' }))).toMatch(/SASL SCRAM SHA256 authentication failed|Authentication failed/i);
    // Without the CA file, TLS is still asked for (KAFKA_TLS) and the system CAs do not know the broker's certificate.
    expect(await connect(secureEnv({ KAFKA_TLS_CA_FILE: undefined, KAFKA_TLS: 'true' }))).toMatch(/self[- ]signed certificate/i);
    expect(await connect(secureEnv({ KAFKA_TLS_CA_FILE: undefined, KAFKA_SASL_MECHANISM: undefined, KAFKA_SASL_USERNAME: undefined, KAFKA_SASL_PASSWORD: undefined }))).not.toBe('connected');
  });

  it('refuses a user the broker knows but Orbit\'s ACLs do not name: it can neither write an Orbit topic nor read one, and Orbit\'s user can go nowhere else', async () => {
    const [outsider, outsiderPassword] = (process.env['ORBIT_STACK_KAFKA_OUTSIDER'] ?? '').split(':') as [string, string];
    const intruder = clientOf(secureEnv({ KAFKA_SASL_USERNAME: outsider, KAFKA_SASL_PASSWORD: outsiderPassword }));
    const producer = intruder.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // A TransferRequested written straight to Kafka would skip the gateway's role and chain checks.
      await expect(producer.send({ topic: 'orbit.transfer.requested', acks: -1, messages: [{ key: 'x', value: 'forged' }] })).rejects.toThrow(/not authorized/i);
    } finally {
      await producer.disconnect();
    }
    const consumer = intruder.consumer({ groupId: `outsider-${uniqueSuffix()}` });
    await consumer.connect();
    try {
      await expect(consumer.subscribe({ topics: ['orbit.upload.requested'], fromBeginning: true })).rejects.toThrow(/not authorized/i);
    } finally {
      await consumer.disconnect();
    }
    const elsewhere = `test.secure.${uniqueSuffix()}`;
    await createTestTopics(testKafka(), [elsewhere]);
    const orbitProducerElsewhere = clientOf(secureEnv()).producer({ allowAutoTopicCreation: false });
    await orbitProducerElsewhere.connect();
    try {
      await expect(orbitProducerElsewhere.send({ topic: elsewhere, acks: -1, messages: [{ value: 'not ours' }] })).rejects.toThrow(/not authorized/i);
    } finally {
      await orbitProducerElsewhere.disconnect();
    }
  });
});
