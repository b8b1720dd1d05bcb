import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { newImageUID, ownerKeySegment } from '@orbit/lib';
import { sampleEvents, type ImageIndexFacts, type ImageValidated, type IndexedBlob } from '@orbit/schemas';

/** Where the integration tests stage an upload: the stack's staging bucket. */
export interface StagingBucket {
  readonly s3: S3Client;
  readonly bucket: string;
}

const suffix = (): string => randomBytes(4).toString('hex');

/**
 * A validated docker-archive staged in MinIO under `owner`'s uploads, as version 1.4.2 of `imageName`: the event the
 * image-validator would send for it, its summary as skopeo (not Orbit) reads it. For the integration tests.
 */
export async function stagedValidated(staging: StagingBucket, dockerArchive: string, imageName: string, owner: string): Promise<ImageValidated> {
  const body = readFileSync(dockerArchive);
  const key = `uploads/${ownerKeySegment(owner)}/test/${suffix()}.tar`;
  const put = await staging.s3.send(new PutObjectCommand({ Bucket: staging.bucket, Key: key, Body: body, ServerSideEncryption: 'AES256' }));
  const raw = execFileSync('skopeo', ['inspect', '--raw', `docker-archive:${dockerArchive}`]);
  const manifest = JSON.parse(raw.toString('utf8')) as { config: { digest: string }; layers: { digest: string; size: number }[] };
  const base = sampleEvents(newImageUID(), `req-${suffix()}`)['orbit.image.validated'];
  return {
    ...base, actor: { ...base.actor, username: owner }, metadata: { ...base.metadata, imageName, imageVersion: '1.4.2' },
    staging: { bucket: staging.bucket, key, versionId: put.VersionId ?? null }, sizeBytes: body.length, sha256: createHash('sha256').update(body).digest('hex'),
    image: {
      ...base.image, format: 'DOCKER_ARCHIVE', compression: 'NONE', manifestDigest: `sha256:${createHash('sha256').update(raw).digest('hex')}`, configDigest: manifest.config.digest,
      layers: manifest.layers.map((layer) => ({ digest: layer.digest, diffId: layer.digest, sizeBytes: layer.size, mediaType: 'application/vnd.docker.image.rootfs.diff.tar' })),
    },
  };
}

/** A multi-platform image's summary as the tests read it from its OCI archive (test/helpers/images.ts multiPlatformSummaryOf). */
export interface MultiPlatformSummary {
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layers: readonly IndexedBlob[];
  readonly index: ImageIndexFacts;
}

/** A validated multi-platform OCI archive staged in MinIO under dev1's uploads, as version 1.4.2 of `imageName`, with `summary` read from it. */
export async function stagedMultiPlatformValidated(staging: StagingBucket, ociArchive: string, summary: MultiPlatformSummary, imageName: string): Promise<ImageValidated> {
  const body = readFileSync(ociArchive);
  const key = `uploads/dev1/test/${suffix()}.tar`;
  const put = await staging.s3.send(new PutObjectCommand({ Bucket: staging.bucket, Key: key, Body: body, ServerSideEncryption: 'AES256' }));
  const base = sampleEvents(newImageUID(), `req-${suffix()}`)['orbit.image.validated'];
  return {
    ...base, metadata: { ...base.metadata, imageName, imageVersion: '1.4.2' },
    staging: { bucket: staging.bucket, key, versionId: put.VersionId ?? null }, sizeBytes: body.length, sha256: createHash('sha256').update(body).digest('hex'),
    image: {
      ...base.image, format: 'OCI_ARCHIVE', compression: 'NONE', manifestDigest: summary.manifestDigest, configDigest: summary.configDigest, index: summary.index,
      layers: summary.layers.map((layer) => ({ ...layer, diffId: layer.digest, mediaType: 'application/vnd.oci.image.layer.v1.tar' })),
    },
  };
}
