import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import {
  bucketEnv, bucketNames, corsOriginsEnv, createKafka, createS3, kafkaConnection, mysqlTarget, readCheckedConfig, runtimeEnv, SERVICE_KAFKA_USE, type AclEntry, type ConfigOf, type Logger, type ServiceName,
} from '@orbit/lib';
import { loadSchemas, RegistryAdmin, SchemaRejectedError, syncSubject } from '@orbit/schemas';
import { principalVariableOf, provisionAcls, serviceAcls, servicePrincipalAcls } from './acls.js';
import { provisionBuckets } from './buckets.js';
import { migrate } from './migrations.js';
import type { ProvisionStep } from './report.js';
import { provisionTables } from './tables.js';
import { loadTopicPlan } from './topic-plan.js';
import { provisionTopics } from './topics.js';

export const provisionEnv = {
  ...runtimeEnv,
  ...bucketEnv,
  /**
   * Kafka principals of Orbit's services (`User:orbit`, comma-separated): given, provisioning grants them the `orbit.`
   * topics, consumer groups and idempotent writes, for a broker whose authorizer refuses whoever has no ACL. @default none
   */
  ORBIT_KAFKA_SERVICE_PRINCIPALS: z.string().optional().transform((value) => (value ?? '').split(',').map((part) => part.trim()).filter(Boolean))
    .refine((principals) => principals.every((principal) => /^[A-Za-z]+:.+$/.test(principal)), { message: 'must list principals as Type:name, such as User:orbit' }),
  ...servicePrincipalEnv(),
  /**
   * The gateway's browser origins (read as it reads them): given, every bucket gets a CORS rule for them, a presigned
   * PUT into staging and a GET of the archive and chart buckets (corsRuleOf). @default '' (the buckets' CORS left as it is)
   */
  ORBIT_CORS_ORIGINS: corsOriginsEnv,
};

/**
 * One principal per service (`User:orbit-image-validator`), each granted only what that service does
 * (servicePrincipalAcls). @default none
 */
function servicePrincipalEnv(): Record<`ORBIT_KAFKA_PRINCIPAL_${string}`, z.ZodOptional<z.ZodString>> {
  return Object.fromEntries((Object.keys(SERVICE_KAFKA_USE) as ServiceName[]).map((service) => [
    principalVariableOf(service), z.string().regex(/^[A-Za-z]+:.+$/, { message: 'must be a principal as Type:name, such as User:orbit-image-validator' }).optional(),
  ]));
}

/** Every ACL provisioning grants: the all-topics principals, and each service's own. */
export function aclsOf(config: ProvisionConfig): AclEntry[] {
  const own = (Object.keys(SERVICE_KAFKA_USE) as ServiceName[]).flatMap((service) => {
    const principal = (config as Readonly<Record<string, unknown>>)[principalVariableOf(service)];
    return typeof principal === 'string' ? servicePrincipalAcls(service, principal) : [];
  });
  return [...serviceAcls(config.ORBIT_KAFKA_SERVICE_PRINCIPALS), ...own];
}
export type ProvisionConfig = ConfigOf<typeof provisionEnv>;

/** The variables, MySQL's connection and Kafka's checked in one pass: every problem in one report, not one round per fix. */
export function readProvisionConfig(processEnv: NodeJS.ProcessEnv = process.env): ProvisionConfig {
  return readCheckedConfig(provisionEnv, { mysql: (read) => mysqlTarget(read), kafka: (read) => kafkaConnection(read) }, processEnv).config;
}

export async function provisionSchemas(registryUrl: string): Promise<ProvisionStep[]> {
  const admin = new RegistryAdmin(registryUrl);
  const steps: ProvisionStep[] = [];
  for (const [topic, schema] of loadSchemas()) {
    const report = await syncSubject(admin, topic, schema, false);
    if (report.action === 'incompatible') {
      throw new SchemaRejectedError(report.subject, report.problems.map((problem) => `v${problem.version}: ${problem.reason}`).join('; '));
    }
    steps.push({
      kind: 'schema',
      name: report.subject,
      action: report.action === 'registered' ? 'created' : report.compatibilitySet ? 'updated' : 'found',
      // Registered all the same: the README's order (consumers before producers) makes such a change safe.
      detail: `id ${report.id}${report.compatibilitySet ? ', BACKWARD_TRANSITIVE' : ''}${report.notForward.map((problem) => `, NOT FORWARD compatible: consumers built with v${problem.version} cannot read it, upgrade them before its producers`).join('')}`,
    });
  }
  return steps;
}

/**
 * Topics, schemas, tables, buckets and migrations, each idempotent: a second
 * run reports everything as found and changes nothing. Works against the local
 * stack or real services alike, since every endpoint comes from the environment.
 */
export async function provisionAll(config: ProvisionConfig, log: Logger, onStep: (step: ProvisionStep) => void = () => {}): Promise<ProvisionStep[]> {
  // Checked first: a bad MYSQL_* value is reported before topics, ACLs, buckets and tables are made, not after.
  const mysql = mysqlTarget(config);
  const steps: ProvisionStep[] = [];
  const record = (batch: ProvisionStep[]): void => {
    for (const step of batch) {
      steps.push(step);
      onStep(step);
    }
  };
  const admin = createKafka({ clientId: 'orbit-provision', ...kafkaConnection(config), logger: log }).admin();
  await admin.connect();
  try {
    record(await provisionTopics(admin, loadTopicPlan(config.KAFKA_REPLICATION_FACTOR)));
    const acls = aclsOf(config);
    if (acls.length > 0) record(await provisionAcls(admin, acls));
  } finally {
    await admin.disconnect();
  }
  record(await provisionSchemas(config.SCHEMA_REGISTRY_URL));
  const dynamo = new DynamoDBClient({ region: config.AWS_REGION, endpoint: config.AWS_ENDPOINT_URL_DYNAMODB });
  try {
    record(await provisionTables(dynamo, config));
  } finally {
    dynamo.destroy();
  }
  const s3 = createS3(config);
  try {
    record(await provisionBuckets(s3, bucketNames(config), config.ORBIT_CORS_ORIGINS));
  } finally {
    s3.destroy();
  }
  record(await migrate(mysql));
  return steps;
}

export { formatStep, changedSomething, type ProvisionStep } from './report.js';
