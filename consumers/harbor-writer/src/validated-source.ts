import type { S3Client } from '@aws-sdk/client-s3';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EnvironmentName } from '@orbit/lib';
import { holdsValidated, knownSha256, storedSha256, unprovenBecause, type ObjectLocation, type StoredObject } from './copy.js';

/**
 * What the harbor-writer recorded of a version in the image metadata table:
 * the SHA-256 of the bytes that were validated, and the S3 version of its copy
 * in each environment (Development when stored, `location<Environment>` when
 * transferred). Undefined for a version stored before it kept one.
 */
export interface StoredRecord {
  readonly sha256: string | null;
  versionIn(environment: EnvironmentName): string | null;
}

export async function storedRecordOf(deps: { readonly dynamo: DynamoDBDocumentClient; readonly metadataTable: string }, imageUID: string, imageVersion: string): Promise<StoredRecord | undefined> {
  const row = (await deps.dynamo.send(new GetCommand({ TableName: deps.metadataTable, Key: { imageUID, imageVersion }, ConsistentRead: true }))).Item;
  if (!row) return undefined;
  const text = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);
  return {
    sha256: text(row['sha256']),
    versionIn: (environment) => {
      if (environment === 'Development') return text(row['versionId']);
      const location = row[`location${environment}`] as Record<string, unknown> | undefined;
      return text(location?.['versionId']);
    },
  };
}

export type SourceOutcome =
  | { readonly kind: 'found'; readonly object: StoredObject; readonly sha256: string; readonly replaced: boolean }
  | { readonly kind: 'missing'; readonly message: string }
  | { readonly kind: 'unverifiable'; readonly message: string }
  | { readonly kind: 'changed'; readonly message: string };

/**
 * The copy of a version a transfer takes: the object in `location` that holds
 * the bytes that were validated. Normally its latest version. Orbit never
 * replaces a version, so a latest one with other bytes (written or deleted
 * out of band) is passed over for the S3 version recorded when the copy was
 * made, if that still holds them: what was validated is what moves on, never
 * what someone put in its place. "Holds them" is what S3 shows (holdsValidated:
 * its own SHA-256, or the very version recorded), never the `orbit-sha256`
 * metadata, which whoever overwrites the object may write as well: a latest
 * version so labelled was taken for the validated bytes, and the transfer then
 * failed CHECKSUM_MISMATCH instead of copying the recorded version.
 */
export async function validatedSource(s3: S3Client, location: ObjectLocation, latest: StoredObject | undefined, record: StoredRecord | undefined, environment: EnvironmentName): Promise<SourceOutcome> {
  const where = `${location.bucket}/${location.key}`;
  const validated = record?.sha256 ?? null;
  if (validated === null) {
    // Stored before rows kept a SHA-256: nothing recorded to hold the object to, so what it says of itself is all there is.
    const latestSha = latest ? knownSha256(latest) : null;
    if (latest && latestSha !== null) return { kind: 'found', object: latest, sha256: latestSha, replaced: false };
    return latest ? { kind: 'unverifiable', message: `${where} carries no SHA-256 to verify a copy against` } : { kind: 'missing', message: `${where} is missing` };
  }
  const expected = { sha256: validated, recordedVersionId: record?.versionIn(environment) ?? null };
  // The very version Orbit wrote and checked holds the validated bytes even where S3 shows no checksum for it; the copy is checked again anyway.
  if (latest && holdsValidated(latest, expected)) return { kind: 'found', object: latest, sha256: validated, replaced: false };
  const recordedVersion = expected.recordedVersionId;
  const recorded = recordedVersion !== null && recordedVersion !== latest?.versionId ? await storedSha256(s3, { ...location, versionId: recordedVersion }) : undefined;
  if (recorded && holdsValidated(recorded, expected)) return { kind: 'found', object: recorded, sha256: validated, replaced: true };
  if (!latest && !recorded) return { kind: 'missing', message: `${where} is missing` };
  return { kind: 'changed', message: `${where} holds ${latest ? unprovenBecause(latest, expected) : 'nothing'}, not the ${validated} that was validated, and no version of it that does` };
}
