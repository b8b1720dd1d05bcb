/** c8bms30 -> C32: projects the image lifecycle into ViewPort (MySQL). */
import { logReceived, runMain, startConsumerService, TOPICS } from '@orbit/lib';
import { loadSchemas, type OrbitEvent } from '@orbit/schemas';

export const SERVICE = 'viewport-projector';
export const TOPICS_CONSUMED = [TOPICS.imageRejected, TOPICS.imageStored, TOPICS.chartGenerated, TOPICS.chartPromoted, TOPICS.pipelineFailed] as const;

runMain(() =>
  startConsumerService<OrbitEvent, Record<string, never>>({
    service: SERVICE,
    topics: TOPICS_CONSUMED,
    schemas: loadSchemas(),
    createHandler: () => logReceived,
  }),
);
