/** C16: moves validated images into the Image Harbor and copies them between environments. */
import { logReceived, runMain, startConsumerService, TOPICS } from '@orbit/lib';
import { loadSchemas, type OrbitEvent } from '@orbit/schemas';

export const SERVICE = 'harbor-writer';
export const TOPICS_CONSUMED = [TOPICS.imageValidated, TOPICS.transferRequested] as const;

runMain(() =>
  startConsumerService<OrbitEvent, Record<string, never>>({
    service: SERVICE,
    topics: TOPICS_CONSUMED,
    schemas: loadSchemas(),
    createHandler: () => logReceived,
  }),
);
