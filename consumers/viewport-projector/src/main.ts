/** c8bms30 -> C32: projects the image lifecycle into ViewPort (MySQL). */
import { createMysqlPool, runMain, startConsumerService } from '@orbit/lib';
import { loadSchemas, type OrbitEvent } from '@orbit/schemas';
import { projectorBatchHandler, projectorHandler } from './handle.js';
import { PROJECTED_TOPICS, PROJECTOR_GROUP as GROUP } from './topics.js';

runMain(() => {
  let pool: ReturnType<typeof createMysqlPool> | undefined;
  return startConsumerService<OrbitEvent, Record<string, never>>({
    service: 'viewport-projector',
    groupId: GROUP,
    topics: PROJECTED_TOPICS,
    schemas: loadSchemas(),
    createHandler: ({ config, publisher }) => {
      pool = createMysqlPool(config.MYSQL_URL);
      return projectorHandler({ pool, groupId: GROUP, publisher });
    },
    createBatchHandler: ({ publisher }) => {
      if (!pool) throw new TypeError('the handler creates the pool first');
      return projectorBatchHandler({ pool, groupId: GROUP, publisher });
    },
    ready: async () => (pool ? pool.query('SELECT 1').then(() => true, () => false) : false),
    close: async () => { await pool?.end(); },
  });
});
