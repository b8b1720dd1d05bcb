import { envelopeFor, newImageUID, type Step } from '@orbit/lib';
import type { EventsByTopic, ImageMetadata, ImageReferrer, ImageSummary, ObjectRef } from './events.js';

/**
 * A realistic event for every topic. Tests use them to prove the TypeScript
 * types and the Avro schemas describe the same shape, and integration tests
 * publish them through the real registry.
 */
export function sampleEvents(imageUID: string = newImageUID(), correlationId = 'req-sample-1'): EventsByTopic {
  const actor = { username: 'dev1', firstName: 'Ada', lastName: null, email: 'ada@example.com' };
  const envelope = (step: Step) => envelopeFor(step, { correlationId, imageUID, actor }, new Date('2026-11-22T10:00:00Z'));
  const metadata: ImageMetadata = {
    imageName: 'billing-api', imageVersion: 'v1-0-00', imageCategory: 'backend', description: 'Billing', part: null, port: 8080,
    envVars: [{ key: 'MODE', value: 'prod' }], volumes: [{ key: 'data', value: '/var/lib/billing' }], imageLabels: [],
    commandOverride: null, entrypointOverride: null, workingDir: '/app', extraJson: '{"team":"payments"}',
  };
  const staging: ObjectRef = { bucket: 'temporary-app-image-1203-bkt-k8d-aws', key: 'uploads/dev1/2026/11/22/u1.tar', versionId: null };
  const stored: ObjectRef = { bucket: 'app-image-1206-bkt-k8d-aws', key: `${imageUID}-v1-0-00.tar`, versionId: 'v-1' };
  // An SBOM the archive held beside the image (only the stored sample carries it: the validated one is pushed from real archives in tests).
  const sbom: ImageReferrer = {
    digest: `sha256:${'9'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', sizeBytes: 512, artifactType: 'application/spdx+json',
    subject: `sha256:${'a'.repeat(64)}`, tag: null, blobs: [{ digest: `sha256:${'8'.repeat(64)}`, sizeBytes: 2 }],
  };
  const image: ImageSummary = {
    format: 'OCI_ARCHIVE', compression: 'GZIP', manifestDigest: `sha256:${'a'.repeat(64)}`, configDigest: `sha256:${'b'.repeat(64)}`,
    repoTags: ['billing-api:1.0.0'], architecture: 'amd64', os: 'linux',
    layers: [{ digest: `sha256:${'c'.repeat(64)}`, diffId: `sha256:${'d'.repeat(64)}`, sizeBytes: 1234, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }],
    index: null,
    validationNotes: [],
    referrers: null,
    // What an event written before annotations were read decodes to: each test that needs them gives its own.
    annotations: null,
    config: {
      exposedPorts: ['8080/tcp'], env: ['PATH=/usr/bin'], entrypoint: ['/app/billing'], cmd: [], workingDir: '/app', user: '1000',
      labels: { 'org.opencontainers.image.title': 'billing' },
      healthcheck: { test: ['CMD', '/app/billing', 'health'], intervalSeconds: 30, timeoutSeconds: 5, startPeriodSeconds: null, retries: 3 },
      stopSignal: null, volumes: ['/var/lib/billing'], shell: null,
    },
  };
  return {
    'orbit.upload.requested': { ...envelope('uploadRequested'), requestId: correlationId, source: 'ARCHIVE', metadata, staging, reference: null, sizeBytes: 4096, sha256: 'e'.repeat(64), uploadId: null, idempotencyKey: null, bodyDigest: null },
    'orbit.image.validated': { ...envelope('imageValidated'), requestId: correlationId, metadata, staging, sizeBytes: 4096, sha256: 'e'.repeat(64), image, pulledFrom: null, requestedAt: null },
    'orbit.image.rejected': { ...envelope('imageRejected'), requestId: correlationId, reasonCode: 'DIGEST_MISMATCH', message: 'layer 1 does not match', stage: 'validate', staging, imageVersion: 'v1-0-00' },
    'orbit.image.stored': {
      ...envelope('imageStored'), requestId: correlationId, metadata, image: { ...image, referrers: [sbom] }, stored, sha256: 'e'.repeat(64), sizeBytes: 4096, environment: 'Development',
      imageReference: `registry.example.com/orbit/dev1/billing-api@${image.manifestDigest}`, imageTag: 'registry.example.com/orbit/dev1/billing-api:v1-0-00',
      pulledFrom: null, requestedAt: null,
    },
    'orbit.chart.generated': {
      ...envelope('helmChartGenerated'), requestId: correlationId, imageVersion: 'v1-0-00', chartName: 'billing-api', chartVersion: '1.0.0', appVersion: 'v1-0-00',
      helmChartName: `${imageUID}-v1-0-00`, chart: { bucket: 'helm-chart-1224-bkt-k8d-aws', key: `${imageUID}-v1-0-00.tgz`, versionId: null }, chartSha256: 'f'.repeat(64),
      chartReference: `registry.example.com/orbit/charts/billing-api@sha256:${'c'.repeat(64)}`, chartTag: 'registry.example.com/orbit/charts/billing-api:1.0.0',
      environment: 'Development', kustomizeTable: 'k8or-kustomize-1609-tbl-k8d-aws',
    },
    'orbit.transfer.requested': { ...envelope('transferRequested'), requestId: 'req-t-1', imageVersion: 'v1-0-00', sourceEnvironment: 'Development', targetEnvironment: 'Testing', notes: 'ready for QA' },
    'orbit.image.copied': {
      ...envelope('imageUploaded'), requestId: 'req-t-1', imageVersion: 'v1-0-00', sourceEnvironment: 'Development', targetEnvironment: 'Testing', source: stored, target: { ...stored, bucket: 'app-image-1209-bkt-k8t-aws' }, sha256: 'e'.repeat(64), sizeBytes: 4096, notes: 'rc1',
      imageReference: `registry-testing.example.com/orbit/dev1/billing-api@${image.manifestDigest}`, imageTag: 'registry-testing.example.com/orbit/dev1/billing-api:v1-0-00',
    },
    'orbit.chart.promoted': {
      ...envelope('helmChartUploaded'), requestId: 'req-t-1', imageVersion: 'v1-0-00', helmChartName: `${imageUID}-v1-0-00`, sourceEnvironment: 'Development', targetEnvironment: 'Testing', sourceTable: 'k8or-kustomize-1609-tbl-k8d-aws', targetTable: 'k8or-kustomize-1630-tbl-k8t-aws', image: { ...stored, bucket: 'app-image-1209-bkt-k8t-aws' }, sha256: 'e'.repeat(64), notes: 'rc1',
      imageReference: `registry-testing.example.com/orbit/dev1/billing-api@${image.manifestDigest}`, imageTag: 'registry-testing.example.com/orbit/dev1/billing-api:v1-0-00',
      chart: { bucket: 'helm-chart-1224-bkt-k8d-aws', key: `${imageUID}-v1-0-00/testing/billing-api-1.0.0.tgz`, versionId: 'v-chart-t' }, chartSha256: 'f'.repeat(64),
      chartReference: `registry-testing.example.com/orbit/charts/billing-api@sha256:${'d'.repeat(64)}`, chartTag: 'registry-testing.example.com/orbit/charts/billing-api:1.0.0',
    },
    'orbit.viewport.updated': { ...envelope('viewportUpdated'), requestId: correlationId, imageVersion: 'v1-0-00', environment: 'Development', status: 'succeeded', causeEventType: 'helm-chart-generated' },
    'orbit.pipeline.failed': { ...envelope('uploadFailed'), requestId: correlationId, flow: 'upload', stage: 'store', reasonCode: 'CHECKSUM_MISMATCH', message: 'copy differs', failedEventId: null, imageVersion: 'v1-0-00', targetEnvironment: null },
  };
}
