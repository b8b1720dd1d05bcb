import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOPICS, type AvroSchemaJson, type TopicName } from '@orbit/lib';

/** The Avro record each topic carries; the file is ../avro/<name>.avsc. */
export const SCHEMA_OF_TOPIC: Readonly<Record<TopicName, string>> = {
  [TOPICS.uploadRequested]: 'UploadRequested',
  [TOPICS.imageValidated]: 'ImageValidated',
  [TOPICS.imageRejected]: 'ImageRejected',
  [TOPICS.imageStored]: 'ImageStored',
  [TOPICS.chartGenerated]: 'ChartGenerated',
  [TOPICS.transferRequested]: 'TransferRequested',
  [TOPICS.imageCopied]: 'ImageCopied',
  [TOPICS.chartPromoted]: 'ChartPromoted',
  [TOPICS.viewportUpdated]: 'ViewportUpdated',
  [TOPICS.pipelineFailed]: 'PipelineFailed',
};

/** src/ and dist/ both sit one level below the package, beside avro/. */
export const BUNDLED_SCHEMA_DIR = fileURLToPath(new URL('../avro/', import.meta.url));

export function schemaPath(name: string, dir: string = BUNDLED_SCHEMA_DIR): string {
  return join(dir, `${name}.avsc`);
}

let bundled: ReadonlyMap<TopicName, AvroSchemaJson> | undefined;

/**
 * Every topic's schema as this build ships it (the reader schema of every
 * consumer). `dir` reads another copy instead, e.g. a proposed change to check.
 */
export function loadSchemas(dir?: string): ReadonlyMap<TopicName, AvroSchemaJson> {
  if (dir === undefined && bundled) return bundled;
  const schemas = new Map(
    (Object.entries(SCHEMA_OF_TOPIC) as [TopicName, string][]).map(([topic, name]) => [
      topic,
      JSON.parse(readFileSync(schemaPath(name, dir), 'utf8')) as AvroSchemaJson,
    ]),
  );
  if (dir === undefined) bundled = schemas;
  return schemas;
}
