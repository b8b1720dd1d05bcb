import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, dlqTopicOf, OrbitError, REDRIVE_GROUP, ResourcePatternTypes, RetryExhaustedError, retryPolicy, SERVICE_KAFKA_USE, withRetry, type AclEntry, type Admin, type ServiceName } from '@orbit/lib';
import type { ProvisionStep } from './report.js';

/** Every Orbit topic, its DLQ included, begins with this. */
const TOPIC_PREFIX = 'orbit.';

/**
 * What Orbit's services may do, and nothing else: read, write and describe the
 * `orbit.` topics (and their configs, for the rebuild), read and describe any consumer group (each service has its
 * own, the rebuild a fresh one per run) and delete the rebuild's, write idempotently, and re-drive dead letters in transactions. Anyone else,
 * given no ACL of their own, is refused by a broker whose authorizer allows
 * nothing by default; topics are made and changed by provisioning, as an operator.
 */
const allow = (principal: string, resourceType: AclEntry['resourceType'], resourceName: string, resourcePatternType: AclEntry['resourcePatternType'], operation: AclEntry['operation']): AclEntry => ({
  principal, host: '*', permissionType: AclPermissionTypes.ALLOW, resourceType, resourceName, resourcePatternType, operation,
});

export function serviceAcls(principals: readonly string[]): AclEntry[] {
  return principals.flatMap((principal) => [
    ...[AclOperationTypes.READ, AclOperationTypes.WRITE, AclOperationTypes.DESCRIBE].map((operation) => allow(principal, AclResourceTypes.TOPIC, TOPIC_PREFIX, ResourcePatternTypes.PREFIXED, operation)),
    // viewport:rebuild reads each lifecycle topic's cleanup.policy: a compacted history is refused, not replayed.
    allow(principal, AclResourceTypes.TOPIC, TOPIC_PREFIX, ResourcePatternTypes.PREFIXED, AclOperationTypes.DESCRIBE_CONFIGS),
    ...[AclOperationTypes.READ, AclOperationTypes.DESCRIBE].map((operation) => allow(principal, AclResourceTypes.GROUP, '*', ResourcePatternTypes.LITERAL, operation)),
    // A rebuild deletes the group it replayed with (refused, it was left behind for the broker's offset expiry).
    allow(principal, AclResourceTypes.GROUP, 'viewport-rebuild-', ResourcePatternTypes.PREFIXED, AclOperationTypes.DELETE),
    // events:refill deletes the throwaway groups it read with (refused, they are left for the broker to drop: they hold no offsets).
    allow(principal, AclResourceTypes.GROUP, 'orbit-events-refill-', ResourcePatternTypes.PREFIXED, AclOperationTypes.DELETE),
    allow(principal, AclResourceTypes.CLUSTER, 'kafka-cluster', ResourcePatternTypes.LITERAL, AclOperationTypes.IDEMPOTENT_WRITE),
    // dlq:redrive sends each lot of letters with its progress record in one transaction, under the id of the DLQ's re-drive.
    ...[AclOperationTypes.WRITE, AclOperationTypes.DESCRIBE].map((operation) => allow(principal, AclResourceTypes.TRANSACTIONAL_ID, `${REDRIVE_GROUP}.`, ResourcePatternTypes.PREFIXED, operation)),
  ]);
}

/**
 * One service's principal, granted what SERVICE_KAFKA_USE lists and no more: read its topics in its group (prefixed by
 * its name, so a second deployment's ORBIT_SERVICE=image-validator-eu is covered), dead-letter into their `.dlq`
 * twins, write its own events, describe what it watches, and write idempotently.
 */
export function servicePrincipalAcls(service: ServiceName, principal: string): AclEntry[] {
  const use = SERVICE_KAFKA_USE[service];
  const topic = (name: string, operation: AclEntry['operation']): AclEntry => allow(principal, AclResourceTypes.TOPIC, name, ResourcePatternTypes.LITERAL, operation);
  return [
    ...use.reads.map((name) => topic(name, AclOperationTypes.READ)),
    ...[...use.writes, ...use.reads.map(dlqTopicOf)].map((name) => topic(name, AclOperationTypes.WRITE)),
    ...(use.reads.length > 0 ? [allow(principal, AclResourceTypes.GROUP, service, ResourcePatternTypes.PREFIXED, AclOperationTypes.READ)] : []),
    ...(use.watches ? [
      ...use.watches.topics.map((name) => topic(name, AclOperationTypes.DESCRIBE)),
      allow(principal, AclResourceTypes.GROUP, use.watches.group, ResourcePatternTypes.LITERAL, AclOperationTypes.DESCRIBE),
    ] : []),
    allow(principal, AclResourceTypes.CLUSTER, 'kafka-cluster', ResourcePatternTypes.LITERAL, AclOperationTypes.IDEMPOTENT_WRITE),
  ];
}

