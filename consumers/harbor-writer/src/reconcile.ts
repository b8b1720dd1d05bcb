import type { S3Client } from '@aws-sdk/client-s3';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { envelopeFor, parseEnvironmentName, type EnvironmentName } from '@orbit/lib';
import type { TransferRequested } from '@orbit/schemas';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { knownSha256, storedSha256, type StoredObject } from './copy.js';
import { storedKeyOf } from './store-image.js';

/** A transfer ViewPort says succeeded. */
export interface DoneTransfer {
  readonly requestId: string;
  readonly imageUID: string;
  readonly imageVersion: string;
  readonly owner: string;
  readonly source: EnvironmentName;
  readonly target: EnvironmentName;
}

export interface TransferFinding {
  readonly transfer: DoneTransfer;
  readonly problems: readonly string[];
}

export interface ReconcileDeps {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBDocumentClient;
  bucketOf(environment: EnvironmentName): string;
  kustomizeTableOf(environment: EnvironmentName): string;
}

/** Every succeeded transfer with the environment it came from (the one before its target in the chain). */
export async function doneTransfers(pool: Pool, chain: readonly EnvironmentName[]): Promise<DoneTransfer[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT c.request_id, c.image_uid, c.image_version, c.target_env, r.user_login FROM transfer_claims c
     JOIN viewport_requests r ON r.request_id = c.request_id WHERE r.status = 'succeeded' ORDER BY c.created_at`);
  return rows.flatMap((row): DoneTransfer[] => {
    const target = parseEnvironmentName(String(row['target_env']));
    const source = target ? chain[chain.indexOf(target) - 1] : undefined;
    if (!target || !source) return [];
    return [{ requestId: String(row['request_id']), imageUID: String(row['image_uid']), imageVersion: String(row['image_version']), owner: String(row['user_login']), source, target }];
  });
}

const shaOf = (object: StoredObject | undefined): string | null => (object ? knownSha256(object) : null);

/** What is wrong with one done transfer: the target copy missing or differing from its source, the target chart row missing. */
export async function checkTransfer(transfer: DoneTransfer, deps: ReconcileDeps): Promise<string[]> {
  const key = storedKeyOf(transfer.imageUID, transfer.imageVersion);
  const [source, target] = await Promise.all([
    storedSha256(deps.s3, { bucket: deps.bucketOf(transfer.source), key }),
    storedSha256(deps.s3, { bucket: deps.bucketOf(transfer.target), key }),
  ]);
  const problems: string[] = [];
  if (!target) problems.push(`${deps.bucketOf(transfer.target)}/${key} is missing`);
  else if (shaOf(target) !== shaOf(source)) problems.push(`${deps.bucketOf(transfer.target)}/${key} has SHA-256 ${shaOf(target) ?? 'unknown'}, its ${transfer.source} twin ${shaOf(source) ?? 'unknown'}`);
  const table = deps.kustomizeTableOf(transfer.target);
  const { Item } = await deps.dynamo.send(new GetCommand({ TableName: table, Key: { helmChartName: `${transfer.imageUID}-${transfer.imageVersion}` }, ConsistentRead: true }));
  if (!Item) problems.push(`the chart ${transfer.imageUID}-${transfer.imageVersion} is missing from ${table}`);
  return problems;
}

/** The command that re-drives a broken transfer: the same request again, so every step repeats idempotently. */
export function redriveEvent(transfer: DoneTransfer): TransferRequested {
  return {
    ...envelopeFor('transferRequested', { correlationId: transfer.requestId, imageUID: transfer.imageUID, actor: { username: transfer.owner, firstName: null, lastName: null, email: null } }),
    requestId: transfer.requestId, imageVersion: transfer.imageVersion, sourceEnvironment: transfer.source, targetEnvironment: transfer.target,
    notes: 're-driven by transfers:reconcile',
  };
}

export async function findBrokenTransfers(transfers: readonly DoneTransfer[], deps: ReconcileDeps): Promise<TransferFinding[]> {
  const findings: TransferFinding[] = [];
  for (const transfer of transfers) {
    const problems = await checkTransfer(transfer, deps);
    if (problems.length > 0) findings.push({ transfer, problems });
  }
  return findings;
}
