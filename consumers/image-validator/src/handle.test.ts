import { createHash } from 'node:crypto';
import { sampleEvents, type ObjectRef, type UploadRequested } from '@orbit/schemas';
import { newImageUID, retryPolicy, PullRefusedError, RegistryUnavailableError } from '@orbit/lib';
import { describe, expect, it, vi } from 'vitest';
import { archiveOf, buildImage, ociEntries, streamOf } from '../test-fixtures/images.js';
import { DEFAULT_VALIDATION_LIMITS } from './archive/limits.js';
import { imageFactsProblem, MAX_MESSAGE_CHARS, shortened, StagedObjectMissingError, UploadNotStagedError, validateUpload, type ValidateUploadDeps } from './handle.js';
import type { VersionHolder } from './name-registry.js';
import { RegistryOutages } from './registry-outages.js';

const image = await buildImage({ repoTags: ['billing-api:1.0.0'], layers: [{ files: { app: 'x' } }, { files: { conf: 'y' }, gzip: true }] });
const archive = await archiveOf(ociEntries(image), { gzip: true });
const archiveSha = createHash('sha256').update(archive).digest('hex');
const base = sampleEvents()['orbit.upload.requested'];
const event: UploadRequested = { ...base, sha256: archiveSha, sizeBytes: archive.length };

/** The sample events' staging bucket; their owner, dev1, stages under uploads/dev1/ in it. */
const STAGING_BUCKET = 'temporary-app-image-1203-bkt-k8d-aws';

function deps(overrides: Partial<ValidateUploadDeps> = {}, bytes: Buffer = archive) {
  const openStaged = vi.fn(async (_ref: ObjectRef) => streamOf(bytes));
  const holderOf = vi.fn(async (): Promise<VersionHolder> => 'nobody');
  return { openStaged, holderOf, deps: { openStaged, names: { holderOf }, limits: DEFAULT_VALIDATION_LIMITS, stagingBucket: STAGING_BUCKET, ...overrides } };
}

