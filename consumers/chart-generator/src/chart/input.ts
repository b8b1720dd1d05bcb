import type { ImageMetadata, ImageSummary } from '@orbit/schemas';
import type { Environment } from '../environment.js';

/** Everything a chart is made from; the stored event plus where the image will be pulled from. */
export interface ChartInput {
  readonly imageUID: string;
  readonly metadata: ImageMetadata;
  readonly image: ImageSummary;
  /** Registry path without tag or digest, e.g. registry.example/orbit/billing-api. */
  readonly imageRepository: string;
  readonly environment: Environment;
  /** Where the harbor-writer tagged the image (ImageStored's imageTag, `registry/orbit/name:v1-0-00`), when it pushed it. */
  readonly registryTag?: string | null;
}
