import { TOPICS } from '@orbit/lib';

/** The live projector's consumer group; rebuilt offsets are written under it. */
export const PROJECTOR_GROUP = 'viewport-projector';

/** Every lifecycle topic ViewPort is projected from (and rebuilt from). */
export const PROJECTED_TOPICS = [TOPICS.imageValidated, TOPICS.imageRejected, TOPICS.imageStored, TOPICS.chartGenerated, TOPICS.chartPromoted, TOPICS.pipelineFailed] as const;
