/** c12bms06: Helm chart, rendered manifests and Kustomize overlays for stored images; chart promotion on transfers. */
import {
  bucketEnv, createDynamo, createS3, dynamoCheck, env, environmentRegistryEnv, imageRegistryEnv, kustomizeTableKeyOf, pushRegistryChecks, registryAccessEnv, registryAccessOf, runMain,
  s3Check, startConsumerService, SERVICE_KAFKA_USE, tableName, TOPICS, type ConsumedMessage,
} from '@orbit/lib';
import { failRequestOnDeadLetter, loadSchemas, type ImageCopied, type ImageStored, type OrbitEvent } from '@orbit/schemas';
import { awsChartStore } from './chart-store.js';
import { generateChart } from './generate.js';
import { promoteChart } from './promote.js';
import { pushChart, type ChartToPush } from './push-chart.js';

export const SERVICE = 'chart-generator';
export const TOPICS_CONSUMED = SERVICE_KAFKA_USE['chart-generator'].reads;

const chartEnv = {
  ...bucketEnv,
  ...imageRegistryEnv,
  ...environmentRegistryEnv,
  ...registryAccessEnv,
  /**
   * Push every chart as an OCI artifact to `<registry path>/charts/<chart name>` beside its image (`helm pull oci://…`,
   * Argo CD and Flux OCI repositories), and an environment's own chart into its own registry. @default true
   */
  ORBIT_CHART_PUSH: env.bool(true),
};

runMain(() =>
  startConsumerService<OrbitEvent, typeof chartEnv>({
    service: SERVICE,
    topics: TOPICS_CONSUMED,
    schemas: loadSchemas(),
    createDeadLetterHook: ({ publisher }) => failRequestOnDeadLetter(SERVICE, publisher),
    env: chartEnv,
    // Shown in /readyz and orbit_dependency_up, not gating (see DependencyCheck): the charts bucket, the manifests
    // table, and the registries charts are pushed to.
    dependencies: ({ config }) => [
      s3Check(createS3(config), config.ORBIT_BUCKET_CHARTS),
      dynamoCheck(createDynamo(config), tableName('kustomizeDevelopment', config)),
      ...(config.ORBIT_CHART_PUSH ? pushRegistryChecks(config) : []),
    ],
    createHandler: ({ config, publisher, logger }) => {
      const store = awsChartStore(createS3(config), createDynamo(config), config.ORBIT_BUCKET_CHARTS);
      const tables = { manifests: tableName('kustomizeDevelopment', config), base: tableName('baseKustomize', config) };
      const access = registryAccessOf(config, logger);
      // Both paths refuse an event naming any other registry (pushed-registry.ts): pushed to, it would have this service contact any host.
      const registries = { registry: config.ORBIT_IMAGE_REGISTRY, environmentRegistries: config.ORBIT_ENVIRONMENT_REGISTRIES };
      return async (message: ConsumedMessage<OrbitEvent>) => {
        const charts = config.ORBIT_CHART_PUSH
          ? { pushChart: (chart: ChartToPush, registryPrefix: string) => pushChart(chart, registryPrefix, { access, signal: message.signal }, message.log) }
          : {};
        if (message.topic === TOPICS.imageStored) {
          const outcome = await generateChart(message.event as ImageStored, { store, tables, ...registries, ...charts });
          if (outcome.kind === 'failed') message.log.warn({ reasonCode: outcome.event.reasonCode, reason: outcome.event.message }, 'chart refused');
          else message.log.info({ helmChartName: outcome.event.helmChartName, chart: outcome.event.chart.key }, 'chart generated');
          await publisher.publish(outcome.kind === 'generated' ? TOPICS.chartGenerated : TOPICS.pipelineFailed, outcome.event, { trace: message.trace });
          return;
        }
        const outcome = await promoteChart(message.event as ImageCopied, {
          store, tableOf: (environment) => tableName(kustomizeTableKeyOf(environment), config), baseTable: tables.base, ...registries, ...charts,
        });
        if (outcome.kind === 'failed') message.log.warn({ reasonCode: outcome.event.reasonCode, reason: outcome.event.message }, 'chart promotion failed');
        else message.log.info({ helmChartName: outcome.event.helmChartName, targetTable: outcome.event.targetTable }, 'chart promoted');
        await publisher.publish(outcome.kind === 'promoted' ? TOPICS.chartPromoted : TOPICS.pipelineFailed, outcome.event, { trace: message.trace });
      };
    },
  }),
);
