import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type AclEntry, type Admin } from '@orbit/lib';
import type { ProvisionStep } from './report.js';

/** Every Orbit topic, its DLQ included, begins with this. */
const TOPIC_PREFIX = 'orbit.';

/**
 * What Orbit's services may do, and nothing else: read, write and describe the
 * `orbit.` topics, read and describe any consumer group (each service has its
 * own, the rebuild a fresh one per run) and delete the rebuild's, and write idempotently. Anyone else,
 * given no ACL of their own, is refused by a broker whose authorizer allows
 * nothing by default; topics are made and changed by provisioning, as an operator.
 */
export function serviceAcls(principals: readonly string[]): AclEntry[] {
  const allow = (principal: string, resourceType: AclEntry['resourceType'], resourceName: string, resourcePatternType: AclEntry['resourcePatternType'], operation: AclEntry['operation']): AclEntry => ({
    principal, host: '*', permissionType: AclPermissionTypes.ALLOW, resourceType, resourceName, resourcePatternType, operation,
  });
  return principals.flatMap((principal) => [
    ...[AclOperationTypes.READ, AclOperationTypes.WRITE, AclOperationTypes.DESCRIBE].map((operation) => allow(principal, AclResourceTypes.TOPIC, TOPIC_PREFIX, ResourcePatternTypes.PREFIXED, operation)),
    ...[AclOperationTypes.READ, AclOperationTypes.DESCRIBE].map((operation) => allow(principal, AclResourceTypes.GROUP, '*', ResourcePatternTypes.LITERAL, operation)),
    // A rebuild deletes the group it replayed with (refused, it was left behind for the broker's offset expiry).
    allow(principal, AclResourceTypes.GROUP, 'viewport-rebuild-', ResourcePatternTypes.PREFIXED, AclOperationTypes.DELETE),
    allow(principal, AclResourceTypes.CLUSTER, 'kafka-cluster', ResourcePatternTypes.LITERAL, AclOperationTypes.IDEMPOTENT_WRITE),
  ]);
}

const OPERATION_NAMES = new Map<number, string>([[AclOperationTypes.READ, 'read'], [AclOperationTypes.WRITE, 'write'], [AclOperationTypes.DESCRIBE, 'describe'], [AclOperationTypes.DELETE, 'delete'], [AclOperationTypes.IDEMPOTENT_WRITE, 'idempotent write']]);
const RESOURCE_NAMES = new Map<number, string>([[AclResourceTypes.TOPIC, 'topics'], [AclResourceTypes.GROUP, 'groups'], [AclResourceTypes.CLUSTER, 'cluster']]);

export function aclName(entry: AclEntry): string {
  const resource = `${RESOURCE_NAMES.get(entry.resourceType) ?? String(entry.resourceType)} ${entry.resourceName}${entry.resourcePatternType === ResourcePatternTypes.PREFIXED ? '*' : ''}`;
  return `${entry.principal} ${OPERATION_NAMES.get(entry.operation) ?? String(entry.operation)} ${resource}`;
}

/** Creates the ACLs the broker lacks; each one found is reported as found, so a second run changes nothing. */
export async function provisionAcls(admin: Admin, principals: readonly string[]): Promise<ProvisionStep[]> {
  const steps: ProvisionStep[] = [];
  const missing: AclEntry[] = [];
  for (const entry of serviceAcls(principals)) {
    const found = await admin.describeAcls({ ...entry });
    const present = found.resources.some((resource) => resource.acls.length > 0);
    if (!present) missing.push(entry);
    steps.push({ kind: 'acl', name: aclName(entry), action: present ? 'found' : 'created' });
  }
  if (missing.length > 0) await admin.createAcls({ acl: missing });
  return steps;
}
