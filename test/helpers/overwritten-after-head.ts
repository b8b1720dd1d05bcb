import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** An object of the fake store, one per bucket (the tests copy one key). */
export interface FakeObject {
  readonly etag: string;
  readonly size: number;
  readonly metadata: Record<string, string>;
}

const s3Error = (name: string, status: number): Error => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

/**
 * Buckets without versioning behind S3_CHECKSUMS=off (no checksum on any
 * HEAD), holding one object each: `watched`'s object is replaced by
 * `replacement` (other bytes of the same size, put out of band) right after
 * the first HEAD of it. CopyObject honours CopySourceIfMatch as S3 does (412).
 */
export function overwrittenAfterItsHead(initial: Readonly<Record<string, FakeObject>>, watched: string, replacement: FakeObject): { s3: S3Client; objects: Map<string, FakeObject> } {
  const objects = new Map(Object.entries(initial));
  let watchedHeads = 0;
  const s3 = {
    send: async (command: { input: Record<string, unknown> }) => {
      const bucket = String(command.input['Bucket']);
      if (command instanceof HeadObjectCommand) {
        const object = objects.get(bucket);
        if (bucket === watched && ++watchedHeads === 1) objects.set(watched, replacement);
        if (!object) throw s3Error('NotFound', 404);
        return { ETag: object.etag, ContentLength: object.size, Metadata: object.metadata };
      }
      if (command instanceof CopyObjectCommand) {
        const from = objects.get(String(command.input.CopySource).split('/')[0] ?? '');
        if (!from) throw s3Error('NoSuchKey', 404);
        const ifMatch = command.input.CopySourceIfMatch;
        if (ifMatch !== undefined && ifMatch !== from.etag) throw s3Error('PreconditionFailed', 412);
        objects.set(bucket, { etag: from.etag, size: from.size, metadata: (command.input.Metadata ?? {}) as Record<string, string> });
        return { CopyObjectResult: { ETag: from.etag } };
      }
      if (command instanceof DeleteObjectCommand) {
        objects.delete(bucket);
        return {};
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  } as unknown as S3Client;
  return { s3, objects };
}
