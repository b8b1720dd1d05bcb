import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BlobLocationStore } from './blob-sources.js';

/** DynamoDB's own limits per call. */
const GET_BATCH = 100;
const WRITE_BATCH = 25;

const locationOf = (registry: string, digest: string): string => `${registry} ${digest}`;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

/**
 * Blob locations in a DynamoDB table keyed `location` = `<registry> <digest>`,
 * one item per blob and registry naming the repository last pushed with it.
 * Keys DynamoDB leaves unprocessed under load are not retried: a hint missed
 * costs one blob sent, not a failed push.
 */
export class DynamoBlobLocations implements BlobLocationStore {
  constructor(private readonly dynamo: DynamoDBDocumentClient, private readonly table: string) {}

  async find(registry: string, digests: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const batch of chunks([...new Set(digests)], GET_BATCH)) {
      const answer = await this.dynamo.send(new BatchGetCommand({
        RequestItems: { [this.table]: { Keys: batch.map((digest) => ({ location: locationOf(registry, digest) })), ProjectionExpression: '#l, repository', ExpressionAttributeNames: { '#l': 'location' } } },
      }));
      for (const item of answer.Responses?.[this.table] ?? []) {
        const { location, repository } = item as { location?: unknown; repository?: unknown };
        if (typeof location === 'string' && typeof repository === 'string' && location.startsWith(`${registry} `)) found.set(location.slice(registry.length + 1), repository);
      }
    }
    return found;
  }

  async record(registry: string, digests: readonly string[], repository: string): Promise<void> {
    const seenAt = new Date().toISOString();
    for (const batch of chunks([...new Set(digests)], WRITE_BATCH)) {
      await this.dynamo.send(new BatchWriteCommand({
        RequestItems: { [this.table]: batch.map((digest) => ({ PutRequest: { Item: { location: locationOf(registry, digest), repository, seenAt } } })) },
      }));
    }
  }

  async drop(registry: string, digest: string, repository: string): Promise<void> {
    try {
      await this.dynamo.send(new DeleteCommand({
        TableName: this.table, Key: { location: locationOf(registry, digest) },
        ConditionExpression: 'repository = :repository', ExpressionAttributeValues: { ':repository': repository },
      }));
    } catch (error) {
      // Recorded since in another repository (or gone): that newer record stays.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
