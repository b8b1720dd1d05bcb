import avro from 'avsc';
import type { AvroSchemaJson } from '@orbit/lib';

export interface CompatibilityProblem {
  readonly subject: string;
  readonly version: number;
  readonly reason: string;
}

/**
 * BACKWARD_TRANSITIVE: data written with EVERY earlier version must be
 * readable with the new schema, because a rebuild replays the oldest events
 * with today's code. avsc's resolver applies Avro's schema-resolution rules
 * (new fields need defaults, type changes must promote, enum symbols kept).
 */
export function backwardTransitiveProblems(
  subject: string,
  candidate: AvroSchemaJson,
  earlier: readonly { version: number; schema: AvroSchemaJson }[],
): CompatibilityProblem[] {
  const reader = avro.Type.forSchema(candidate as avro.Schema);
  const problems: CompatibilityProblem[] = [];
  for (const { version, schema } of earlier) {
    try {
      reader.createResolver(avro.Type.forSchema(schema as avro.Schema));
    } catch (error) {
      problems.push({ subject, version, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return problems;
}