describe('validateUpload', () => {
  it('validates a good upload and carries the event fields and the image summary', async () => {
    const { deps: d, holderOf, openStaged } = deps();
    const verdict = await validateUpload(event, d);
    expect(verdict).toMatchObject({
      kind: 'validated', requestId: event.requestId, metadata: event.metadata, staging: event.staging, sizeBytes: archive.length, sha256: archiveSha, chartVersion: '1.0.0',
      image: { format: 'OCI_ARCHIVE', compression: 'GZIP', configDigest: image.config.digest },
    });
    expect(holderOf).toHaveBeenCalledWith(expect.objectContaining({ owner: 'dev1', imageName: 'billing-api', imageVersion: 'v1-0-00' }));
    expect(openStaged).toHaveBeenCalledWith(event.staging);
  });

  it("refuses (STAGING_NOT_OWNED) a staging that names a stored image or another owner's upload, without reading it", async () => {
    const elsewhere: ObjectRef[] = [
      { bucket: 'app-image-1206-bkt-k8d-aws', key: `${newImageUID()}-v1-0-00.tar`, versionId: 'v1' },
      { bucket: STAGING_BUCKET, key: 'uploads/dev2/direct/u1.tar', versionId: null },
      { bucket: STAGING_BUCKET, key: 'uploads/dev1/../dev2/direct/u1.tar', versionId: null },
    ];
    for (const staging of elsewhere) {
      const { deps: d, holderOf, openStaged } = deps();
      const verdict = await validateUpload({ ...event, staging }, d);
      expect(verdict, staging.key).toMatchObject({ kind: 'rejected', reasonCode: 'STAGING_NOT_OWNED', stage: 'validate', staging: null });
      if (verdict.kind === 'rejected') expect(verdict.message).toContain(`s3://${staging.bucket}/${staging.key}`);
      expect(openStaged).not.toHaveBeenCalled();
      expect(holderOf).not.toHaveBeenCalled();
    }
  });

  it('refuses bad metadata before touching the registry or the archive', async () => {
    const { deps: d, holderOf, openStaged } = deps();
    const verdict = await validateUpload({ ...event, metadata: { ...event.metadata, imageVersion: 'latest' } }, d);
    expect(verdict).toMatchObject({ kind: 'rejected', reasonCode: 'INVALID_METADATA', stage: 'validate' });
    if (verdict.kind === 'rejected') expect(verdict.message).toContain('imageVersion');
    expect(holderOf).not.toHaveBeenCalled();
    expect(openStaged).not.toHaveBeenCalled();
  });

  it('refuses metadata no container could run with (INVALID_METADATA naming the field) before touching the registry or the archive', async () => {
    const { deps: d, holderOf, openStaged } = deps();
    const verdict = await validateUpload({ ...event, metadata: { ...event.metadata, entrypointOverride: '/bin/sh -c "unclosed' } }, d);
    expect(verdict).toMatchObject({ kind: 'rejected', reasonCode: 'INVALID_METADATA', message: expect.stringMatching(/^metadata\.entrypointOverride has an unclosed " quote/) });
    expect(holderOf).not.toHaveBeenCalled();
    expect(openStaged).not.toHaveBeenCalled();
  });

  it('refuses metadata too big to travel with a version (TOO_LARGE) before touching the archive', async () => {
    const { deps: d, openStaged } = deps();
    const envVars = Array.from({ length: 14 }, (_, i) => ({ key: `K${i}`, value: 'x'.repeat(32_000) }));
    const verdict = await validateUpload({ ...event, metadata: { ...event.metadata, envVars } }, d);
    expect(verdict).toMatchObject({ kind: 'rejected', reasonCode: 'TOO_LARGE', message: expect.stringMatching(/^the metadata is 4\d{5} bytes as JSON; at most 131072/) });
    expect(openStaged).not.toHaveBeenCalled();
  });

  it('names the referrers when they take the room (64 of them, each listing hundreds of blobs)', () => {
    const stored = sampleEvents(newImageUID(), 'req-facts')['orbit.image.stored'];
    const [sbom] = stored.image.referrers ?? [];
    const blobs = Array.from({ length: 300 }, (_, at) => ({ digest: `sha256:${at.toString(16).padStart(64, '0')}`, sizeBytes: at }));
    const referrers = Array.from({ length: 64 }, (_, at) => ({ ...sbom!, digest: `sha256:${(at + 1000).toString(16).padStart(64, '0')}`, blobs }));
    expect(imageFactsProblem({ ...stored.image, referrers })).toMatch(/, 64 referrers \d{7}\); at most 196608/);
    expect(imageFactsProblem(stored.image)).toBeNull();
  });

  it('refuses a valid image whose facts are too big to travel with a version (TOO_LARGE), saying what takes the room', async () => {
    // 800 KB of labels: a valid config (well under the 4 MiB JSON limit) that DynamoDB's 400 KB item limit dead-lettered half way.
    const labels = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`label${i}`, 'v'.repeat(100_000)]));
    const labelled = await buildImage({ layers: [{ files: { app: 'x' } }], runConfig: { Labels: labels } });
    const bytes = await archiveOf(ociEntries(labelled));
    const { deps: d } = deps({}, bytes);
    const verdict = await validateUpload({ ...event, sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length }, d);
    expect(verdict).toMatchObject({ kind: 'rejected', reasonCode: 'TOO_LARGE' });
    if (verdict.kind === 'rejected') {
      expect(verdict.message).toMatch(/^the image's facts take 8\d{5} bytes as JSON \(config labels 8\d{5}, config env \d+, entrypoint and cmd \d+, 1 layers \d+\); at most 196608 \(192 KiB\)/);
    }
    // A few kilobytes of labels are carried as usual.
    const modest = await buildImage({ layers: [{ files: { app: 'x' } }], runConfig: { Labels: { 'org.opencontainers.image.description': 'd'.repeat(4_000) } } });
    const modestBytes = await archiveOf(ociEntries(modest));
    const accepted = await validateUpload({ ...event, sha256: createHash('sha256').update(modestBytes).digest('hex'), sizeBytes: modestBytes.length }, deps({}, modestBytes).deps);
    expect(accepted).toMatchObject({ kind: 'validated' });
  });

  it('cuts a rejection message quoting a megabyte of the archive to 2 000 characters, keeping its start and its end', async () => {
    const quoted = await buildImage({ layers: [{ files: { app: 'x' } }] });
    const entries = ociEntries(quoted);
    const manifestAt = entries.findIndex((entry) => entry.data?.toString().includes('"layers"') === true);
    const manifest = JSON.parse(entries[manifestAt]!.data!.toString()) as { layers: { mediaType: string }[] };
    manifest.layers[0]!.mediaType = `application/x-${'a'.repeat(1_500_000)}-end`;
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(manifestBytes), size: manifestBytes.length }] }));
    const bytes = await archiveOf([
      ...entries.filter((entry, i) => i !== manifestAt && entry.name !== 'index.json'),
      { name: 'index.json', data: index }, { name: `blobs/sha256/${digestOf(manifestBytes).slice(7)}`, data: manifestBytes },
    ]);
    const verdict = await validateUpload({ ...event, sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length }, deps({}, bytes).deps);
    expect(verdict).toMatchObject({ kind: 'rejected', reasonCode: 'UNSUPPORTED_LAYER' });
    if (verdict.kind !== 'rejected') return;
    // 1.5 MB in ImageRejected would pass Kafka's 1 MB message limit: the rejection could not be published at all.
    expect(verdict.message.length).toBeLessThanOrEqual(2_000);
    expect(verdict.message).toMatch(/^layer 1 has the unknown media type application\/x-a+ … \[\d+ characters left out\] … a+-end$/);
  });

  it('refuses a taken name and version without downloading', async () => {
    const { deps: d, openStaged } = deps({ names: { holderOf: async () => 'another request' } });
    expect(await validateUpload(event, d)).toMatchObject({ kind: 'rejected', reasonCode: 'NAME_CONFLICT', staging: event.staging });
    expect(openStaged).not.toHaveBeenCalled();
  });

  it('refuses another spelling of a stored version\'s chart version without downloading, naming the stored one', async () => {
    const { deps: d, openStaged } = deps({ names: { holderOf: async () => ({ sameChartVersion: '1.0.0' }) } });
    expect(await validateUpload(event, d)).toMatchObject({
      kind: 'rejected', reasonCode: 'NAME_CONFLICT',
      message: `dev1 already has billing-api 1.0.0 as chart version 1.0.0, and ${event.metadata.imageVersion} would be that chart version too; versions cannot be replaced, so give one that differs as SemVer`,
    });
    expect(openStaged).not.toHaveBeenCalled();
  });

  it('has no second verdict for an upload delivered again after it was stored (its staged archive is gone by then)', async () => {
    const { deps: d, openStaged } = deps({
      names: { holderOf: async () => 'this request' },
      openStaged: async (ref) => { throw new StagedObjectMissingError(ref); },
    });
    expect(await validateUpload(event, d)).toEqual({ kind: 'already-stored', requestId: event.requestId });
    expect(openStaged).not.toHaveBeenCalled();
  });

  it('passes the archive rejection through', async () => {
    const { deps: d } = deps({}, archive.subarray(0, 100));
    expect(await validateUpload({ ...event, sha256: null, sizeBytes: null }, d)).toMatchObject({ kind: 'rejected', reasonCode: 'TRUNCATED' });
  });

  it('refuses a staged object that differs from what the gateway hashed', async () => {
    const { deps: d } = deps();
    expect(await validateUpload({ ...event, sha256: 'f'.repeat(64) }, d)).toMatchObject({ kind: 'rejected', reasonCode: 'CHECKSUM_MISMATCH' });
    expect(await validateUpload({ ...event, sizeBytes: 1 }, d)).toMatchObject({ kind: 'rejected', reasonCode: 'CHECKSUM_MISMATCH' });
  });

  it('refuses a presigned archive that does not hash to the sha256 its completion pinned, saying the completion gave it; takes the one that does', async () => {
    const { deps: d } = deps();
    const presigned: UploadRequested = { ...event, source: 'PRESIGNED', sizeBytes: archive.length, uploadId: '00000000-0000-4000-8000-000000000001' };
    const refused = await validateUpload({ ...presigned, sha256: 'f'.repeat(64) }, d);
    expect(refused).toMatchObject({ kind: 'rejected', reasonCode: 'CHECKSUM_MISMATCH' });
    expect(refused.kind === 'rejected' ? refused.message : '').toContain(`hashes to sha256 ${archiveSha}, but the completion gave sha256 ${'f'.repeat(64)}`);
    expect(refused.kind === 'rejected' ? refused.message : '').not.toContain('the upload hashed to');
    expect(await validateUpload({ ...presigned, sha256: archiveSha }, d)).toMatchObject({ kind: 'validated', sha256: archiveSha });
  });

  it('refuses CHECKSUM_MISMATCH, not the archive\'s own fault, bytes PUT over the archive a presigned completion pinned; a streamed one keeps the archive\'s refusal', async () => {
    const other = Buffer.from('not the archive the completion pinned');
    const { deps: d } = deps({}, other);
    const presigned: UploadRequested = { ...event, source: 'PRESIGNED', sha256: archiveSha, sizeBytes: other.length, uploadId: '00000000-0000-4000-8000-000000000001' };
    const refused = await validateUpload(presigned, d);
    expect(refused).toMatchObject({ kind: 'rejected', reasonCode: 'CHECKSUM_MISMATCH' });
    expect(refused.kind === 'rejected' ? refused.message : '').toContain(`hashes to sha256 ${createHash('sha256').update(other).digest('hex')}, but the completion gave sha256 ${archiveSha}`);
    expect(await validateUpload({ ...presigned, source: 'ARCHIVE', uploadId: null }, d)).toMatchObject({ kind: 'rejected', reasonCode: 'NOT_AN_ARCHIVE' });
  });

  it('refuses an archive that is not the one pinned CHECKSUM_MISMATCH before what is wrong with it, too big facts included (a probe: TOO_LARGE came first, though errors.md says the pin does)', async () => {
    const bulky = await archiveOf(ociEntries(await buildImage({ layers: [{ files: { app: 'x' } }], runConfig: { Labels: { notes: 'n'.repeat(300_000) } } })));
    const { deps: d } = deps({}, bulky);
    const pinnedElse = { ...event, source: 'PRESIGNED' as const, sha256: 'f'.repeat(64), sizeBytes: null, uploadId: '00000000-0000-4000-8000-000000000001' };
    expect(await validateUpload(pinnedElse, d)).toMatchObject({ kind: 'rejected', reasonCode: 'CHECKSUM_MISMATCH' });
    // Pinned as it is, its facts are what is wrong with it.
    expect(await validateUpload({ ...pinnedElse, sha256: createHash('sha256').update(bulky).digest('hex') }, d)).toMatchObject({ kind: 'rejected', reasonCode: 'TOO_LARGE' });
  });

  it('notes an image no runtime can start (neither Entrypoint nor Cmd) unless the upload gives an override, and validates it all the same (found by a review: charted silently)', async () => {
    const bare = await archiveOf(ociEntries(await buildImage({ layers: [{ files: { app: 'x' } }], runConfig: { Cmd: null } })));
    const sha256 = createHash('sha256').update(bare).digest('hex');
    const { deps: d } = deps({}, bare);
    const noted = await validateUpload({ ...event, sha256, sizeBytes: bare.length }, d);
    expect(noted.kind).toBe('validated');
    expect(noted.kind === 'validated' ? noted.image.validationNotes : null).toEqual([expect.stringContaining('neither Entrypoint nor Cmd')]);
    const overridden = await validateUpload({ ...event, sha256, sizeBytes: bare.length, metadata: { ...event.metadata, commandOverride: '/app/run' } }, d);
    expect(overridden.kind === 'validated' ? overridden.image.validationNotes ?? [] : ['not validated']).toEqual([]);
    // An image with a Cmd, as most are, is not noted.
    const good = await validateUpload(event, deps().deps);
    expect(good.kind === 'validated' ? good.image.validationNotes ?? [] : ['not validated']).toEqual([]);
  });

  it('treats an unstaged upload as a wiring error', async () => {
    const { deps: d } = deps();
    await expect(validateUpload({ ...event, staging: null, source: 'REFERENCE' }, d)).rejects.toBeInstanceOf(UploadNotStagedError);
  });

  it('lets store failures propagate for the consume loop to retry', async () => {
    const failure = new Error('S3 down');
    const { deps: d } = deps({ openStaged: async () => { throw failure; } });
    await expect(validateUpload(event, d)).rejects.toBe(failure);
  });

  it('pulls a reference into staging, then validates what was pulled', async () => {
    const pulled: ObjectRef = { bucket: 'staging', key: 'uploads/dev1/pulled/r.tar', versionId: 'v1' };
    const stageReference = vi.fn(async () => pulled);
    const { deps: d, openStaged } = deps({ stageReference });
    const verdict = await validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: '127.0.0.1:5000/billing:1', sha256: null, sizeBytes: null }, d);
    expect(verdict).toMatchObject({ kind: 'validated', staging: pulled, sha256: archiveSha });
    expect(openStaged).toHaveBeenCalledWith(pulled);
  });

  it('refuses a registry ORBIT_ALLOWED_REGISTRIES does not list without connecting to it, and pulls from one it lists', async () => {
    const pulled: ObjectRef = { bucket: 'staging', key: 'uploads/dev1/pulled/r.tar', versionId: 'v1' };
    const stageReference = vi.fn(async () => pulled);
    const { deps: d } = deps({ stageReference, allowedRegistries: ['harbor.corp.example', '*.ecr.aws'] });
    const from = (reference: string) => validateUpload({ ...event, staging: null, source: 'REFERENCE', reference, sha256: null, sizeBytes: null }, d);
    expect(await from('169.254.169.254/latest:meta-data')).toMatchObject({
      kind: 'rejected', reasonCode: 'REGISTRY_NOT_ALLOWED', staging: null,
      message: 'registry 169.254.169.254 is not one Orbit pulls from (ORBIT_ALLOWED_REGISTRIES: harbor.corp.example, *.ecr.aws); nothing was fetched',
    });
    expect(stageReference).not.toHaveBeenCalled();
    expect(await from('123456789.dkr.ecr.aws/billing:1')).toMatchObject({ kind: 'validated' });
    expect(await from('harbor.corp.example:8443/team/billing:1')).toMatchObject({ kind: 'validated' });
    expect(stageReference).toHaveBeenCalledTimes(2);
  });

  it('refuses a reference the registry will not serve, with the registry reason', async () => {
    const { deps: d } = deps({ stageReference: async () => { throw new PullRefusedError('REFERENCE_NOT_FOUND', 'no such tag'); } });
    const verdict = await validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: '127.0.0.1:5000/billing:1' }, d);
    expect(verdict).toMatchObject({ kind: 'rejected', reasonCode: 'REFERENCE_NOT_FOUND', staging: null });
  });

  it('quotes a registry answer holding half of a surrogate pair with U+FFFD, so the rejection can be published with its own reason (the codec refuses such text)', async () => {
    const { deps: d } = deps({ stageReference: async () => { throw new PullRefusedError('REGISTRY_ERROR', 'the registry said: project "te\uD800am" is locked \uD83D\uDD12'); } });
    const verdict = await validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: '127.0.0.1:5000/billing:1' }, d);
    expect(verdict).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_ERROR' });
    expect(verdict.kind === 'rejected' && verdict.message).toContain('project "te\uFFFDam" is locked \uD83D\uDD12');
  });

  it('retries a registry that is briefly unavailable and validates what it then serves', async () => {
    const pulled: ObjectRef = { bucket: 'staging', key: 'uploads/dev1/pulled/r.tar', versionId: 'v1' };
    let calls = 0;
    const stageReference = async (): Promise<ObjectRef> => {
      if (++calls < 3) throw new RegistryUnavailableError('127.0.0.1:5000', new Error('ECONNREFUSED'));
      return pulled;
    };
    const { deps: d } = deps({ stageReference, registryPatience: { patienceMs: 5_000, policy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }) } });
    const verdict = await validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: '127.0.0.1:5000/billing:1', sha256: null, sizeBytes: null }, d);
    expect(verdict).toMatchObject({ kind: 'validated', staging: pulled });
    expect(calls).toBe(3);
  });

  it('refuses the upload (REGISTRY_UNAVAILABLE) once a registry stays away past its patience, instead of holding the partition', async () => {
    let calls = 0;
    const stageReference = async (): Promise<ObjectRef> => {
      calls++;
      throw new RegistryUnavailableError('registry.down:5000', new Error('connect ECONNREFUSED'));
    };
    const { deps: d } = deps({ stageReference, registryPatience: { patienceMs: 200, policy: retryPolicy({ initialDelayMs: 20, maxDelayMs: 40 }) } });
    const started = Date.now();
    const verdict = await validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: 'registry.down:5000/billing:1' }, d);
    expect(verdict).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE', staging: null });
    expect(verdict.kind === 'rejected' ? verdict.message : '').toMatch(/registry registry\.down:5000 is unavailable: connect ECONNREFUSED \(\d+ attempts over \d+ s\)/);
    expect(calls).toBeGreaterThan(2);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('waits out one patience per outage: later uploads naming that registry are refused at once, until it answers again', async () => {
    let calls = 0;
    let down = true;
    const pulled: ObjectRef = { bucket: 'staging', key: 'uploads/dev1/pulled/r.tar', versionId: 'v1' };
    const stageReference = async (): Promise<ObjectRef> => {
      calls++;
      if (down) throw new RegistryUnavailableError('registry.down:5000', new Error('connect ECONNREFUSED'));
      return pulled;
    };
    let now = 1_000_000;
    const registryOutages = new RegistryOutages(60_000, () => now);
    const { deps: d } = deps({ stageReference, registryOutages, registryPatience: { patienceMs: 100, policy: retryPolicy({ initialDelayMs: 10, maxDelayMs: 20 }) } });
    const reference = { ...event, staging: null, source: 'REFERENCE' as const, reference: 'registry.down:5000/billing:1' };
    expect(await validateUpload(reference, d)).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE' });
    const waited = calls;
    const second = await validateUpload({ ...reference, reference: 'registry.down:5000/other:2' }, d);
    expect(second).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE', message: expect.stringMatching(/^registry registry\.down:5000 did not answer at .* refused at once/) });
    expect(calls).toBe(waited);
    // Another registry is not held to it; and after the window the registry is asked again (and, answering, forgiven).
    expect(registryOutages.recentOutage('registry.up:5000')).toBeUndefined();
    now += 61_000;
    down = false;
    expect(await validateUpload(reference, d)).toMatchObject({ kind: 'validated' });
    expect(registryOutages.recentOutage('registry.down:5000')).toBeUndefined();
  });

  it('waits only for registries that answered lately: a name never seen answering is refused at its first dead connection', async () => {
    let now = 1_000_000;
    const registryOutages = new RegistryOutages(60_000, () => now);
    const pulled: ObjectRef = { bucket: 'staging', key: 'uploads/dev1/pulled/r.tar', versionId: 'v1' };
    const answers: (() => ObjectRef)[] = [];
    let calls = 0;
    const stageReference = async (): Promise<ObjectRef> => {
      calls++;
      const next = answers.shift();
      if (!next) throw new RegistryUnavailableError('reg.example:5000', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
      return next();
    };
    const { deps: d } = deps({ stageReference, registryOutages, registryPatience: { patienceMs: 5_000, policy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }) } });
    const reference = { ...event, staging: null, source: 'REFERENCE' as const, reference: 'reg.example:5000/billing:1' };

    const first = await validateUpload(reference, d);
    expect(first).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE', message: expect.stringContaining('Orbit has not pulled from reg.example:5000 lately, so it does not wait for it') });
    expect(calls).toBe(1);

    // Once it has answered, a restart of it (refused connections for a moment) is waited out.
    now += 61_000;
    answers.push(() => pulled);
    expect(await validateUpload(reference, d)).toMatchObject({ kind: 'validated' });
    calls = 0;
    answers.push(() => { throw new RegistryUnavailableError('reg.example:5000', new Error('connect ECONNREFUSED')); }, () => pulled);
    expect(await validateUpload(reference, d)).toMatchObject({ kind: 'validated' });
    expect(calls).toBe(2);

    // An hour later it is a stranger again.
    now += 3_600_001;
    calls = 0;
    expect(await validateUpload(reference, d)).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE' });
    expect(calls).toBe(1);
  });

  it('remembers a repository that answered only 5xx, not its whole registry: the registry\'s other repositories are still pulled (found by a probe)', async () => {
    const registryOutages = new RegistryOutages(60_000);
    const asked: string[] = [];
    const stageReference = async (upload: { reference: string | null }): Promise<ObjectRef> => {
      asked.push(upload.reference ?? '');
      if (upload.reference?.includes('/broken:')) throw new RegistryUnavailableError('proxy.example', new Error('HTTP 500'), true);
      return { bucket: 'staging', key: 'uploads/dev1/pulled/r.tar', versionId: 'v1' };
    };
    const patience = { patienceMs: 50, policy: retryPolicy({ initialDelayMs: 5, maxDelayMs: 5 }) };
    const { deps: d } = deps({ stageReference, registryOutages, registryPatience: patience });
    const upload = (reference: string) => validateUpload({ ...event, staging: null, source: 'REFERENCE', reference }, d);
    expect(await upload('proxy.example/team/broken:1')).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE' });
    asked.length = 0;
    expect(await upload('proxy.example/team/healthy:1')).toMatchObject({ kind: 'validated' });
    expect(asked).toEqual(['proxy.example/team/healthy:1']);
    // The failing repository itself is refused at once for a while, saying which.
    expect(await upload('proxy.example/team/broken:1')).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE', message: expect.stringContaining('proxy.example/team/broken kept failing (5xx or 429)') });
    expect(asked).toEqual(['proxy.example/team/healthy:1']);
  });

  it('refuses at once a registry that rate limits (429) beyond the patience, quoting it, and every repository of it until the time it named', async () => {
    let now = 1_000_000;
    const registryOutages = new RegistryOutages(60_000, () => now);
    const asked: string[] = [];
    const limited = async (upload: { reference: string | null }): Promise<ObjectRef> => {
      asked.push(upload.reference ?? '');
      throw new RegistryUnavailableError('docker.io', new Error('docker.io/library/nginx:1.27: HTTP 429: TOOMANYREQUESTS You have reached your pull rate limit'), true, { retryAfterMs: 600_000 });
    };
    const patience = { patienceMs: 30_000, policy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }) };
    const { deps: d } = deps({ stageReference: limited, registryOutages, registryPatience: patience });
    const upload = (reference: string) => validateUpload({ ...event, staging: null, source: 'REFERENCE', reference }, d);
    const started = Date.now();
    expect(await upload('docker.io/library/nginx:1.27')).toMatchObject({
      kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE', message: expect.stringMatching(/^docker\.io limits Orbit's pulls \(it asks to wait 600 s\): .*TOOMANYREQUESTS You have reached your pull rate limit/) as unknown,
    });
    expect(asked).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Another repository of that registry is refused without asking it, until the time it named.
    expect(await upload('docker.io/library/redis:7')).toMatchObject({ kind: 'rejected', message: expect.stringContaining('docker.io limits Orbit\'s pulls') as unknown });
    expect(asked).toHaveLength(1);
    now += 600_001;
    await upload('docker.io/library/redis:7');
    expect(asked).toEqual(['docker.io/library/nginx:1.27', 'docker.io/library/redis:7']);
  });

  it('waits out a rate limit that asks for less than the patience', async () => {
    let calls = 0;
    const brief = async (): Promise<ObjectRef> => {
      if (++calls < 3) throw new RegistryUnavailableError('quay.example', new Error('HTTP 429'), true, { retryAfterMs: 1_000 });
      return { bucket: 'staging', key: 'uploads/dev1/pulled/r.tar', versionId: 'v1' };
    };
    const patience = { patienceMs: 5_000, policy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }) };
    const verdict = await validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: 'quay.example/team/app:1' }, deps({ stageReference: brief, registryOutages: new RegistryOutages(60_000), registryPatience: patience }).deps);
    expect(verdict).toMatchObject({ kind: 'validated' });
    expect(calls).toBe(3);
  });

  it('waits at least as long as a 429\'s Retry-After asks before trying again, within the patience (found by a review: three requests inside a Retry-After of 5 s)', async () => {
    const attempts: number[] = [];
    const limitedTwice = async (): Promise<ObjectRef> => {
      attempts.push(Date.now());
      if (attempts.length < 3) throw new RegistryUnavailableError('quay.example', new Error('HTTP 429'), true, { retryAfterMs: 300 });
      return { bucket: 'staging', key: 'uploads/dev1/pulled/r.tar', versionId: 'v1' };
    };
    const patience = { patienceMs: 5_000, policy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }) };
    const upload = { ...event, staging: null, source: 'REFERENCE' as const, reference: 'quay.example/team/app:1' };
    expect(await validateUpload(upload, deps({ stageReference: limitedTwice, registryOutages: new RegistryOutages(60_000), registryPatience: patience }).deps)).toMatchObject({ kind: 'validated' });
    expect(attempts).toHaveLength(3);
    // Timers may fire a millisecond early.
    for (const [at, before] of [[attempts[1], attempts[0]], [attempts[2], attempts[1]]]) expect((at ?? 0) - (before ?? 0)).toBeGreaterThanOrEqual(295);

    // A wait that no longer fits in the patience left is not begun: the upload is refused at once, the registry remembered as limiting.
    const registryOutages = new RegistryOutages(60_000);
    let calls = 0;
    const limited = async (): Promise<ObjectRef> => {
      calls++;
      throw new RegistryUnavailableError('slow.example', new Error('HTTP 429'), true, { retryAfterMs: 600 });
    };
    const started = Date.now();
    const verdict = await validateUpload({ ...upload, reference: 'slow.example/team/app:1' }, deps({ stageReference: limited, registryOutages, registryPatience: { ...patience, patienceMs: 1_000 } }).deps);
    expect(verdict).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE', message: expect.stringMatching(/^slow\.example limits Orbit's pulls \(it asks to wait 1 s\)/) as unknown });
    expect(calls).toBe(2);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(registryOutages.rateLimit('slow.example')).toBeDefined();
  });

  it('lets one upload every 5 s try a registry it remembers as away, once and without waiting, so one that is back is pulled from at once (found by a review: all were refused for the whole minute)', async () => {
    let now = 1_000_000;
    const registryOutages = new RegistryOutages(60_000, () => now);
    const pulled: ObjectRef = { bucket: 'staging', key: 'uploads/dev1/pulled/r.tar', versionId: 'v1' };
    let up = true;
    let calls = 0;
    const stageReference = async (): Promise<ObjectRef> => {
      calls++;
      if (!up) throw new RegistryUnavailableError('reg.example:5000', new Error('connect ECONNREFUSED'));
      return pulled;
    };
    const { deps: d } = deps({ stageReference, registryOutages, registryPatience: { patienceMs: 300, policy: retryPolicy({ initialDelayMs: 5, maxDelayMs: 5 }) } });
    const upload = () => validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: 'reg.example:5000/billing:1' }, d);

    // 1. It answered once, then went away: that outage is waited out (the patience), and remembered.
    expect(await upload()).toMatchObject({ kind: 'validated' });
    up = false;
    calls = 0;
    expect(await upload()).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE' });
    expect(calls).toBeGreaterThan(1);

    // 2. Within 5 s of that, uploads are refused without asking it.
    calls = 0;
    now += 1_000;
    expect(await upload()).toMatchObject({ kind: 'rejected', message: expect.stringContaining('one upload every 5 s tries it') as unknown });
    expect(calls).toBe(0);

    // 3. 5 s on, one upload tries it, once (not the patience again), and still away it is remembered afresh.
    now += 5_000;
    expect(await upload()).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE', message: expect.stringContaining('so this upload tried it once instead of waiting') as unknown });
    expect(calls).toBe(1);
    now += 1_000;
    expect(await upload()).toMatchObject({ kind: 'rejected' });
    expect(calls).toBe(1);

    // 4. Back up: the next upload 5 s on is pulled, and the ones after it too, well within the minute.
    up = true;
    now += 5_000;
    expect(await upload()).toMatchObject({ kind: 'validated' });
    expect(await upload()).toMatchObject({ kind: 'validated' });
    expect(registryOutages.recentOutage('reg.example:5000')).toBeUndefined();
  });

  it('lets one upload every 5 s try a repository remembered as failing with 5xx, and forgets it once it serves', async () => {
    let now = 1_000_000;
    const registryOutages = new RegistryOutages(60_000, () => now);
    let failing = true;
    let calls = 0;
    const stageReference = async (): Promise<ObjectRef> => {
      calls++;
      if (failing) throw new RegistryUnavailableError('proxy.example', new Error('HTTP 503'), true);
      return { bucket: 'staging', key: 'uploads/dev1/pulled/r.tar', versionId: 'v1' };
    };
    const { deps: d } = deps({ stageReference, registryOutages, registryPatience: { patienceMs: 50, policy: retryPolicy({ initialDelayMs: 5, maxDelayMs: 5 }) } });
    const upload = () => validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: 'proxy.example/team/broken:1' }, d);
    expect(await upload()).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE' });
    calls = 0;
    now += 6_000;
    expect(await upload()).toMatchObject({ kind: 'rejected', message: expect.stringContaining('proxy.example/team/broken was already away at') as unknown });
    expect(calls).toBe(1);
    failing = false;
    now += 6_000;
    expect(await upload()).toMatchObject({ kind: 'validated' });
    expect(registryOutages.recentOutage('proxy.example/team/broken')).toBeUndefined();
  });

  it('gives one probe at a time: while one hangs on a silent registry, later turns are refused at once (found by a review: a turn every 5 s held six partitions)', async () => {
    let now = 1_000_000;
    const registryOutages = new RegistryOutages(60_000, () => now);
    registryOutages.record('silent.example');
    let release: () => void = () => undefined;
    let calls = 0;
    const stageReference = async (): Promise<ObjectRef> => {
      calls++;
      await new Promise<void>((resolve) => { release = resolve; });
      throw new RegistryUnavailableError('silent.example', new Error('no answer within 30 s'));
    };
    const { deps: d } = deps({ stageReference, registryOutages, registryPatience: { patienceMs: 60_000, policy: retryPolicy({ initialDelayMs: 5, maxDelayMs: 5 }) } });
    const upload = () => validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: 'silent.example/team/app:1' }, d);
    now += 6_000;
    const probing = upload();
    await new Promise((resolve) => setImmediate(resolve));
    now += 6_000;
    expect(await upload()).toMatchObject({ kind: 'rejected', message: expect.stringContaining('refused at once') as unknown });
    expect(calls).toBe(1);
    release();
    expect(await probing).toMatchObject({ kind: 'rejected', message: expect.stringContaining('tried it once') as unknown });
    now += 6_000;
    const next = upload();
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(2);
    release();
    await next;
  });

  it('remembers only the repository when a probe of a registry remembered as away meets an answered 5xx, and forgives the registry (found by a review)', async () => {
    let now = 1_000_000;
    const registryOutages = new RegistryOutages(60_000, () => now);
    registryOutages.record('reg.example');
    const stageReference = async (): Promise<ObjectRef> => { throw new RegistryUnavailableError('reg.example', new Error('HTTP 500'), true); };
    const { deps: d } = deps({ stageReference, registryOutages });
    now += 6_000;
    expect(await validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: 'reg.example/team/broken:1' }, d)).toMatchObject({ kind: 'rejected', reasonCode: 'REGISTRY_UNAVAILABLE' });
    expect(registryOutages.recentOutage('reg.example')).toBeUndefined();
    expect(registryOutages.recentOutage('reg.example/team/broken')).toBeDefined();
  });

  it('waits for a registry it has never pulled from while it answers 5xx/429, and counts a refusal as an answer', async () => {
    const registryOutages = new RegistryOutages(60_000);
    let calls = 0;
    const busy = async (): Promise<ObjectRef> => {
      if (++calls < 3) throw new RegistryUnavailableError('busy.example', new Error('HTTP 503'), true);
      return { bucket: 'staging', key: 'uploads/dev1/pulled/r.tar', versionId: 'v1' };
    };
    const patience = { patienceMs: 5_000, policy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }) };
    expect(await validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: 'busy.example/billing:1' }, deps({ stageReference: busy, registryOutages, registryPatience: patience }).deps)).toMatchObject({ kind: 'validated' });
    expect(calls).toBe(3);
    const notFound = async (): Promise<ObjectRef> => { throw new PullRefusedError('REFERENCE_NOT_FOUND', 'no such tag'); };
    await validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: 'other.example/billing:1' }, deps({ stageReference: notFound, registryOutages, registryPatience: patience }).deps);
    expect(registryOutages.answeredLately('other.example')).toBe(true);
    const noHost = async (): Promise<ObjectRef> => { throw new PullRefusedError('REGISTRY_ERROR', 'registry host nohost.example does not exist', false); };
    await validateUpload({ ...event, staging: null, source: 'REFERENCE', reference: 'nohost.example/billing:1' }, deps({ stageReference: noHost, registryOutages, registryPatience: patience }).deps);
    expect(registryOutages.answeredLately('nohost.example')).toBe(false);
  });

  it('refuses an upload whose staged object is gone instead of retrying for ever', async () => {
    const { deps: d } = deps({ openStaged: async (ref) => { throw new StagedObjectMissingError(ref); } });
    expect(await validateUpload(event, d)).toMatchObject({ kind: 'rejected', reasonCode: 'STAGED_OBJECT_MISSING' });
  });

  it('has no second verdict for a copy of the command that finds the archive gone because the first copy\'s image was stored meanwhile (found by a crash review)', async () => {
    // The holder check ran just before the harbor-writer recorded the version, the open just after it deleted the archive.
    const holders: VersionHolder[] = ['nobody', 'this request'];
    const holderOf = vi.fn(async (): Promise<VersionHolder> => holders.shift() ?? 'this request');
    const { deps: d } = deps({ names: { holderOf }, openStaged: async (ref) => { throw new StagedObjectMissingError(ref); } });
    expect(await validateUpload(event, d)).toEqual({ kind: 'already-stored', requestId: event.requestId });
    expect(holderOf).toHaveBeenCalledTimes(2);
  });
});

describe('a rejection message shortened to MAX_MESSAGE_CHARS', () => {
  /** True when `text` holds half of a surrogate pair, which no store keeps as it is (U+FFFD once read back). */
  const holdsHalfAPair = (text: string) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

  it('never cuts an emoji in half, at either cut, whatever the offset (found by a review: an entry named 🚀×3000 gave …🚀🚀🚀\\uFFFD)', () => {
    for (const prefix of ['', 'x', 'entry ', 'entry x']) {
      for (const suffix of ['', 'y', ' is refused']) {
        const message = `${prefix}${'\u{1F680}'.repeat(3000)}${suffix}`;
        const cut = shortened(message);
        expect(holdsHalfAPair(cut), JSON.stringify([prefix, suffix])).toBe(false);
        expect(cut.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
        expect(cut.endsWith(`\u{1F680}${suffix}`)).toBe(true);
        const left = Number(/\[(\d+) characters left out\]/.exec(cut)?.[1]);
        // What is said to be left out is exactly what is missing.
        expect(cut.length - ` … [${left} characters left out] … `.length + left).toBe(message.length);
      }
    }
  });
});
