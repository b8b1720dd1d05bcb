/** c12bms06: Helm chart, rendered manifests and Kustomize overlays for stored images. */
import { logReceived, runMain, startConsumerService, TOPICS } from '@orbit/lib';
import { loadSchemas, type OrbitEvent } from '@orbit/schemas';

export const SERVICE = 'chart-generator';
export const TOPICS_CONSUMED = [TOPICS.imageStored, TOPICS.imageCopied] as const;

runMain(() =>
  startConsumerService<OrbitEvent, Record<string, never>>({
    service: SERVICE,
    topics: TOPICS_CONSUMED,
    schemas: loadSchemas(),
    createHandler: () => logReceived,
  }),
);