/** `ORBIT_KAFKA_PRINCIPAL_IMAGE_VALIDATOR` and the like: the variable naming one service's own principal. */
export const principalVariableOf = (service: ServiceName): `ORBIT_KAFKA_PRINCIPAL_${string}` => `ORBIT_KAFKA_PRINCIPAL_${service.toUpperCase().replaceAll('-', '_')}`;

const OPERATION_NAMES = new Map<number, string>([[AclOperationTypes.READ, 'read'], [AclOperationTypes.WRITE, 'write'], [AclOperationTypes.DESCRIBE, 'describe'], [AclOperationTypes.DESCRIBE_CONFIGS, 'describe configs'], [AclOperationTypes.DELETE, 'delete'], [AclOperationTypes.IDEMPOTENT_WRITE, 'idempotent write']]);
const RESOURCE_NAMES = new Map<number, string>([[AclResourceTypes.TOPIC, 'topics'], [AclResourceTypes.GROUP, 'groups'], [AclResourceTypes.CLUSTER, 'cluster'], [AclResourceTypes.TRANSACTIONAL_ID, 'transactional ids']]);

export function aclName(entry: AclEntry): string {
  const resource = `${RESOURCE_NAMES.get(entry.resourceType) ?? String(entry.resourceType)} ${entry.resourceName}${entry.resourcePatternType === ResourcePatternTypes.PREFIXED ? '*' : ''}`;
  return `${entry.principal} ${OPERATION_NAMES.get(entry.operation) ?? String(entry.operation)} ${resource}`;
}

/** Whether the broker describes the ACL (holds it in its authorizer). */
async function describes(admin: Admin, entry: AclEntry): Promise<boolean> {
  const found = await admin.describeAcls({ ...entry });
  return found.resources.some((resource) => resource.acls.length > 0);
}

/** Creates the ACLs the broker lacks; each one found is reported as found, so a second run changes nothing. */
export async function provisionAcls(admin: Admin, entries: readonly AclEntry[]): Promise<ProvisionStep[]> {
  const steps: ProvisionStep[] = [];
  const missing: AclEntry[] = [];
  for (const entry of entries) {
    const present = await describes(admin, entry);
    if (!present) missing.push(entry);
    steps.push({ kind: 'acl', name: aclName(entry), action: present ? 'found' : 'created' });
  }
  if (missing.length > 0) {
    await admin.createAcls({ acl: missing });
    await untilVisible(admin, missing);
  }
  return steps;
}

/** How long created ACLs may take to reach the broker's authorizer before provisioning says so: about 15 s in all. */
const ACL_PROPAGATION_RETRY = retryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 18, jitter: 0 });

/**
 * Waits until the broker describes every ACL just created: the controller takes them at once, the broker's authorizer
 * a moment later (KRaft metadata): a service started straight after provisioning would be refused meanwhile, and a
 * second run at once reported some ACLs `created` again (a CI run).
 */
async function untilVisible(admin: Admin, created: readonly AclEntry[]): Promise<void> {
  const notYet = async (): Promise<AclEntry[]> => {
    const absent: AclEntry[] = [];
    for (const entry of created) if (!(await describes(admin, entry))) absent.push(entry);
    return absent;
  };
  await withRetry(async () => {
    const absent = await notYet();
    if (absent.length > 0) throw new AclsNotVisibleError(absent);
  }, { isRetriable: (error) => error instanceof AclsNotVisibleError, policy: ACL_PROPAGATION_RETRY })
    .catch((error: unknown) => {
      throw error instanceof RetryExhaustedError ? new OrbitError('ORBIT_ERR_ACLS_NOT_VISIBLE', `${(error.cause as Error).message}, ${error.attempts} looks over about 15 s after their creation`) : error;
    });
}

class AclsNotVisibleError extends Error {
  constructor(absent: readonly AclEntry[]) {
    super(`the broker does not yet describe ${absent.length} ACL(s) it accepted: ${absent.map(aclName).join(', ')}`);
  }
}
