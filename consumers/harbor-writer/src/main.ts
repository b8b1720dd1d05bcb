/** C16: moves validated images into the Image Harbor and copies them between environments. */
import {
  bucketNames, createDynamo, dynamoCheck, SERVICE_KAFKA_USE, createS3, imageBucketOf, pushRegistryChecks, registryAccessOf, runMain, s3Check, startConsumerService, tableName, TOPICS,
  type ConsumedMessage,
} from '@orbit/lib';
import { failRequestOnDeadLetter, loadSchemas, type ImageValidated, type OrbitEvent, type TransferRequested } from '@orbit/schemas';
import { harborEnv, pullRegistryOf } from './harbor-env.js';
import { BlobSources } from './registry-push/blob-sources.js';
import { DynamoBlobLocations } from './registry-push/dynamo-blob-locations.js';
import { pushMetrics } from './registry-push/push-metrics.js';
import { pushIntoTargetRegistry } from './registry-push/push-transferred.js';
import { storeValidatedImage } from './store-image.js';
import { recordTransferLocation, transferImage } from './transfer.js';

runMain(() =>
  startConsumerService<OrbitEvent, typeof harborEnv>({
    service: 'harbor-writer',
    topics: SERVICE_KAFKA_USE['harbor-writer'].reads,
    schemas: loadSchemas(),
    createDeadLetterHook: ({ publisher }) => failRequestOnDeadLetter('harbor-writer', publisher),
    env: harborEnv,
    // Shown in /readyz and orbit_dependency_up, not gating (see DependencyCheck): the bucket each image is stored in, the
    // metadata table, and the registries it pushes to.
    dependencies: ({ config }) => [
      s3Check(createS3(config), config.ORBIT_BUCKET_DEVELOPMENT),
      dynamoCheck(createDynamo(config), tableName('appImageMetadata', config)),
      ...(config.ORBIT_IMAGE_REGISTRY_PUSH ? pushRegistryChecks(config) : []),
    ],
    createHandler: ({ config, publisher, metrics, logger }) => {
      const dynamo = createDynamo(config);
      const shared = {
        s3: createS3(config), dynamo, developmentBucket: config.ORBIT_BUCKET_DEVELOPMENT, stagingBucket: config.ORBIT_BUCKET_STAGING,
        metadataTable: tableName('appImageMetadata', config), manifestTable: tableName('userInputManifest', config),
        ...(config.ORBIT_IMAGE_REGISTRY_PUSH
          ? {
            pushing: {
              prefix: config.ORBIT_IMAGE_REGISTRY, observe: pushMetrics(metrics),
              access: registryAccessOf(config, logger), blobSources: new BlobSources(new DynamoBlobLocations(dynamo, tableName('registryBlobLocations', config)), logger),
            },
          }
          : {}),
      };
      return async (message: ConsumedMessage<OrbitEvent>) => {
        // A shutdown aborts the S3 copy and the registry push in flight (minutes for a large image) instead of waiting them
        // out; the loop, stopping,
        // takes the handler's error as a retry, so the message stays uncommitted, never dead-lettered, for the next owner.
        const deps = { ...shared, signal: message.signal };
        if (message.topic === TOPICS.transferRequested) {
          const buckets = bucketNames(config);
          const request = message.event as TransferRequested;
          const copied = await transferImage(request, { ...deps, bucketOf: (environment) => imageBucketOf(environment, buckets) }, message.log);
          const outcome = copied.kind === 'copied' && deps.pushing
            ? await pushIntoTargetRegistry(copied.event, request, { ...deps, pushing: deps.pushing, registryOf: pullRegistryOf(config) }, message.log)
            : copied;
          if (outcome.kind === 'failed') {
            message.log.warn({ reasonCode: outcome.event.reasonCode, reason: outcome.event.message }, 'transfer failed');
            await publisher.publish(TOPICS.pipelineFailed, outcome.event, { trace: message.trace });
            return;
          }
          await Promise.all([recordTransferLocation(outcome.event, deps), publisher.publish(TOPICS.imageCopied, outcome.event, { trace: message.trace })]);
          return;
        }
        // A failure is logged there (warn; error for a registry's or S3's refusal) before it is published here.
        const outcome = await storeValidatedImage(message.event as ImageValidated, deps, message.log);
        const topic = outcome.kind === 'stored' ? TOPICS.imageStored : TOPICS.pipelineFailed;
        await publisher.publish(topic, outcome.event, { trace: message.trace });
      };
    },
  }),
);
