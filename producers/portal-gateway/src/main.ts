/** Portal gateway: the HTTP entry of uploads and transfers; publishes command events. */
import {
  checkSchemaCurrent, createDynamo, createKafka, createLogger, createMetrics, createMysqlPool, createPresigningS3, createS3, EventCodec, EventPublisher,
  failureStreak, findLostProjection, interfaceAddressesOfThisHost, kustomizeTableKeyOf, oneAtATime, processStart, READINESS_CHECK_TIMEOUT_MS, PROJECTED_TOPICS, PROJECTOR_GROUP, resolveWithin, runMain, serveStartingHealth,
  shutdownGrace, START_RETRY_POLICY, type CutAnswer, type CutRequest, tableAnswers, tableName, TOPICS, untilConnected, waitForCurrentSchema, withAnswerDeadline,
} from '@orbit/lib';
import { loadSchemas } from '@orbit/schemas';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { buildApp } from './app.js';
import { readinessOf, schemaChecks } from './readiness.js';
import { tokenVerifier } from './auth.js';
import { readGatewayConfig } from './config.js';
import { dynamoEventLog } from './stores/dynamo-events.js';
import { mysqlImageNames, mysqlRequestStore, mysqlTransferClaims, mysqlUploadClaims, mysqlUploadRequests } from './stores/mysql-requests.js';
import { mysqlImageReader, mysqlOwnerMark, mysqlVersionStored } from './stores/mysql-images.js';
import { confirmMisses, ProjectionWatch } from './projection-watch.js';
import { mysqlCommandOutbox } from './stores/mysql-outbox.js';
import { s3UploadStore } from './stores/s3-uploads.js';
import { awsDeployables } from './stores/deployables.js';


/** The answer of a request cut when the shutdown grace is over; see docs/errors.md, ORBIT_ERR_SHUTDOWN_CUT. */
function cutAtShutdown(graceSeconds: number): (cut: CutRequest) => CutAnswer {
  return ({ bodyArrived }) => ({
    code: 'ORBIT_ERR_SHUTDOWN_CUT',
    message: bodyArrived
      ? `this gateway stopped while answering the request (its ${graceSeconds} s shutdown grace was over); it may still be recorded: look for it (GET /v1/requests) or send it again with the same Idempotency-Key`
      : `this gateway stopped before the request's body had arrived (its ${graceSeconds} s shutdown grace was over); nothing was accepted: send it again`,
  });
}

