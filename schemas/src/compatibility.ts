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

/**
 * FORWARD against the latest registered version: whether consumers still built with it can read what `candidate`
 * writes, as they must while a rolling upgrade runs a new producer beside them. Not required (a new enum symbol is a
 * fair change when consumers are upgraded first), so the check reports it rather than refusing: 1a8a202 added ZSTD
 * to the Compression enum, which readers built before it cannot resolve at all, and every upload sent by a new
 * validator beside an old harbor-writer went to the DLQ.
 */
export function forwardProblems(subject: string, candidate: AvroSchemaJson, latest: { version: number; schema: AvroSchemaJson } | undefined): CompatibilityProblem[] {
  if (latest === undefined) return [];
  try {
    avro.Type.forSchema(latest.schema as avro.Schema).createResolver(avro.Type.forSchema(candidate as avro.Schema));
    return [];
  } catch (error) {
    return [{ subject, version: latest.version, reason: error instanceof Error ? error.message : String(error) }];
  }
}
