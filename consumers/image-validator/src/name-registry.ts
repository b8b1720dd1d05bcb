import { GetCommand, paginateQuery, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { chartVersionOf } from '@orbit/lib';

/** One upload's claim on an (owner, image, version): the UID is the owner's image, the request is who claims it. */
export interface VersionClaim {
  readonly owner: string;
  readonly imageUID: string;
  readonly imageName: string;
  readonly imageVersion: string;
  readonly requestId: string;
}

/**
 * Who holds an image version: nobody yet, the claiming request itself (it was
 * stored already), another request, or another version that gives the same
 * chart version (`1.2.3` after `v1-2-3`), named.
 */
export type VersionHolder = 'nobody' | 'this request' | 'another request' | { readonly sameChartVersion: string };

/**
 * Which image versions are already used. Versions are immutable, so one held
 * by another request ends an upload with NAME_CONFLICT. One held by the
 * claiming request itself means the upload was validated and stored already:
 * its UploadRequested is being delivered again.
 */
export interface NameRegistry {
  holderOf(claim: VersionClaim): Promise<VersionHolder>;
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
    holderOf: async (claim) => {
      const { Item } = await dynamo.send(new GetCommand({
        TableName: metadataTable, Key: { imageUID: claim.imageUID, imageVersion: claim.imageVersion }, ProjectionExpression: 'requestId', ConsistentRead: true,
      }));
      if (Item !== undefined) return Item['requestId'] === claim.requestId ? 'this request' : 'another request';
      // Another spelling of a stored version's chart version would share its chart tag and Helm repository entry.
      const chartVersion = chartVersionOf(claim.imageVersion);
      const pages = paginateQuery({ client: dynamo }, {
        TableName: metadataTable, KeyConditionExpression: 'imageUID = :uid', ExpressionAttributeValues: { ':uid': claim.imageUID }, ProjectionExpression: 'imageVersion', ConsistentRead: true,
      });
      for await (const page of pages) {
        const clash = (page.Items ?? []).map((item) => String(item['imageVersion'])).find((version) => chartVersionOf(version) === chartVersion);
        if (clash !== undefined) return { sameChartVersion: clash };
      }
      return 'nobody';
    },
  };
}
