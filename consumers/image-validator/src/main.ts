/** c12bms03: validates staged archives and registry references. */
import { logReceived, runMain, startConsumerService, TOPICS } from '@orbit/lib';
import { loadSchemas, type OrbitEvent } from '@orbit/schemas';

export const SERVICE = 'image-validator';
export const TOPICS_CONSUMED = [TOPICS.uploadRequested] as const;

runMain(() =>
  startConsumerService<OrbitEvent, Record<string, never>>({
    service: SERVICE,
    topics: TOPICS_CONSUMED,
    schemas: loadSchemas(),
    createHandler: () => logReceived,
  }),
);
