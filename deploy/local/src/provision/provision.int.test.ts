import { describe, expect, it } from 'vitest';
import {
  CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient, PutItemCommand, QueryCommand, ResourceNotFoundException, ScanCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteBucketCommand, GetBucketEncryptionCommand, GetBucketLifecycleConfigurationCommand, GetBucketPolicyCommand, GetBucketVersioningCommand, PutBucketPolicyCommand,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import {
  AclOperationTypes, AclPermissionTypes, AclResourceTypes, bucketNames, ConfigResourceTypes, createKafka, kafkaConnection, ResourcePatternTypes, createLogger, createMysqlPool, createS3, readConfig, runtimeEnv,
  tableName, TABLES, TOPICS, type ServiceName, type TableKey,
} from '@orbit/lib';
import { kafkaServiceUser } from '../stack/endpoints.js';
import { provisionAcls, serviceAcls } from './acls.js';
import { bucketPolicy, provisionBucket, samePolicy } from './buckets.js';
import { changedSomething, provisionAll, readProvisionConfig } from './index.js';
import { loadMigrations, migrate } from './migrations.js';
import { createTableInput, provisionTables } from './tables.js';

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
      expect([first.map((step) => step.action), second.map((step) => step.action)]).toEqual([Array(11).fill('created'), Array(11).fill('found')]);
      const granted = await admin.describeAcls({ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, principal, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY });
      expect(granted.resources.flatMap((resource) => resource.acls.map(() => `${resource.resourceType}:${resource.resourceName}`)).sort()).toEqual([
        `${AclResourceTypes.TOPIC}:orbit.`, `${AclResourceTypes.TOPIC}:orbit.`, `${AclResourceTypes.TOPIC}:orbit.`, `${AclResourceTypes.TOPIC}:orbit.`,
        `${AclResourceTypes.GROUP}:*`, `${AclResourceTypes.GROUP}:*`, `${AclResourceTypes.GROUP}:viewport-rebuild-`, `${AclResourceTypes.GROUP}:orbit-events-refill-`, `${AclResourceTypes.CLUSTER}:kafka-cluster`,
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

  it('adds the indexes an earlier Orbit\'s tables lack in place, one after another, keeping their rows; a second run changes nothing', async () => {
    // Private names: the tables of a whole installation under a suffix of this test's own.
    const suffix = `-prov-${randomBytes(4).toString('hex')}`;
    const suffixes = { ORBIT_DEV_TABLE_SUFFIX: suffix, ORBIT_TEST_TABLE_SUFFIX: suffix, ORBIT_STAGING_TABLE_SUFFIX: suffix, ORBIT_PRODUCTION_TABLE_SUFFIX: suffix };
    const dynamo = new DynamoDBClient({ region: config.AWS_REGION, endpoint: config.AWS_ENDPOINT_URL_DYNAMODB });
    const eventLog = tableName('userEventLog', suffixes);
    const errorLog = tableName('userErrorLog', suffixes);
    try {
      // 1. The event log as made before byCorrelationId, the error log before any index; a row in each.
      const wantedEvents = createTableInput(eventLog, TABLES.userEventLog);
      await dynamo.send(new CreateTableCommand({
        ...wantedEvents,
        GlobalSecondaryIndexes: wantedEvents.GlobalSecondaryIndexes?.filter((index) => index.IndexName !== 'byCorrelationId'),
        AttributeDefinitions: wantedEvents.AttributeDefinitions?.filter((attribute) => attribute.AttributeName !== 'correlationId'),
      }));
      const wantedErrors = createTableInput(errorLog, TABLES.userErrorLog);
      await dynamo.send(new CreateTableCommand({
        TableName: errorLog, BillingMode: 'PAY_PER_REQUEST', KeySchema: wantedErrors.KeySchema,
        AttributeDefinitions: wantedErrors.AttributeDefinitions?.filter((attribute) => attribute.AttributeName === 'pid' || attribute.AttributeName === 'eventKey'),
      }));
      const row = { pid: { S: 'pid-1' }, eventKey: { S: '2026-12-01T00:00:00.000Z#1' }, username: { S: 'alice' }, imageUID: { S: 'img-1' }, correlationId: { S: 'corr-1' } };
      await dynamo.send(new PutItemCommand({ TableName: eventLog, Item: row }));
      await dynamo.send(new PutItemCommand({ TableName: errorLog, Item: row }));

      // 2. Provisioning adds what is missing and says so.
      const first = await provisionTables(dynamo, suffixes, { maxMs: 60_000, pollMs: 100 });
      // Made by an earlier Orbit, the logs had no TTL either: it is turned on with the indexes.
      expect(first.find((step) => step.name === eventLog)).toEqual({ kind: 'table', name: eventLog, action: 'updated', detail: 'index byCorrelationId added; TTL on expiresAt enabled' });
      expect(first.find((step) => step.name === errorLog)).toEqual({ kind: 'table', name: errorLog, action: 'updated', detail: 'indexes byImageUID, byCorrelationId added; TTL on expiresAt enabled' });
      expect(first.filter((step) => step.name !== eventLog && step.name !== errorLog).map((step) => step.action)).toEqual(Array(Object.keys(TABLES).length - 2).fill('created'));

      // 3. The rows are still there, and the new indexes are ACTIVE and find them.
      for (const table of [eventLog, errorLog]) {
        expect((await dynamo.send(new ScanCommand({ TableName: table }))).Items).toEqual([row]);
        const indexes = (await dynamo.send(new DescribeTableCommand({ TableName: table }))).Table?.GlobalSecondaryIndexes ?? [];
        expect(indexes.every((index) => index.IndexStatus === 'ACTIVE')).toBe(true);
        const found = await dynamo.send(new QueryCommand({ TableName: table, IndexName: 'byCorrelationId', KeyConditionExpression: 'correlationId = :c', ExpressionAttributeValues: { ':c': { S: 'corr-1' } } }));
        expect(found.Items).toEqual([row]);
      }
      expect((await dynamo.send(new DescribeTableCommand({ TableName: eventLog }))).Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(['byCorrelationId', 'byImageUID', 'byUsername']);

      // 4. A second run finds everything as it is.
      const second = await provisionTables(dynamo, suffixes, { maxMs: 60_000, pollMs: 100 });
      expect(second.filter((step) => step.action !== 'found')).toEqual([]);
    } finally {
      for (const key of Object.keys(TABLES) as TableKey[]) {
        await dynamo.send(new DeleteTableCommand({ TableName: tableName(key, suffixes) })).catch((error: unknown) => { if (!(error instanceof ResourceNotFoundException)) throw error; });
      }
      dynamo.destroy();
    }
  });

  it('puts a bucket policy back whose condition drifted under the same Sid, and leaves a policy as provisioned alone', async () => {
    const s3 = createS3(config);
    const bucket = `orbit-prov-${randomBytes(4).toString('hex')}`;
    const policyOf = async (): Promise<string> => (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '';
    try {
      expect(await provisionBucket(s3, bucket, 'archives')).toMatchObject({ action: 'created' });
      // 1. As provisioned, and as MinIO answers it back: found, nothing written.
      expect(await provisionBucket(s3, bucket, 'archives')).toEqual({ kind: 'bucket', name: bucket, action: 'found' });
      // 2. Same Sids and Effects, but an older condition: only AES256 allowed.
      const drifted = JSON.parse(bucketPolicy(bucket)) as { Statement: { Sid: string; Condition?: unknown }[] };
      for (const statement of drifted.Statement) {
        if (statement.Sid === 'DenyOtherEncryption') statement.Condition = { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } };
      }
      await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(drifted) }));
      expect(samePolicy(await policyOf(), bucketPolicy(bucket))).toBe(false);
      // 3. Provisioning sees it, writes the policy Orbit needs and says so; then leaves it alone.
      expect(await provisionBucket(s3, bucket, 'archives')).toEqual({ kind: 'bucket', name: bucket, action: 'updated', detail: 'policy' });
      expect(samePolicy(await policyOf(), bucketPolicy(bucket))).toBe(true);
      expect(await policyOf()).toContain('aws:kms');
      expect(await provisionBucket(s3, bucket, 'archives')).toEqual({ kind: 'bucket', name: bucket, action: 'found' });
    } finally {
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      s3.destroy();
    }
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
