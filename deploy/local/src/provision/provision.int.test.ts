import { describe, expect, it } from 'vitest';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetBucketEncryptionCommand, GetBucketLifecycleConfigurationCommand, GetBucketPolicyCommand, GetBucketVersioningCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import {
  AclOperationTypes, AclPermissionTypes, AclResourceTypes, bucketNames, ConfigResourceTypes, createKafka, kafkaConnection, ResourcePatternTypes, createLogger, createMysqlPool, createS3, readConfig, runtimeEnv,
  tableName, TOPICS, type ServiceName,
} from '@orbit/lib';
import { kafkaServiceUser } from '../stack/endpoints.js';
import { provisionAcls, serviceAcls } from './acls.js';
import { changedSomething, provisionAll, readProvisionConfig } from './index.js';
import { loadMigrations, migrate } from './migrations.js';

const config = readProvisionConfig();
const log = createLogger({ service: 'test', level: 'silent' });

describe('provisioning against the real stack', () => {
  it('is idempotent: a second run finds everything and changes nothing', async () => {
    await provisionAll(config, log);
    const second = await provisionAll(config, log);
    expect(changedSomething(second), JSON.stringify(second.filter((step) => step.action !== 'found'))).toBe(false);
    expect(second.filter((step) => step.kind === 'topic')).toHaveLength(20);
    expect(second.filter((step) => step.kind === 'schema')).toHaveLength(10);
    expect(second.filter((step) => step.kind === 'table')).toHaveLength(10);
    expect(second.filter((step) => step.kind === 'bucket')).toHaveLength(6);
    // The stack's env names the services' principal (User:orbit), so the broker's ACLs are provisioned too.
    expect(second.filter((step) => step.kind === 'acl').map((step) => step.name)).toContain('User:orbit write topics orbit.*');
  });

  it('grants a new services\' principal its ACLs once: created, then found', async () => {
    const principal = `User:orbit-test-${randomBytes(4).toString('hex')}`;
    const admin = createKafka({ clientId: 'test', brokers: config.KAFKA_BROKERS, logger: log }).admin();
    await admin.connect();
    try {
      const first = await provisionAcls(admin, serviceAcls([principal]));
      const second = await provisionAcls(admin, serviceAcls([principal]));
      expect([first.map((step) => step.action), second.map((step) => step.action)]).toEqual([Array(9).fill('created'), Array(9).fill('found')]);
      const granted = await admin.describeAcls({ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, principal, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY });
      expect(granted.resources.flatMap((resource) => resource.acls.map(() => `${resource.resourceType}:${resource.resourceName}`)).sort()).toEqual([
        `${AclResourceTypes.TOPIC}:orbit.`, `${AclResourceTypes.TOPIC}:orbit.`, `${AclResourceTypes.TOPIC}:orbit.`,
        `${AclResourceTypes.GROUP}:*`, `${AclResourceTypes.GROUP}:*`, `${AclResourceTypes.GROUP}:viewport-rebuild-`, `${AclResourceTypes.CLUSTER}:kafka-cluster`,
        `${AclResourceTypes.TRANSACTIONAL_ID}:orbit-dlq-redrive.`, `${AclResourceTypes.TRANSACTIONAL_ID}:orbit-dlq-redrive.`,
      ].sort());
      await admin.deleteAcls({ filters: [{ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, principal, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }] });
    } finally {
      await admin.disconnect();
    }
  });

  it('leaves lifecycle topics with infinite retention', async () => {
    const admin = createKafka({ clientId: 'test', brokers: config.KAFKA_BROKERS, logger: log }).admin();
    await admin.connect();
    try {
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orbit.image.stored', configNames: ['retention.ms'] }] });
      expect(described.resources[0]?.configEntries[0]?.configValue).toBe('-1');
    } finally {
      await admin.disconnect();
    }
  });

  it('creates buckets versioned, encrypted, guarded by policy, staging with expiry', async () => {
    const s3 = createS3(config);
    const buckets = bucketNames(config);
    for (const bucket of [buckets.staging, buckets.development, buckets.testing, buckets.stagingEnvironment, buckets.production, buckets.charts]) {
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
      const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
      expect(encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');
      expect((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy).toContain('DenyOtherEncryption');
    }
    const lifecycle = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: buckets.staging }));
    expect(lifecycle.Rules?.[0]?.Expiration?.Days).toBe(1);
  });

  it('creates the event log with its timeline indexes', async () => {
    const dynamo = new DynamoDBClient({ region: config.AWS_REGION, endpoint: config.AWS_ENDPOINT_URL_DYNAMODB });
    const table = await dynamo.send(new DescribeTableCommand({ TableName: tableName('userEventLog', config) }));
    expect(table.Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(['byCorrelationId', 'byImageUID', 'byUsername']);
  });

  it('creates the database when it is not there, as a rebuild from nothing needs, and then finds it', async () => {
    const url = new URL(config.MYSQL_URL);
    const database = `${url.pathname.slice(1)}_lost_${Date.now()}`;
    url.pathname = `/${database}`;
    const pool = createMysqlPool(config.MYSQL_URL, 1);
    try {
      const first = await migrate({ url: url.toString() });
      expect(first[0]).toEqual({ kind: 'database', name: database, action: 'created' });
      expect(first.filter((step) => step.action === 'applied')).toHaveLength(loadMigrations().length);
      const second = await migrate({ url: url.toString() });
      expect(changedSomething(second)).toBe(false);
      const [tables] = await pool.query('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [database, 'wp_image_uid']);
      expect(Number((tables as { n: number | string }[])[0]?.n)).toBe(1);
    } finally {
      await pool.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await pool.end();
    }
  });

  it('records applied migrations once', async () => {
    const pool = createMysqlPool(config.MYSQL_URL, 1);
    try {
      const [rows] = await pool.query('SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version');
      for (const row of rows as { n: number | string }[]) expect(Number(row.n)).toBe(1);
      await pool.query('SELECT image_uid FROM wp_image_uid LIMIT 1');
    } finally {
      await pool.end();
    }
  });
});

describe('each service\'s own principal on the local broker (SASL_SSL, ACLs enforced)', () => {
  const asService = (service: ServiceName) => {
    const { user, password } = kafkaServiceUser(service);
    const env = (name: string): string => {
      const value = process.env[name];
      if (!value) throw new Error(`${name} is not set: run the test with the local stack's env (npm run stack:env)`);
      return value;
    };
    return createKafka({
      clientId: `as-${service}`, logger: log, retries: 0, connectionTimeoutMs: 3_000,
      ...kafkaConnection(readConfig(runtimeEnv, { KAFKA_BROKERS: env('ORBIT_STACK_KAFKA_SECURE_BROKERS'), KAFKA_TLS_CA_FILE: env('ORBIT_STACK_KAFKA_CA_FILE'), KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: user, KAFKA_SASL_PASSWORD: password })),
    });
  };

  it('lets the image-validator write its verdicts but not a transfer, which would skip the gateway\'s role and chain checks', async () => {
    const producer = asService('image-validator').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // Not a decodable event: the topic's consumers dead-letter it; what is asserted is the broker's answer.
      await expect(producer.send({ topic: TOPICS.transferRequested, acks: -1, messages: [{ key: 'forged', value: 'promote me' }] })).rejects.toThrow(/not authorized/i);
      await expect(producer.send({ topic: TOPICS.chartPromoted, acks: -1, messages: [{ key: 'forged', value: 'promoted' }] })).rejects.toThrow(/not authorized/i);
    } finally {
      await producer.disconnect();
    }
    const admin = asService('image-validator').admin();
    await admin.connect();
    try {
      // Describing is what writing needs first; reading and writing are each granted per topic.
      await expect(admin.fetchTopicMetadata({ topics: [TOPICS.imageValidated, TOPICS.uploadRequested] })).resolves.toBeDefined();
    } finally {
      await admin.disconnect();
    }
  });

  it('keeps the event-logger, which reads everything, from writing any event', async () => {
    const producer = asService('event-logger').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (const topic of [TOPICS.imageStored, TOPICS.viewportUpdated]) {
        await expect(producer.send({ topic, acks: -1, messages: [{ key: 'forged', value: 'x' }] })).rejects.toThrow(/not authorized/i);
      }
    } finally {
      await producer.disconnect();
    }
  });
});
