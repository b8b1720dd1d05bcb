/** c12bms03: validates staged archives and registry references, and publishes the verdict. */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createDynamo, dynamoCheck, s3Check, SERVICE_KAFKA_USE, envelopeFor, interfaceAddressesOfThisHost, registryAccessOf, resolveWithin, runMain, startConsumerService, tableName, type ConsumedMessage } from '@orbit/lib';
import { failRequestOnDeadLetter, loadSchemas, type ObjectRef, type OrbitEvent, type UploadRequested } from '@orbit/schemas';
import type { Readable } from 'node:stream';
import { validatorEnv, validatorS3 } from './config.js';
import { REGISTRY_PATIENCE, StagedObjectMissingError, validateUpload, type ValidateUploadDeps } from './handle.js';
import { RegistryOutages } from './registry-outages.js';
import { dynamoNameRegistry } from './name-registry.js';
import { pullGuards } from './redirect-policy.js';
import { pullDescription, stageReference } from './stage-reference.js';
import { verdictEvent } from './verdict-event.js';

export const SERVICE = 'image-validator';
export const TOPICS_CONSUMED = SERVICE_KAFKA_USE['image-validator'].reads;

function stagedReader(s3: S3Client): (ref: ObjectRef) => Promise<Readable> {
  return async (ref) => {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, ...(ref.versionId ? { VersionId: ref.versionId } : {}) }));
      return object.Body as Readable;
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NoSuchVersion' || name === 'NotFound') throw new StagedObjectMissingError(ref);
      throw error;
    }
  };
}

runMain(() =>
  startConsumerService<OrbitEvent, typeof validatorEnv>({
    service: SERVICE,
    topics: TOPICS_CONSUMED,
    schemas: loadSchemas(),
    createDeadLetterHook: ({ publisher }) => failRequestOnDeadLetter(SERVICE, publisher),
    env: validatorEnv,
    // Pulls by reference wait on registries: more of them at once than the consume loop's default (see ORBIT_MAX_DETACHED_HANDLERS).
    maxDetachedHandlers: (config) => config.ORBIT_MAX_DETACHED_HANDLERS,
    // A slow pull waits on its registry, not on the machine: the uploads behind it in its partition go on past it.
    keyOrderedDetach: true,
    // Shown in /readyz and orbit_dependency_up, not gating (see DependencyCheck): the staging bucket archives are read
    // from and pulls written to, and the image names table. The registries it pulls from are its users', not checked.
    dependencies: ({ config }) => [
      s3Check(validatorS3(config), config.ORBIT_BUCKET_STAGING),
      dynamoCheck(createDynamo(config), tableName('appImageMetadata', config)),
    ],
    createHandler: ({ config, publisher, logger }) => {
      // Not lib's ten minutes (for server-side copies, which the validator never makes): a hung S3 holds an upload about
      // as long as it hangs, plus ORBIT_S3_SILENCE_TIMEOUT_SECONDS.
      const s3 = validatorS3(config);
      const limits = { maxArchiveBytes: config.ORBIT_MAX_UPLOAD_BYTES, maxDecompressedBytes: config.ORBIT_MAX_DECOMPRESSED_BYTES, maxEntries: config.ORBIT_MAX_ARCHIVE_ENTRIES, maxJsonBytes: 4 * 1024 * 1024 };
      const access = registryAccessOf(config, logger);
      const places = {
        own: [config.ORBIT_IMAGE_REGISTRY, ...config.ORBIT_ENVIRONMENT_REGISTRIES.values()], resolveHost: resolveWithin(2000), interfaceAddresses: interfaceAddressesOfThisHost(),
        listed: { allowed: config.ORBIT_ALLOWED_REGISTRIES, insecure: access.insecure, privateHosts: config.ORBIT_PULL_PRIVATE_HOSTS },
      };
      const pullDeadline = { minSeconds: config.ORBIT_PULL_MIN_DEADLINE_SECONDS, minBytesPerSecond: config.ORBIT_PULL_MIN_BYTES_PER_SECOND };
      // Each pull gets checks and a connection pool of its own (pullGuards): where a registry may send Orbit depends on that registry.
      const deps: ValidateUploadDeps = {
        openStaged: stagedReader(s3),
        stageReference: async (event) => {
          const guards = pullGuards(places);
          try {
            return await stageReference(event, { s3, stagingBucket: config.ORBIT_BUCKET_STAGING, access, maxBytes: config.ORBIT_MAX_UPLOAD_BYTES, wholeIndex: config.ORBIT_PULL_WHOLE_INDEX, ...guards, pullDeadline });
          } finally {
            // The pull's own connections end with it, not a keep-alive later (up to 600 s if a registry asks).
            await guards.fetch.close();
          }
        },
        names: dynamoNameRegistry(createDynamo(config), tableName('appImageMetadata', config)),
        limits,
        stagingBucket: config.ORBIT_BUCKET_STAGING,
        registryPatience: { ...REGISTRY_PATIENCE, patienceMs: config.ORBIT_REGISTRY_PATIENCE_SECONDS * 1000 },
        // One patience waited per outage and window, not one per upload naming the registry.
        registryOutages: new RegistryOutages(2 * config.ORBIT_REGISTRY_PATIENCE_SECONDS * 1000),
        allowedRegistries: config.ORBIT_ALLOWED_REGISTRIES,
      };
      return async (message: ConsumedMessage<OrbitEvent>) => {
        const event = message.event as UploadRequested;
        const pulling = pullDescription(event.reference);
        if (pulling) message.describe?.(pulling);
        const verdict = await validateUpload(event, deps);
        if (verdict.kind === 'already-stored') {
          message.log.info('upload delivered again after it was stored; its verdict went out the first time');
          return;
        }
        const { topic, event: outcome } = verdictEvent(event, verdict, envelopeFor);
        if (verdict.kind === 'rejected') message.log.info({ reasonCode: verdict.reasonCode, reason: verdict.message }, 'upload rejected');
        else message.log.info({ sizeBytes: verdict.sizeBytes, manifestDigest: verdict.image.manifestDigest, notes: verdict.image.validationNotes }, 'upload validated');
        await publisher.publish(topic, outcome, { trace: message.trace });
      };
    },
  }),
);
