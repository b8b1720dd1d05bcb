import { describe, expect, it } from 'vitest';
import { GetObjectCommand, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { bucketNames, createDynamo, createMysqlPool, createS3, tableName, withCreatedTimestamps } from '@orbit/lib';
import { quietLogger, testConfig, testKafka, uniqueSuffix } from '../helpers/index.js';
import { RegistryAdmin } from '@orbit/schemas';

/** Every store answers through the project's own clients and configuration. */
describe('stores of the local stack', () => {
  const suffix = uniqueSuffix();

  it('Kafka: the broker describes its cluster and lists the provisioned topics', async () => {
    const admin = testKafka().admin();
    await admin.connect();
    try {
      expect((await admin.describeCluster()).brokers.length).toBeGreaterThan(0);
      expect(await admin.listTopics()).toEqual(expect.arrayContaining(['orbit.upload.requested', 'orbit.upload.requested.dlq']));
    } finally {
      await admin.disconnect();
    }
    expect(quietLogger).toBeDefined();
  });

  it('schema registry: lists the Orbit subjects', async () => {
    expect(await new RegistryAdmin(testConfig.SCHEMA_REGISTRY_URL).subjects()).toEqual(expect.arrayContaining(['orbit.image.stored-value']));
  });

  it('S3: writes an encrypted, versioned object and reads the same bytes back', async () => {
    const s3 = createS3(testConfig);
    const bucket = bucketNames(testConfig).development;
    const key = `test/reachability-${suffix}.txt`;
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'orbit', ServerSideEncryption: 'AES256', ChecksumAlgorithm: 'SHA256' }));
    expect(put.VersionId).toBeTruthy();
    expect(put.ServerSideEncryption).toBe('AES256');
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await got.Body?.transformToString()).toBe('orbit');
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  });

  it('DynamoDB: puts and gets an event-log row with both creation stamps', async () => {
    const dynamo = createDynamo(testConfig);
    const table = tableName('userEventLog', testConfig);
    const item = withCreatedTimestamps({ pid: `test-${suffix}`, eventKey: '1', username: 'u', imageUID: 'x', correlationId: 'c' });
    await dynamo.send(new PutCommand({ TableName: table, Item: item }));
    const got = await dynamo.send(new GetCommand({ TableName: table, Key: { pid: item.pid, eventKey: '1' } }));
    expect(got.Item).toEqual(item);
    await dynamo.send(new DeleteCommand({ TableName: table, Key: { pid: item.pid, eventKey: '1' } }));
  });

  it('MySQL (MariaDB): ViewPort tables answer', async () => {
    const pool = createMysqlPool(testConfig.MYSQL_URL, 1);
    try {
      const [rows] = await pool.query('SELECT COUNT(*) AS n FROM wp_posts');
      expect(Number((rows as { n: string }[])[0]?.n)).toBeGreaterThanOrEqual(0);
    } finally {
      await pool.end();
    }
  });
});
