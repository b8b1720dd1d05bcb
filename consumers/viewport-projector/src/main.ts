/** c8bms30 -> C32: projects the image lifecycle into ViewPort (MySQL). */
import { createMysqlPool, runMain, startConsumerService, TOPICS } from '@orbit/lib';
import { loadSchemas, type OrbitEvent } from '@orbit/schemas';
import { projectorHandler } from './handle.js';

const GROUP = 'viewport-projector';

runMain(() => {
  let pool: ReturnType<typeof createMysqlPool> | undefined;
  return startConsumerService<OrbitEvent, Record<string, never>>({
    service: 'viewport-projector',
    groupId: GROUP,
    topics: [TOPICS.imageValidated, TOPICS.imageRejected, TOPICS.imageStored, TOPICS.chartGenerated, TOPICS.chartPromoted, TOPICS.pipelineFailed],
    schemas: loadSchemas(),
    createHandler: ({ config, publisher }) => {
      pool = createMysqlPool(config.MYSQL_URL);
      return projectorHandler({ pool, groupId: GROUP, publisher });
    },
    ready: async () => (pool ? pool.query('SELECT 1').then(() => true, () => false) : false),
    close: async () => { await pool?.end(); },
  });
});
