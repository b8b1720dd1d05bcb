/** Portal gateway: the HTTP entry of uploads and transfers; publishes command events. */
import { createKafka, createLogger, createMetrics, env, EventCodec, EventPublisher, readConfig, runMain, runtimeEnv, TOPICS } from '@orbit/lib';
import { loadSchemas } from '@orbit/schemas';
import { buildApp } from './app.js';

const gatewayEnv = {
  ...runtimeEnv,
  /** HTTP port of the API. @default 8080 */
  PORT: env.int(8080, 0, 65535),
  /** Address to listen on. @default 127.0.0.1 */
  HOST: env.string('127.0.0.1'),
};

runMain(async () => {
  const config = readConfig(gatewayEnv);
  const logger = createLogger({ service: config.ORBIT_SERVICE ?? 'portal-gateway', level: config.LOG_LEVEL });
  const kafka = createKafka({ clientId: 'portal-gateway', brokers: config.KAFKA_BROKERS, logger });
  const codec = new EventCodec(config.SCHEMA_REGISTRY_URL, loadSchemas());
  const publisher = await EventPublisher.connect(kafka, codec, logger);
  // Ready when the registry answers for the schema the gateway writes (Kafka is connected above).
  const ready = (): Promise<boolean> => codec.schemaIdOf(TOPICS.uploadRequested).then(() => true, () => false);
  const app = buildApp({ ready, metrics: createMetrics('portal-gateway') });
  await app.listen({ host: config.HOST, port: config.PORT });
  logger.info({ port: config.PORT }, 'gateway listening');
  return {
    logger,
    stop: async () => {
      await app.close(); // stops accepting, lets in-flight requests finish
      await publisher.disconnect();
    },
  };
});
