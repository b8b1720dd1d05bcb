import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** One upload's claim on an (owner, image, version): the UID is the owner's image, the request is who claims it. */
export interface VersionClaim {
  readonly owner: string;
  readonly imageUID: string;
  readonly imageName: string;
  readonly imageVersion: string;
  readonly requestId: string;
}

/**
 * Which image versions are already used. Versions are immutable, so a taken
 * one ends an upload with NAME_CONFLICT. A version stored by the claiming
 * request itself is not a conflict: a redelivered UploadRequested must reach
 * the same verdict as the first delivery.
 */
export interface NameRegistry {
  isTaken(claim: VersionClaim): Promise<boolean>;
}

/**
 * The Chart Store's image metadata table (app-image-metadata-1615) is the
 * record of stored versions: the harbor-writer writes it before ImageStored.
 * Two uploads of one version racing past this check are settled by the
 * harbor-writer, which refuses to overwrite another request's object
 * (ALREADY_STORED).
 */
export function dynamoNameRegistry(dynamo: DynamoDBDocumentClient, metadataTable: string): NameRegistry {
  return {
    isTaken: async (claim) => {
      const { Item } = await dynamo.send(new GetCommand({
        TableName: metadataTable, Key: { imageUID: claim.imageUID, imageVersion: claim.imageVersion }, ProjectionExpression: 'requestId', ConsistentRead: true,
      }));
      return Item !== undefined && Item['requestId'] !== claim.requestId;
    },
  };
}