runMain(async () => {
  // Before anything connects or listens, every bad variable at once (MYSQL_*, KAFKA_SASL_* and the TLS files with the
  // rest), not one round per fix, nor a bad MYSQL_* value once Kafka answers.
  const { config, mysql, kafka: kafkaTarget } = readGatewayConfig();
  // One name in its log lines and its metrics' service label, as each consumer has (service.ts): an alert or dashboard
  // joining the two by service found no series for a gateway run under another ORBIT_SERVICE.
  const service = config.ORBIT_SERVICE ?? 'portal-gateway';
  const logger = createLogger({ service, level: config.LOG_LEVEL });
  processStart.logger = logger;
  const metrics = createMetrics(service);
  // On PORT from the first moment, so a liveness probe sees the gateway alive while it waits for Kafka (and a port in
  // use fails the start at once); /readyz answers 503 naming the step. Handed over to the API's server below.
  const starting = await serveStartingHealth(processStart, { ready: () => false }, metrics, { host: config.HOST, port: config.PORT, names: 'HOST, PORT' });
  const kafka = createKafka({ clientId: 'portal-gateway', ...kafkaTarget, logger });
  const codec = new EventCodec(config.SCHEMA_REGISTRY_URL, loadSchemas());
  const publisher = await untilConnected('Kafka (publisher)', () => EventPublisher.connect(kafka, codec, logger), logger, START_RETRY_POLICY, processStart);
  const pool = withAnswerDeadline(createMysqlPool(mysql.url, 8, mysql.ssl), config.ORBIT_MYSQL_ANSWER_TIMEOUT_SECONDS * 1000, 'MySQL', logger);
  // Answering 503 (/readyz names the missing migration) until the database holds every migration of this build: a
  // gateway started before `npm run provision` answered keyed uploads and transfers 500 (a column not there yet).
  await waitForCurrentSchema(pool, { logger, onWaiting: (reason) => { processStart.step = `waiting for the MySQL schema: ${reason}`; } });
  const outbox = mysqlCommandOutbox(pool, publisher, logger);
  // Every 2 s: through a MySQL outage, one line per new reason and one when it works again, not one stack per sweep.
  const sweepFailures = failureStreak(logger, { failed: 'outbox sweep failed; will try again every 2 s', recovered: 'outbox sweep works again' });
  // One sweep at a time: through a Kafka outage a sweep waits out its publish on the connection holding the sweepers'
  // lock, and one started every 2 s beside it would each hold another of the pool's 8 connections, leaving none for the API.
  const sweepOnce = oneAtATime(() => outbox.sweep());
  const sweep = (): void => {
    sweepOnce().then(
      (sent) => {
        if (sent === undefined) return; // the one before is still at it
        sweepFailures.succeeded();
        if (sent > 0) logger.info({ sent }, 'published commands the broker could not take earlier');
      },
      (error: unknown) => sweepFailures.failed(error),
    );
  };
  sweep();
  const sweeper = setInterval(sweep, 2_000);
  const admin = kafka.admin();
  await untilConnected('Kafka (admin)', () => admin.connect(), logger, START_RETRY_POLICY, processStart);
  const projection = new ProjectionWatch({ findLost: () => findLostProjection(admin, pool, PROJECTOR_GROUP, PROJECTED_TOPICS), logger });
  processStart.step = 'looking at the ViewPort projection';
  await projection.start();
  // Between two looks of the watch, what a lost projection would answer wrongly is looked at again before it is answered.
  const confirmed = (): Promise<void> => projection.confirm();
  // One upload of a version under way at a time, whichever way it comes (see VersionUploadUnderWay), and a few of an
  // owner's uploads by reference (see ReferenceUploadsPending) and of one registry's (RegistryUploadsPending), with a
  // key or without.
  const referenceLimits = {
    maxPendingReferenceUploads: config.ORBIT_MAX_PENDING_REFERENCE_UPLOADS,
    maxPendingReferenceUploadsPerRegistry: config.ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY,
  };
  const idempotencyKeys = mysqlUploadClaims(pool, outbox, TOPICS.uploadRequested, 'upload_idempotency_keys', config.ORBIT_IDEMPOTENCY_KEY_TTL_HOURS * 3600, { oneUploadPerVersion: true, ...referenceLimits });
  const transferClaims = mysqlTransferClaims(pool, outbox, TOPICS.transferRequested, config.ORBIT_IDEMPOTENCY_KEY_TTL_HOURS * 3600);
  const purgeKeys = (): void => {
    Promise.all([idempotencyKeys.purgeExpired?.() ?? 0, transferClaims.purgeExpiredKeys?.() ?? 0]).then(
      ([uploads, transfers]) => { if (uploads + transfers > 0) logger.info({ purged: uploads + transfers, uploads, transfers }, 'expired Idempotency-Keys removed'); },
      (error: unknown) => logger.warn({ err: error }, 'removing expired Idempotency-Keys failed; will try again'),
    );
  };
  purgeKeys();
  // Expired keys are already ignored; the hourly purge only keeps the table from growing.
  const keyPurger = setInterval(purgeKeys, 3_600_000);
  keyPurger.unref();
  const images = mysqlImageReader(pool);
  const requests = mysqlRequestStore(pool);
  const s3 = createS3(config, config.ORBIT_S3_SILENCE_TIMEOUT_SECONDS * 1000);
  // Signs the URLs callers are handed (uploads, archive and chart links) for ORBIT_S3_PUBLIC_ENDPOINT when it is set.
  const presigner = createPresigningS3(config);
  const dynamo = createDynamo(config);
  const claims = { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, rolesClaims: config.JWT_ROLES_CLAIMS, usernameClaims: config.JWT_USERNAME_CLAIMS, clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS };
  const verify = tokenVerifier(config.JWT_JWKS_URL ? { kind: 'jwks', jwksUrl: config.JWT_JWKS_URL, ...claims } : { kind: 'hs256', secret: config.JWT_SECRET, ...claims });
  // Every route reads MySQL, and nothing is published before the schema's id is known (then kept). The others are
  // shown, not gating: a request that needs one while it is away gets its own 503 (or waits in the outbox for Kafka).
  const ready = readinessOf([
    { name: 'mysql', gates: true, check: () => pool.query('SELECT 1') },
    // A database put back from a backup older than this build's migrations is as unfit as one never migrated.
    { name: 'mysql-schema', gates: true, check: () => checkSchemaCurrent(pool) },
    ...schemaChecks(codec),
    { name: 'kafka', gates: false, check: () => admin.describeCluster() },
    { name: 's3', gates: false, check: () => s3.send(new HeadBucketCommand({ Bucket: config.ORBIT_BUCKET_STAGING })) },
    { name: 'dynamodb', gates: false, check: () => tableAnswers(dynamo, tableName('userEventLog', config)) },
  ], READINESS_CHECK_TIMEOUT_MS, metrics, { logger });
  const app = buildApp({
    ready, logger, verify, metrics,
    uploads: s3UploadStore(s3, config.ORBIT_BUCKET_STAGING, config.ORBIT_MAX_UPLOAD_BYTES, { presigner, partSizeBytes: config.ORBIT_PRESIGN_PART_BYTES }),
    names: mysqlImageNames(pool, confirmed),
    images: {
      get: confirmMisses(images.get, confirmed), search: confirmMisses(images.search, confirmed, (page) => page.images.length === 0),
      getVersion: confirmMisses(images.getVersion, confirmed, (image) => image === undefined || image.versions.length === 0),
      versionsPage: confirmMisses(images.versionsPage, confirmed),
      overview: confirmMisses(images.overview, confirmed),
      outline: confirmMisses(images.outline, confirmed),
      getChart: confirmMisses(images.getChart, confirmed, (image) => image === undefined || image.versions.length === 0),
      charted: confirmMisses(images.charted, confirmed, (found) => found.length === 0),
    },
    versionStored: mysqlVersionStored(pool),
    ownerMark: mysqlOwnerMark(pool),
    requests: { ...requests, get: confirmMisses(requests.get, confirmed), list: confirmMisses(requests.list, confirmed, (page) => page.requests.length === 0) },
    events: dynamoEventLog(dynamo, tableName('userEventLog', config)),
    deployables: awsDeployables(s3, dynamo, (environment) => tableName(kustomizeTableKeyOf(environment), config), tableName('baseKustomize', config), undefined, presigner),
    publish: {
      uploadRequested: mysqlUploadRequests(pool, outbox, TOPICS.uploadRequested, referenceLimits),
      uploadRefused: (event, trace, request) => outbox.send(TOPICS.pipelineFailed, event, trace, request),
    },
    completions: mysqlUploadClaims(pool, outbox, TOPICS.uploadRequested, 'upload_completions', undefined, { oneUploadPerVersion: true }),
    idempotencyKeys,
    publicBaseUrl: config.PUBLIC_BASE_URL,
    maxUploadBytes: config.ORBIT_MAX_UPLOAD_BYTES,
    allowedRegistries: config.ORBIT_ALLOWED_REGISTRIES,
    corsOrigins: config.ORBIT_CORS_ORIGINS,
    ownRegistries: [config.ORBIT_IMAGE_REGISTRY, ...config.ORBIT_ENVIRONMENT_REGISTRIES.values()],
    resolveHost: resolveWithin(2000),
    interfaceAddresses: interfaceAddressesOfThisHost(),
    idleTimeoutMs: config.ORBIT_IDLE_TIMEOUT_SECONDS * 1000,
    minBodyBytesPerSecond: config.ORBIT_MIN_UPLOAD_BYTES_PER_SECOND,
    maxStreamedUploadsPerOwner: config.ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER,
    maxStreamedUploads: config.ORBIT_MAX_STREAMED_UPLOADS,
    projectionLost: () => projection.lost(),
    transfers: {
      claims: transferClaims,
      policy: { chain: config.ORBIT_ENVIRONMENT_CHAIN, roles: config.ORBIT_TRANSFER_ROLES },
      publish: {
        transferRefused: (event, trace, request) => outbox.send(TOPICS.pipelineFailed, event, trace, request),
      },
    },
  });
  // A request still under way when the grace is over (a slow upload's body) is told 503 with a code a client retries
  // on, not left with a connection closed and no answer: docker, skopeo and SDKs retry a 503, not a reset.
  const grace = shutdownGrace(app, { graceMs: config.ORBIT_SHUTDOWN_GRACE_SECONDS * 1000, logger, answerCut: cutAtShutdown(config.ORBIT_SHUTDOWN_GRACE_SECONDS) });
  // Handed over: a probe in the moment between the two servers finds the port closed, once, as it did for the whole
  // start before; one miss is below any probe's failureThreshold.
  await starting.close();
  processStart.step = `listening on ${config.HOST}:${config.PORT} (HOST, PORT)`;
  await app.listen({ host: config.HOST, port: config.PORT });
  processStart.started = true;
  logger.info({ port: config.PORT }, 'gateway listening');
  let stopping: Promise<void> | undefined;
  return {
    logger,
    // Once: the stores are closed once, whoever asks again (a second signal is runMain's, which exits at once).
    stop: () => {
      stopping ??= (async () => {
        // Stops accepting, lets in-flight requests finish for ORBIT_SHUTDOWN_GRACE_SECONDS, then cuts the rest. The stop
        // still ends in exit 0: the gateway stopped when asked, and each cut request is in the log and was not accepted.
        await grace.close();
        clearInterval(sweeper);
        clearInterval(keyPurger);
        projection.close();
        await admin.disconnect();
        await publisher.disconnect();
        await pool.end();
        logger.info('service stopped');
      })();
      return stopping;
    },
  };
});
