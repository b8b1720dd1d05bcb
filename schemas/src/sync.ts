import { stringify } from 'safe-stable-stringify';
import { subjectOf, type AvroSchemaJson } from '@orbit/lib';
import { backwardTransitiveProblems, forwardProblems, type CompatibilityProblem } from './compatibility.js';
import type { RegistryAdmin } from './registry-admin.js';

export const REQUIRED_COMPATIBILITY = 'BACKWARD_TRANSITIVE';

export interface SubjectReport {
  readonly subject: string;
  readonly action: 'registered' | 'unchanged' | 'would-register' | 'incompatible';
  readonly id?: number;
  readonly compatibilitySet: boolean;
  readonly problems: readonly CompatibilityProblem[];
  /**
   * Why consumers built with the latest registered version cannot read what this schema writes: allowed, yet they
   * must then be upgraded before its producers (README, Upgrading). Empty when they can, or nothing is registered.
   */
  readonly notForward: readonly CompatibilityProblem[];
}

/**
 * Checks a schema against every version registered under its subject, both
 * locally (Avro resolution rules) and with the registry's own compatibility
 * endpoint, then (unless `dryRun`) pins BACKWARD_TRANSITIVE and registers it.
 */
export async function syncSubject(admin: RegistryAdmin, topic: string, schema: AvroSchemaJson, dryRun: boolean): Promise<SubjectReport> {
  const subject = subjectOf(topic);
  const earlier = await admin.versions(subject);
  const problems = backwardTransitiveProblems(subject, schema, earlier);
  const notForward = forwardProblems(subject, schema, earlier[earlier.length - 1]);
  if (earlier.length > 0 && !(await admin.isCompatible(subject, schema))) {
    problems.push({ subject, version: earlier[earlier.length - 1]?.version ?? 0, reason: 'the registry reports the schema incompatible' });
  }
  if (problems.length > 0) return { subject, action: 'incompatible', compatibilitySet: false, problems, notForward };
  const level = await admin.compatibility(subject);
  if (dryRun) {
    return { subject, action: earlier.some((entry) => sameSchema(entry.schema, schema)) ? 'unchanged' : 'would-register', compatibilitySet: false, problems, notForward };
  }
  let compatibilitySet = false;
  if (level !== REQUIRED_COMPATIBILITY) {
    await admin.setCompatibility(subject, REQUIRED_COMPATIBILITY);
    compatibilitySet = true;
  }
  const { id, created } = await admin.register(subject, schema);
  return { subject, action: created ? 'registered' : 'unchanged', id, compatibilitySet, problems, notForward };
}

/**
 * Equal as JSON values: the registry hands a schema back with its object keys
 * in another order than the .avsc file (`default` before `doc`), which is the
 * same schema; compared as text, 8 of 10 read as changed (found by a walk
 * through the README).
 */
export function sameSchema(left: unknown, right: unknown): boolean {
  return stringify(left) === stringify(right);
}
