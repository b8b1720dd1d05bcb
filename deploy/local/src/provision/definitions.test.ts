import { describe, expect, it } from 'vitest';
import { TABLES, tableName } from '@orbit/lib';
import { aclName, servicePrincipalAcls } from './acls.js';
import { bucketPolicy } from './buckets.js';
import { aclsOf, readProvisionConfig } from './index.js';
import { createTableInput } from './tables.js';
import { loadMigrations } from './migrations.js';

const suffixes = { ORBIT_DEV_TABLE_SUFFIX: '-tbl-k8d-aws', ORBIT_TEST_TABLE_SUFFIX: '-tbl-k8t-aws', ORBIT_STAGING_TABLE_SUFFIX: '-tbl-k8s-aws', ORBIT_PRODUCTION_TABLE_SUFFIX: '-tbl-k8p-aws' };

describe('Chart Store tables', () => {
  it('carry the environment suffix', () => {
    expect(tableName('kustomizeDevelopment', suffixes)).toBe('k8or-kustomize-1609-tbl-k8d-aws');
    expect(tableName('kustomizeTesting', suffixes)).toBe('k8or-kustomize-1630-tbl-k8t-aws');
  });

  it('give the event log its timeline indexes', () => {
    const input = createTableInput('log', TABLES.userEventLog);
    expect(input?.KeySchema).toEqual([{ AttributeName: 'pid', KeyType: 'HASH' }, { AttributeName: 'eventKey', KeyType: 'RANGE' }]);
    expect(input?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(['byCorrelationId', 'byImageUID', 'byUsername']);
    // Every key attribute, of the table and of each index, is declared exactly once.
    const declared = input?.AttributeDefinitions?.map((attribute) => attribute.AttributeName) ?? [];
    expect(new Set(declared).size).toBe(declared.length);
    expect(declared.sort()).toEqual(['correlationId', 'eventKey', 'imageUID', 'pid', 'username']);
  });
});

describe('bucket policy', () => {
  it('denies anonymous access and unencrypted uploads', () => {
    const policy = JSON.parse(bucketPolicy('b')) as { Statement: { Sid: string; Effect: string; Resource: string | string[] }[] };
    expect(policy.Statement.map((statement) => `${statement.Sid}:${statement.Effect}`)).toEqual(['DenyAnonymousAccess:Deny', 'DenyOtherEncryption:Deny']);
    expect(policy.Statement[1]?.Resource).toBe('arn:aws:s3:::b/*');
  });
});

describe('migrations', () => {
  it('are numbered, ordered and create wp_image_uid', () => {
    const migrations = loadMigrations();
    expect(migrations.map((migration) => migration.version)).toEqual([...migrations.map((migration) => migration.version)].sort());
    expect(migrations[0]?.sql).toContain('CREATE TABLE IF NOT EXISTS wp_image_uid');
  });
});

describe('a service\'s own Kafka principal', () => {
  it('is granted what that service does and nothing more: the validator reads uploads and writes its verdicts, never a transfer', () => {
    expect(servicePrincipalAcls('image-validator', 'User:v').map(aclName)).toEqual([
      'User:v read topics orbit.upload.requested',
      'User:v write topics orbit.image.validated',
      'User:v write topics orbit.image.rejected',
      // Its dead-letter hook fails the upload's request there: refused, the request would wait for ever.
      'User:v write topics orbit.pipeline.failed',
      'User:v write topics orbit.upload.requested.dlq',
      'User:v read groups image-validator*',
      'User:v idempotent write cluster kafka-cluster',
    ]);
  });

  it('lets every consumer that fails a request on a dead letter write orbit.pipeline.failed', () => {
    for (const service of ['image-validator', 'chart-generator', 'harbor-writer', 'viewport-projector'] as const) {
      expect(servicePrincipalAcls(service, 'User:s').map(aclName), service).toContain('User:s write topics orbit.pipeline.failed');
    }
  });

  it('lets the gateway write the commands and see the projector\'s positions, reading no topic', () => {
    const names = servicePrincipalAcls('portal-gateway', 'User:g').map(aclName);
    expect(names).toContain('User:g write topics orbit.transfer.requested');
    expect(names).toContain('User:g describe groups viewport-projector');
    expect(names.filter((name) => name.includes(' read '))).toEqual([]);
  });

  it('is provisioned for each service whose variable names one, beside the all-topics principals', () => {
    const config = readProvisionConfig({ ORBIT_KAFKA_SERVICE_PRINCIPALS: 'User:ops', ORBIT_KAFKA_PRINCIPAL_EVENT_LOGGER: 'User:logger' });
    const principals = new Set(aclsOf(config).map((entry) => entry.principal));
    expect([...principals]).toEqual(['User:ops', 'User:logger']);
    expect(() => readProvisionConfig({ ORBIT_KAFKA_PRINCIPAL_HARBOR_WRITER: 'harbor-writer' })).toThrow(/ORBIT_KAFKA_PRINCIPAL_HARBOR_WRITER: must be a principal as Type:name/);
  });
});
