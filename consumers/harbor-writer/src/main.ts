/** C16: moves validated images into the Image Harbor (and, later, copies them between environments). */
import { createDynamo, createS3, bucketEnv, runMain, startConsumerService, tableName, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { loadSchemas, type ImageValidated, type OrbitEvent } from '@orbit/schemas';
import { storeValidatedImage } from './store-image.js';

runMain(() =>
  startConsumerService<OrbitEvent, typeof bucketEnv>({
    service: 'harbor-writer',
    topics: [TOPICS.imageValidated, TOPICS.transferRequested],
    schemas: loadSchemas(),
    env: bucketEnv,
    createHandler: ({ config, publisher }) => {
      const deps = {
        s3: createS3(config), dynamo: createDynamo(config), developmentBucket: config.ORBIT_BUCKET_DEVELOPMENT,
        metadataTable: tableName('appImageMetadata', config), manifestTable: tableName('userInputManifest', config),
      };
      return async (message: ConsumedMessage<OrbitEvent>) => {
        if (message.topic !== TOPICS.imageValidated) {
          message.log.info('transfers are not implemented yet; event left for a later release');
          return;
        }
        const outcome = await storeValidatedImage(message.event as ImageValidated, deps, message.log);
        const topic = outcome.kind === 'stored' ? TOPICS.imageStored : TOPICS.pipelineFailed;
        await publisher.publish(topic, outcome.event, { trace: message.trace });
      };
    },
  }),
);
