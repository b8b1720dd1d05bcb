/** Kafka topics of the design; deploy/kafka/topics.yaml declares their settings (a test keeps both in step). */
export const TOPICS = {
  uploadRequested: 'orbit.upload.requested',
  imageValidated: 'orbit.image.validated',
  imageRejected: 'orbit.image.rejected',
  imageStored: 'orbit.image.stored',
  chartGenerated: 'orbit.chart.generated',
  transferRequested: 'orbit.transfer.requested',
  imageCopied: 'orbit.image.copied',
  chartPromoted: 'orbit.chart.promoted',
  viewportUpdated: 'orbit.viewport.updated',
  pipelineFailed: 'orbit.pipeline.failed',
} as const;

export type TopicKey = keyof typeof TOPICS;
export type TopicName = (typeof TOPICS)[TopicKey];

export const ALL_TOPICS: readonly TopicName[] = Object.values(TOPICS);

/** The live viewport-projector's consumer group; rebuilt offsets are written under it. */
export const PROJECTOR_GROUP = 'viewport-projector';

/** Every lifecycle topic ViewPort is projected from (and rebuilt from). */
export const PROJECTED_TOPICS = [TOPICS.imageValidated, TOPICS.imageRejected, TOPICS.imageStored, TOPICS.chartGenerated, TOPICS.chartPromoted, TOPICS.pipelineFailed] as const;

const DLQ_SUFFIX = '.dlq';

export function dlqTopicOf(topic: string): string {
  return `${topic}${DLQ_SUFFIX}`;
}

/**
 * The one topic a DLQ's letters go back to: `X` for `X.dlq`. A letter names
 * its topic in a header anyone writing to the DLQ sets; taken at its word, a
 * hand-made or foreign letter made a re-drive write to any topic.
 */
export function sourceTopicOf(dlqTopic: string): string | undefined {
  return dlqTopic.endsWith(DLQ_SUFFIX) && dlqTopic.length > DLQ_SUFFIX.length ? dlqTopic.slice(0, -DLQ_SUFFIX.length) : undefined;
}

export function isDlqTopic(topic: string): boolean {
  return sourceTopicOf(topic) !== undefined;
}

/** Orbit's six services, by the names their consumer groups and logs carry. */
export type ServiceName = 'portal-gateway' | 'image-validator' | 'chart-generator' | 'harbor-writer' | 'viewport-projector' | 'event-logger';

/** What a service does on Kafka: the least a broker's ACLs must let it do (provisioning grants exactly this). */
export interface KafkaUse {
  /** Topics it consumes, in its consumer group (named after the service); it dead-letters into their `.dlq` twins. */
  readonly reads: readonly TopicName[];
  readonly writes: readonly TopicName[];
  /** Topics and a group whose positions it reads without consuming (the gateway watches the projector's). */
  readonly watches?: { readonly topics: readonly TopicName[]; readonly group: string };
}

/**
 * Each service's reads and writes, the one place they are listed: the
 * consumers subscribe to `reads`, and per-service principals are granted
 * these and nothing more, so a service taken over (the validator parses
 * whatever archive a user sends) cannot write the events others act on.
 */
export const SERVICE_KAFKA_USE: Readonly<Record<ServiceName, KafkaUse>> = {
  'portal-gateway': { reads: [], writes: [TOPICS.uploadRequested, TOPICS.transferRequested, TOPICS.pipelineFailed], watches: { topics: PROJECTED_TOPICS, group: PROJECTOR_GROUP } },
  // Every consumer but the event-logger fails the request of a message it dead-letters (failRequestOnDeadLetter).
  'image-validator': { reads: [TOPICS.uploadRequested], writes: [TOPICS.imageValidated, TOPICS.imageRejected, TOPICS.pipelineFailed] },
  'chart-generator': { reads: [TOPICS.imageStored, TOPICS.imageCopied], writes: [TOPICS.chartGenerated, TOPICS.chartPromoted, TOPICS.pipelineFailed] },
  'harbor-writer': { reads: [TOPICS.imageValidated, TOPICS.transferRequested], writes: [TOPICS.imageStored, TOPICS.imageCopied, TOPICS.pipelineFailed] },
  'viewport-projector': { reads: PROJECTED_TOPICS, writes: [TOPICS.viewportUpdated, TOPICS.pipelineFailed] },
  'event-logger': { reads: ALL_TOPICS, writes: [] },
};
