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
import { storeValidatedImage } from './store-image.js';
import { handleTransfer } from './transfer-flow.js';

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
          await handleTransfer(message.event as TransferRequested, {
            ...deps, bucketOf: (environment) => imageBucketOf(environment, buckets), registryOf: pullRegistryOf(config),
            publish: {
              copied: (event) => publisher.publish(TOPICS.imageCopied, event, { trace: message.trace }),
              failed: (event) => publisher.publish(TOPICS.pipelineFailed, event, { trace: message.trace }),
            },
          }, message.log);
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
