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

export function dlqTopicOf(topic: string): string {
  return `${topic}.dlq`;
}

export function isDlqTopic(topic: string): boolean {
  return topic.endsWith('.dlq');
}
