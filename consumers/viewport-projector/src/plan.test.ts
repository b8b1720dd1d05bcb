import { describe, expect, it } from 'vitest';
import { newImageUID, TOPICS } from '@orbit/lib';
import { sampleEvents, type ImageStored, type OrbitEvent } from '@orbit/schemas';
import { imageTextOfRow, type KnownImages } from './image-text.js';
import { imageGuid, imagesToLookUp, imageUidOfGuid, planProjection, requestsEnded, requestsToLookUp, versionGuid, versionsToLookUp, VersionNotProjectedYetError, VersionSetAsideError, type KnownVersions, type ProjectionPlan } from './plan.js';

const at = (iso: string): number => new Date(iso).getTime();
const message = (topic: string, event: OrbitEvent) => ({ topic, event });

describe('planProjection', () => {
  it('folds a stored image and its chart into one post per image and version, the version ready and the request succeeded', () => {
    const uid = newImageUID();
    const events = sampleEvents(uid, 'req-1');
    const { plan, applied, pending } = planProjection([
      message(TOPICS.imageValidated, events['orbit.image.validated']),
      message(TOPICS.imageStored, events['orbit.image.stored']),
      message(TOPICS.chartGenerated, { ...events['orbit.chart.generated'], occurredAt: at('2026-11-22T10:05:00Z') }),
    ], new Map());
    expect(pending).toBeUndefined();
    expect(applied.map(({ result }) => result?.status)).toEqual(['running', 'running', 'succeeded']);
    expect([...plan.posts.keys()]).toEqual([imageGuid(uid), versionGuid(uid, 'v1-0-00')]);
    expect(plan.posts.get(versionGuid(uid, 'v1-0-00'))).toMatchObject({ status: 'ready', insert: { parentGuid: imageGuid(uid), type: 'orbit_image_version' } });
    expect(plan.meta.get(versionGuid(uid, 'v1-0-00'))?.get('environments')).toBe('["Development"]');
    expect(plan.meta.get(versionGuid(uid, 'v1-0-00'))?.get('chartName')).toBe(events['orbit.chart.generated'].chartName);
    // The chart's SHA-256, which the gateway's Helm repository index gives clients to check the download against.
    expect(plan.meta.get(versionGuid(uid, 'v1-0-00'))?.get('chartSha256')).toBe(events['orbit.chart.generated'].chartSha256);
    // Where helm pulls it as an OCI artifact, by digest and by tag.
    expect(plan.meta.get(versionGuid(uid, 'v1-0-00'))?.get('chartReference')).toBe(events['orbit.chart.generated'].chartReference);
    expect(plan.meta.get(versionGuid(uid, 'v1-0-00'))?.get('chartTag')).toBe(events['orbit.chart.generated'].chartTag);
    expect(plan.requests.get('req-1')).toMatchObject({ status: 'succeeded', created: new Date('2026-11-22T10:00:00Z'), updated: new Date('2026-11-22T10:05:00Z') });
  });

  it('gives the image and its version the upload\'s description and category folded for search, the post content kept as sent (found by a review: NFC and NFD "Béla" were two words)', () => {
    const uid = newImageUID();
    const stored = sampleEvents(uid, 'req-1')['orbit.image.stored'];
    const first = { ...stored, metadata: { ...stored.metadata, description: 'Be\u0301la\u200B notes', imageCategory: 'Be\u0301la' } };
    const second = { ...stored, requestId: 'req-2', occurredAt: at('2026-11-22T11:00:00Z'), metadata: { ...stored.metadata, imageVersion: 'v2-0-00', description: 'Bel\u200Ba \ufb01le', imageCategory: null } };
    const { plan } = planProjection([message(TOPICS.imageStored, first), message(TOPICS.imageStored, second)], new Map());
    expect(plan.posts.get(versionGuid(uid, 'v1-0-00'))?.search).toEqual({ description: 'B\u00e9la notes', category: 'B\u00e9la' });
    expect(plan.posts.get(versionGuid(uid, 'v2-0-00'))?.search).toEqual({ description: 'Bela file', category: '' });
    // The image's are the newest upload's that gave one, as its content and category meta are.
    expect(plan.posts.get(imageGuid(uid))).toMatchObject({ content: 'Bel\u200Ba \ufb01le', search: { description: 'Bela file', category: 'B\u00e9la' } });
  });

  describe('an image\'s description and category: the newest upload\'s that gave one (found by a review: an upload without them wiped them, and ?category= lost the image)', () => {
    const uid = newImageUID();
    const stored = sampleEvents(uid, 'req-1')['orbit.image.stored'];
    /** An upload of `imageVersion`, stored at `iso`. */
    const upload = (imageVersion: string, iso: string, given: { description?: string | null; imageCategory?: string | null }): ImageStored => ({
      ...stored, requestId: `req-${imageVersion}`, occurredAt: at(iso), metadata: { ...stored.metadata, imageVersion, description: null, imageCategory: null, ...given },
    });
    const v1 = upload('v1-0-00', '2026-11-22T10:00:00Z', { description: 'Billing API', imageCategory: 'backend' });
    const bare = upload('v1-0-01', '2026-11-22T11:00:00Z', {});
    /** What the image shows once the plan is written. */
    const shown = (plan: ProjectionPlan) => {
      const post = plan.posts.get(imageGuid(uid));
      return { description: post?.content, category: plan.meta.get(imageGuid(uid))?.get('imageCategory'), search: post?.search };
    };
    /** The images as the database holds them once `plan` is written, for the next batch. */
    const written = (plan: ProjectionPlan): KnownImages => {
      const meta = plan.meta.get(imageGuid(uid));
      return new Map([[imageGuid(uid), imageTextOfRow({
        content: plan.posts.get(imageGuid(uid))?.content, category: meta?.get('imageCategory'), descriptionFrom: meta?.get('descriptionFrom'), categoryFrom: meta?.get('categoryFrom'),
      })]]);
    };
    /** The versions as the database holds them once `plan` is written. */
    const versionsIn = (plan: ProjectionPlan): KnownVersions => new Map([...plan.posts.values()].filter((post) => post.insert?.type === 'orbit_image_version').map((post) => [post.guid, { status: post.status ?? 'stored', environments: ['Development'] }]));
    const kept = { description: 'Billing API', category: 'backend', search: { description: 'Billing API', category: 'backend' } };

    it('keeps them through an upload that gives neither, in one batch and batch after batch', () => {
      expect(shown(planProjection([message(TOPICS.imageStored, v1), message(TOPICS.imageStored, bare)], new Map()).plan)).toEqual(kept);
      expect(imagesToLookUp([message(TOPICS.imageStored, v1), message(TOPICS.imageStored, bare), message(TOPICS.chartGenerated, sampleEvents(uid, 'req-1')['orbit.chart.generated'])]))
        .toEqual([imageGuid(uid)]);
      const first = planProjection([message(TOPICS.imageStored, v1)], new Map()).plan;
      expect(shown(planProjection([message(TOPICS.imageStored, bare)], versionsIn(first), new Map(), new Set(), written(first)).plan)).toEqual(kept);
      // Its version keeps what its own upload gave: nothing.
      expect(planProjection([message(TOPICS.imageStored, bare)], versionsIn(first), new Map(), new Set(), written(first)).plan.posts.get(versionGuid(uid, 'v1-0-01'))?.search)
        .toEqual({ description: '', category: '' });
    });

    it('replaces each by a newer upload that gives it, alone; an empty description clears it, an empty category is none given', () => {
      const described = upload('v1-0-01', '2026-11-22T11:00:00Z', { description: 'Billing, v2' });
      expect(shown(planProjection([message(TOPICS.imageStored, v1), message(TOPICS.imageStored, described)], new Map()).plan))
        .toEqual({ description: 'Billing, v2', category: 'backend', search: { description: 'Billing, v2', category: 'backend' } });
      const categorised = upload('v1-0-01', '2026-11-22T11:00:00Z', { imageCategory: 'payments' });
      expect(shown(planProjection([message(TOPICS.imageStored, v1), message(TOPICS.imageStored, categorised)], new Map()).plan))
        .toEqual({ description: 'Billing API', category: 'payments', search: { description: 'Billing API', category: 'payments' } });
      // Stored in the same millisecond: the one projected later, as uploads sent one after the other.
      const sameTime = upload('v1-0-01', '2026-11-22T10:00:00Z', { description: 'Billing, v2' });
      expect(shown(planProjection([message(TOPICS.imageStored, v1), message(TOPICS.imageStored, { ...sameTime, requestId: 'req-0' })], new Map()).plan)?.description).toBe('Billing, v2');
      const cleared = upload('v1-0-01', '2026-11-22T11:00:00Z', { description: '', imageCategory: '' });
      expect(shown(planProjection([message(TOPICS.imageStored, v1), message(TOPICS.imageStored, cleared)], new Map()).plan))
        .toEqual({ description: '', category: 'backend', search: { description: '', category: 'backend' } });
    });

    it('keeps the newer upload\'s when an older one comes again after it: a redelivery, a harbor-writer run twice, a letter re-driven', () => {
      const v2 = upload('v1-0-01', '2026-11-22T11:00:00Z', { description: 'Billing, v2', imageCategory: 'payments' });
      const newer = { description: 'Billing, v2', category: 'payments', search: { description: 'Billing, v2', category: 'payments' } };
      // The same message again, in the batch or in a later one.
      expect(shown(planProjection([v1, v2, v1].map((event) => message(TOPICS.imageStored, event)), new Map()).plan)).toEqual(newer);
      const both = planProjection([message(TOPICS.imageStored, v1), message(TOPICS.imageStored, v2)], new Map()).plan;
      expect(shown(planProjection([message(TOPICS.imageStored, v1)], versionsIn(both), new Map(), new Set(), written(both)).plan)).toEqual(newer);
      // Its version stored again later (a harbor-writer re-run has its own occurredAt): still no newer upload.
      const again = { ...v1, occurredAt: at('2026-11-23T00:00:00Z') };
      expect(shown(planProjection([v1, v2, again].map((event) => message(TOPICS.imageStored, event)), new Map()).plan)).toEqual(newer);
      // v1 set aside by this projector and re-driven after v2: new to the database, and older than what v2 gave.
      const withoutV1 = planProjection([message(TOPICS.imageStored, v2)], new Map()).plan;
      expect(shown(planProjection([message(TOPICS.imageStored, v1)], versionsIn(withoutV1), new Map(), new Set(), written(withoutV1)).plan)).toEqual(newer);
    });

    it('leaves the same text whichever order its uploads arrive in, as a rebuild that projects a set-aside letter at its first place does', () => {
      const v2 = upload('v1-0-01', '2026-11-22T11:00:00Z', { description: 'Billing, v2' });
      const v3 = upload('v1-0-02', '2026-11-22T12:00:00Z', { imageCategory: 'payments' });
      const orders = [[v1, v2, v3], [v2, v3, v1], [v3, v1, v2], [v2, v1, v3]];
      const results = orders.map((order) => {
        const plan = planProjection(order.map((event) => message(TOPICS.imageStored, event)), new Map()).plan;
        return { shown: shown(plan), meta: Object.fromEntries(plan.meta.get(imageGuid(uid)) ?? []) };
      });
      for (const result of results) expect(result).toEqual(results[0]);
      expect(results[0]?.shown).toEqual({ description: 'Billing, v2', category: 'payments', search: { description: 'Billing, v2', category: 'payments' } });
      expect(JSON.parse(results[0]?.meta['descriptionFrom'] ?? 'null')).toEqual({ storedAt: '2026-11-22T11:00:00.000Z', requestId: 'req-v1-0-01', imageVersion: 'v1-0-01' });
    });

    it('orders uploads by when their requests were accepted, through a harbor-writer re-run stamped after a newer upload: live and rebuilt alike (found by a review)', () => {
      // Accepted 09:59 and 10:59. v1's ImageStored is set aside by the live projector, v2's projected, v1 stored again
      // by a harbor-writer re-run at 12:00 (its requestedAt passed on), then the set-aside copy re-driven.
      const first = { ...upload('v1-0-00', '2026-11-22T10:00:00Z', { description: 'first', imageCategory: 'backend' }), requestedAt: at('2026-11-22T09:59:00Z') };
      const second = { ...upload('v1-0-01', '2026-11-22T11:00:00Z', { description: 'second' }), requestedAt: at('2026-11-22T10:59:00Z') };
      const rerun = { ...first, occurredAt: at('2026-11-22T12:00:00Z') };
      let versions: KnownVersions = new Map();
      let images: KnownImages = new Map();
      let live: ProjectionPlan | undefined;
      for (const event of [second, rerun, first]) {
        live = planProjection([message(TOPICS.imageStored, event)], versions, new Map(), new Set(), images).plan;
        images = written(live);
        versions = new Map([...versions, ...versionsIn(live)]);
      }
      // A rebuild (from nothing: the events alone) projects the set-aside copy at its first place.
      const rebuilt = planProjection([first, second, rerun].map((event) => message(TOPICS.imageStored, event)), new Map()).plan;
      expect(shown(rebuilt)).toEqual({ description: 'second', category: 'backend', search: { description: 'second', category: 'backend' } });
      expect(images.get(imageGuid(uid))).toEqual(written(rebuilt).get(imageGuid(uid)));
      expect(JSON.parse(rebuilt.meta.get(imageGuid(uid))?.get('descriptionFrom') ?? 'null')).toEqual({ requestedAt: '2026-11-22T10:59:00.000Z', requestId: second.requestId, imageVersion: 'v1-0-01' });
      // The category's mark is v1's, the same whichever copy of it was projected first: nothing in it a run stamps anew.
      expect(live?.meta.get(imageGuid(uid))?.get('categoryFrom')).toBe(rebuilt.meta.get(imageGuid(uid))?.get('categoryFrom'));
      expect(JSON.parse(rebuilt.meta.get(imageGuid(uid))?.get('categoryFrom') ?? 'null')).toEqual({ requestedAt: '2026-11-22T09:59:00.000Z', requestId: first.requestId, imageVersion: 'v1-0-00' });
      // Each version keeps when its request was accepted, for the gateway's view of another owner's image.
      expect(rebuilt.meta.get(versionGuid(uid, 'v1-0-00'))?.get('requestedAt')).toBe('2026-11-22T09:59:00.000Z');
    });

    it('places an upload carrying requestedAt after one stored before it was carried, by that time; two accepted in the same millisecond by request id, whichever comes first', () => {
      // An image described before requestedAt: its mark is the one written then, placed by when it was stored.
      const before = planProjection([message(TOPICS.imageStored, v1)], new Map()).plan;
      expect(JSON.parse(before.meta.get(imageGuid(uid))?.get('descriptionFrom') ?? 'null')).toEqual({ storedAt: '2026-11-22T10:00:00.000Z', requestId: 'req-v1-0-00', imageVersion: 'v1-0-00' });
      const acceptedEarlier = { ...upload('v1-0-01', '2026-11-22T10:30:00Z', { description: 'accepted 09:00' }), requestedAt: at('2026-11-22T09:00:00Z') };
      const acceptedLater = { ...upload('v1-0-01', '2026-11-22T10:30:00Z', { description: 'accepted 10:15' }), requestedAt: at('2026-11-22T10:15:00Z') };
      const after = (event: ImageStored) => shown(planProjection([message(TOPICS.imageStored, event)], versionsIn(before), new Map(), new Set(), written(before)).plan).description;
      expect([after(acceptedEarlier), after(acceptedLater)]).toEqual(['Billing API', 'accepted 10:15']);
      const tied = (requestId: string, imageVersion: string) => ({ ...upload(imageVersion, '2026-11-22T11:00:00Z', { description: requestId }), requestId, requestedAt: at('2026-11-22T10:59:00Z') });
      const [a, b] = [tied('req-a', 'v1-0-02'), tied('req-B', 'v1-0-03')];
      for (const order of [[a, b], [b, a]]) expect(shown(planProjection(order.map((event) => message(TOPICS.imageStored, event)), new Map()).plan).description).toBe('req-B');
    });

    it('dates a version and its image by their earliest copy, whichever the live projector met first (a re-run\'s later ImageStored, the set-aside first copy re-driven after it)', () => {
      const first = { ...upload('v1-0-00', '2026-11-22T10:00:00Z', {}), requestedAt: at('2026-11-22T09:59:00Z') };
      const rerun = { ...first, occurredAt: at('2026-11-22T12:00:00Z') };
      const dates = (plan: ProjectionPlan) => ({
        version: plan.posts.get(versionGuid(uid, 'v1-0-00'))?.insert?.created, image: plan.posts.get(imageGuid(uid))?.insert?.created, uid: plan.imageUids.get(uid)?.created,
      });
      const earliest = new Date('2026-11-22T10:00:00Z');
      for (const order of [[first, rerun], [rerun, first]]) {
        expect(dates(planProjection(order.map((event) => message(TOPICS.imageStored, event)), new Map()).plan)).toEqual({ version: earliest, image: earliest, uid: earliest });
      }
    });

    it('starts an image no upload described with an empty description and category, and no marks', () => {
      const { plan } = planProjection([message(TOPICS.imageStored, bare)], new Map());
      expect(shown(plan)).toEqual({ description: '', category: '', search: { description: '', category: '' } });
      expect([...(plan.meta.get(imageGuid(uid))?.keys() ?? [])].sort()).toEqual(['imageCategory', 'part']);
    });
  });

  it('shows a multi-platform version by the index digest it is pulled by, with its platforms, and the validator\'s notes when it made a choice; a single-platform one as before', () => {
    const uid = newImageUID();
    const events = sampleEvents(uid, 'req-1');
    const stored = events['orbit.image.stored'];
    const digest = (c: string): string => `sha256:${c.repeat(64)}`;
    const entry = (architecture: string, variant: string | null, attestation = false) => ({
      digest: digest('9'), mediaType: 'application/vnd.oci.image.manifest.v1+json', sizeBytes: 1, os: attestation ? '' : 'linux', architecture: attestation ? '' : architecture, variant, attestation, configDigest: digest('8'), blobs: [],
    });
    const index = { digest: digest('f'), mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [entry('amd64', null), entry('arm64', 'v8'), entry('', null, true)] };
    const { plan } = planProjection([message(TOPICS.imageStored, { ...stored, image: { ...stored.image, index } })], new Map());
    expect(plan.meta.get(versionGuid(uid, 'v1-0-00'))?.get('digest')).toBe(digest('f'));
    expect(plan.meta.get(versionGuid(uid, 'v1-0-00'))?.get('platforms')).toBe('["linux/amd64","linux/arm64/v8"]');
    const single = planProjection([message(TOPICS.imageStored, stored)], new Map()).plan.meta.get(versionGuid(uid, 'v1-0-00'));
    expect(single?.get('digest')).toBe(stored.image.manifestDigest);
    expect(single?.has('platforms')).toBe(false);
    expect(single?.has('validationNotes')).toBe(false);
    // Why only one platform of an index is there, when the validator had to choose.
    const note = 'image index sha256:… lists linux/amd64, linux/arm64 (1 not in the archive); validated linux/arm64 (no linux/amd64 in the archive), the only platform kept';
    const chosen = planProjection([message(TOPICS.imageStored, { ...stored, image: { ...stored.image, validationNotes: [note] } })], new Map()).plan.meta.get(versionGuid(uid, 'v1-0-00'));
    expect(chosen?.get('validationNotes')).toBe(JSON.stringify([note]));
    // How the archive was uploaded, when compressed as a whole: its download is named by it.
    expect(planProjection([message(TOPICS.imageStored, { ...stored, image: { ...stored.image, compression: 'ZSTD' } })], new Map()).plan.meta.get(versionGuid(uid, 'v1-0-00'))?.get('archiveCompression')).toBe('ZSTD');
    expect(planProjection([message(TOPICS.imageStored, { ...stored, image: { ...stored.image, compression: 'NONE' } })], new Map()).plan.meta.get(versionGuid(uid, 'v1-0-00'))?.has('archiveCompression')).toBe(false);
  });


  it('records where a version uploaded by reference was pulled from, with the digest Orbit pulled; nothing at all for an archive or presigned upload', () => {
    const uid = newImageUID();
    const stored = sampleEvents(uid, 'req-1')['orbit.image.stored'];
    const index = { digest: `sha256:${'f'.repeat(64)}`, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
    const pulled = planProjection([
      message(TOPICS.imageStored, { ...stored, pulledFrom: 'registry.example:5000/team/app:1.0' }),
      message(TOPICS.imageStored, { ...stored, metadata: { ...stored.metadata, imageVersion: 'v2-0-00' }, image: { ...stored.image, index }, pulledFrom: 'registry.example:5000/team/app:2.0' }),
    ], new Map()).plan;
    expect(JSON.parse(pulled.meta.get(versionGuid(uid, 'v1-0-00'))?.get('pulledFrom') ?? 'null')).toEqual({ reference: 'registry.example:5000/team/app:1.0', digest: stored.image.manifestDigest });
    // A multi-platform image kept whole was pulled by its index: the digest the tag resolved to, and the one the version is pinned by.
    expect(JSON.parse(pulled.meta.get(versionGuid(uid, 'v2-0-00'))?.get('pulledFrom') ?? 'null')).toEqual({ reference: 'registry.example:5000/team/app:2.0', digest: index.digest });
    for (const archive of [stored, { ...stored, pulledFrom: null }]) {
      expect(planProjection([message(TOPICS.imageStored, archive)], new Map()).plan.meta.get(versionGuid(uid, 'v1-0-00'))?.has('pulledFrom')).toBe(false);
    }
  });

  it('lists the referrers pushed beside a version (its SBOM, signatures), each with its artifact type, what it is about and what it weighs', () => {
    const uid = newImageUID();
    const stored = sampleEvents(uid, 'req-1')['orbit.image.stored'];
    const [sbom] = stored.image.referrers ?? [];
    const cosign = { ...sbom!, digest: `sha256:${'7'.repeat(64)}`, artifactType: 'application/vnd.oci.image.config.v1+json', tag: `sha256-${'a'.repeat(64)}.sig` };
    const { plan } = planProjection([message(TOPICS.imageStored, { ...stored, image: { ...stored.image, referrers: [sbom!, cosign] } })], new Map());
    // What it weighs at the registry: its manifest and its blobs.
    const sbomBytes = sbom!.sizeBytes + sbom!.blobs.reduce((total, blob) => total + blob.sizeBytes, 0);
    expect(sbomBytes).toBeGreaterThan(sbom!.sizeBytes);
    expect(JSON.parse(plan.meta.get(versionGuid(uid, 'v1-0-00'))?.get('referrers') ?? 'null')).toEqual([
      { digest: sbom!.digest, mediaType: sbom!.mediaType, artifactType: 'application/spdx+json', subject: stored.image.manifestDigest, sizeBytes: sbomBytes },
      { digest: cosign.digest, mediaType: sbom!.mediaType, artifactType: 'application/vnd.oci.image.config.v1+json', subject: stored.image.manifestDigest, sizeBytes: sbomBytes, tag: cosign.tag },
    ]);
    // None (or an event from before referrers were pushed): the version projects as it always did.
    const none = planProjection([message(TOPICS.imageStored, { ...stored, image: { ...stored.image, referrers: null } })], new Map()).plan.meta.get(versionGuid(uid, 'v1-0-00'));
    expect(none?.has('referrers')).toBe(false);
  });
  it('keeps the version a request is about and a transfer\'s target on its request, for a rebuild to restore them', () => {
    const events = sampleEvents(newImageUID(), 'req-up');
    const { plan, applied } = planProjection([
      message(TOPICS.imageStored, events['orbit.image.stored']),
      message(TOPICS.chartPromoted, { ...events['orbit.chart.promoted'], requestId: 'req-tr', targetEnvironment: 'Testing' }),
      message(TOPICS.imageRejected, { ...events['orbit.image.rejected'], requestId: 'req-rej', imageVersion: 'v2-0-00' }),
      message(TOPICS.pipelineFailed, { ...events['orbit.pipeline.failed'], requestId: 'req-ref', flow: 'transfer', stage: 'request', imageVersion: 'v1-0-00', targetEnvironment: 'Staging' }),
      // Written before the events carried a version: the request has none to give back.
      message(TOPICS.imageRejected, { ...events['orbit.image.rejected'], requestId: 'req-old', imageVersion: null }),
      message(TOPICS.pipelineFailed, { ...events['orbit.pipeline.failed'], requestId: 'req-old-tr', flow: 'transfer', stage: 'copy', imageVersion: null, targetEnvironment: null }),
    ], new Map());
    expect(plan.requests.get('req-up')).toMatchObject({ kind: 'upload', imageVersion: 'v1-0-00', targetEnvironment: null, notes: null });
    expect(plan.requests.get('req-tr')).toMatchObject({ kind: 'transfer', imageVersion: 'v1-0-00', targetEnvironment: 'Testing', notes: 'rc1' });
    expect(plan.requests.get('req-rej')).toMatchObject({ kind: 'upload', imageVersion: 'v2-0-00', targetEnvironment: null });
    // A transfer refused or failed before its promotion keeps the target it asked for, as the gateway's row does.
    expect(plan.requests.get('req-ref')).toMatchObject({ kind: 'transfer', imageVersion: 'v1-0-00', targetEnvironment: 'Staging' });
    expect(plan.requests.get('req-old')).toMatchObject({ imageVersion: null });
    expect(plan.requests.get('req-old-tr')).toMatchObject({ kind: 'transfer', imageVersion: null, targetEnvironment: null });
    // A failure's announcement names no version: "v2-0-00 failed" would read as that version failing.
    expect(applied.slice(2).map(({ result }) => result?.imageVersion)).toEqual([null, null, null, null]);
  });

  it('never moves a finished request back, and keeps the error of the event that finished it', () => {
    const events = sampleEvents(newImageUID(), 'req-2');
    const { plan } = planProjection([
      message(TOPICS.imageRejected, events['orbit.image.rejected']),
      message(TOPICS.imageValidated, { ...events['orbit.image.validated'], occurredAt: at('2026-11-22T11:00:00Z') }),
    ], new Map());
    expect(plan.requests.get('req-2')).toMatchObject({ status: 'failed', errorCode: 'DIGEST_MISMATCH', errorPid: 'c12bms03-c20bre24-911', updated: new Date('2026-11-22T10:00:00Z') });
  });

  it('stops before a chart whose version is neither in the database nor earlier in the batch, and plans nothing after it', () => {
    const waiting = sampleEvents(newImageUID(), 'req-3');
    const other = sampleEvents(newImageUID(), 'req-4');
    const { plan, applied, pending } = planProjection([
      message(TOPICS.imageValidated, other['orbit.image.validated']),
      message(TOPICS.chartGenerated, waiting['orbit.chart.generated']),
      message(TOPICS.imageStored, other['orbit.image.stored']),
    ], new Map());
    expect(pending).toBeInstanceOf(VersionNotProjectedYetError);
    expect(applied).toHaveLength(1);
    expect(plan.posts.size).toBe(0);
    expect([...plan.requests.keys()]).toEqual(['req-4']);
  });

  it('refuses, instead of waiting, a chart or promotion of a version whose ImageStored was set aside', () => {
    const lost = sampleEvents(newImageUID(), 'req-5');
    const setAside = new Set([versionGuid(lost['orbit.image.stored'].imageUID, lost['orbit.image.stored'].metadata.imageVersion)]);
    const chart = { ...lost['orbit.chart.generated'], imageUID: lost['orbit.image.stored'].imageUID };
    expect(() => planProjection([message(TOPICS.chartGenerated, chart)], new Map(), new Map(), setAside)).toThrow(VersionSetAsideError);
    const promoted = { ...lost['orbit.chart.promoted'], imageUID: lost['orbit.image.stored'].imageUID, imageVersion: chart.imageVersion };
    expect(() => planProjection([message(TOPICS.chartPromoted, promoted)], new Map(), new Map(), setAside)).toThrow(/re-drive that letter first/);
    // Stored again in the same batch (the letter re-driven): nothing to refuse.
    expect(planProjection([message(TOPICS.imageStored, lost['orbit.image.stored']), message(TOPICS.chartGenerated, chart)], new Map(), new Map(), setAside).applied).toHaveLength(2);
  });

  it('adds a promotion target to the environments the database holds, once, and bumps only the modified time', () => {
    const uid = newImageUID();
    const promoted = sampleEvents(uid, 'req-5')['orbit.chart.promoted'];
    const guid = versionGuid(uid, 'v1-0-00');
    expect(versionsToLookUp([message(TOPICS.chartPromoted, promoted)])).toEqual([guid]);
    const known = new Map([[guid, { status: 'ready', environments: ['Development'] }]]);
    const { plan } = planProjection([message(TOPICS.chartPromoted, promoted), message(TOPICS.chartPromoted, { ...promoted, occurredAt: at('2026-11-23T00:00:00Z') })], known);
    expect(plan.meta.get(guid)?.get('environments')).toBe('["Development","Testing"]');
    expect(plan.posts.get(guid)).toEqual({ guid, modified: new Date('2026-11-23T00:00:00Z') });
    expect(plan.requests.get(promoted.requestId)).toMatchObject({ kind: 'transfer', status: 'succeeded' });
  });

  it('records each promotion: who, when and why from the first, where the copy lies from the latest, beside those the database holds', () => {
    const uid = newImageUID();
    const promoted = { ...sampleEvents(uid, 'req-7')['orbit.chart.promoted'], occurredAt: at('2026-11-23T09:00:00Z'), actor: { username: 'dev1', firstName: null, lastName: null, email: null } };
    const guid = versionGuid(uid, 'v1-0-00');
    const staging = { requestId: 'req-st', promotedAt: '2026-11-24T00:00:00.000Z', promotedBy: 'dev2', notes: null, s3Location: null, sha256: null };
    const known = new Map([[guid, { status: 'ready', environments: ['Development', 'Staging'], promotions: { Staging: staging } }]]);
    const recopied = { bucket: 'app-image-1209-bkt-k8t-aws', key: promoted.image?.key ?? '', versionId: 'v-recopied' };
    // The same request re-driven by transfers:reconcile a day later, after it copied the image again.
    const redriven = { ...promoted, occurredAt: at('2026-11-24T09:00:00Z'), actor: { ...promoted.actor, username: 'owner' }, notes: 're-driven by transfers:reconcile', image: recopied };
    const { plan } = planProjection([message(TOPICS.chartPromoted, promoted), message(TOPICS.chartPromoted, redriven)], known);
    expect(JSON.parse(plan.meta.get(guid)?.get('promotions') ?? '{}')).toEqual({
      Staging: staging,
      Testing: {
        requestId: promoted.requestId, promotedAt: '2026-11-23T09:00:00.000Z', promotedBy: 'dev1', notes: 'rc1', s3Location: recopied, sha256: promoted.sha256,
        // Testing has a registry of its own here: where it pulls the image from.
        imageReference: promoted.imageReference, imageTag: promoted.imageTag,
        // ... and the chart packaged to pull from there, which Testing's Helm repository serves.
        chartLocation: promoted.chart, chartSha256: promoted.chartSha256, chartReference: promoted.chartReference, chartTag: promoted.chartTag,
      },
    });
    // Written before ChartPromoted carried the copy, notes and registry reference: the promotion is recorded without them.
    const old = { ...promoted, image: null, sha256: null, notes: null, imageReference: null, imageTag: null, chart: null, chartSha256: null, chartReference: null, chartTag: null };
    expect(JSON.parse(planProjection([message(TOPICS.chartPromoted, old)], new Map([[guid, { status: 'ready', environments: ['Development'] }]])).plan.meta.get(guid)?.get('promotions') ?? '{}'))
      .toEqual({ Testing: { requestId: promoted.requestId, promotedAt: '2026-11-23T09:00:00.000Z', promotedBy: 'dev1', notes: null, s3Location: null, sha256: null } });
  });

  it('keeps a version ready and in every environment it reached when its ImageStored comes again (a redelivery after a transfer)', () => {
    const uid = newImageUID();
    const events = sampleEvents(uid, 'req-6');
    const guid = versionGuid(uid, 'v1-0-00');
    const again = { ...events['orbit.image.stored'], occurredAt: at('2026-11-23T00:00:00Z') };
    expect(versionsToLookUp([message(TOPICS.imageStored, again)])).toEqual([guid]);
    const { plan } = planProjection([message(TOPICS.imageStored, again)], new Map([[guid, { status: 'ready', environments: ['Development', 'Testing'] }]]));
    expect(plan.meta.get(guid)?.get('environments')).toBe('["Development","Testing"]');
    expect(plan.posts.get(guid)?.status).toBe('ready');
    // In one batch too: stored, chart, promoted, then the same ImageStored again.
    const promoted = events['orbit.chart.promoted'];
    const { plan: batch } = planProjection([
      message(TOPICS.imageStored, events['orbit.image.stored']), message(TOPICS.chartGenerated, events['orbit.chart.generated']),
      message(TOPICS.chartPromoted, promoted), message(TOPICS.imageStored, again),
    ], new Map());
    expect(batch.meta.get(guid)?.get('environments')).toBe('["Development","Testing"]');
    expect(batch.posts.get(guid)?.status).toBe('ready');
  });

  it('announces the finished status for a late or repeated event of an earlier step, in the database or earlier in the batch', () => {
    const events = sampleEvents(newImageUID(), 'req-7');
    const again = { ...events['orbit.image.stored'], occurredAt: at('2026-11-23T00:00:00Z') };
    const late = planProjection([message(TOPICS.imageStored, again)], new Map(), new Map([['req-7', { status: 'succeeded' as const, errorCode: null }]]));
    expect(late.applied.map(({ result }) => result?.status)).toEqual(['succeeded']);
    const batch = planProjection([
      message(TOPICS.imageStored, events['orbit.image.stored']), message(TOPICS.chartGenerated, events['orbit.chart.generated']),
      message(TOPICS.imageStored, again), message(TOPICS.imageRejected, events['orbit.image.rejected']),
    ], new Map());
    expect(batch.applied.map(({ result }) => result?.status)).toEqual(['running', 'succeeded', 'succeeded', 'succeeded']);
    expect(requestsToLookUp([message(TOPICS.imageStored, again), message(TOPICS.chartGenerated, events['orbit.chart.generated'])])).toEqual(['req-7']);
  });

  it('lets the end of a re-driven flow replace a DEAD_LETTERED failure, and nothing else', () => {
    const events = sampleEvents(newImageUID(), 'req-8');
    const deadLettered = new Map([['req-8', { status: 'failed' as const, errorCode: 'DEAD_LETTERED' }]]);
    const redriven = planProjection([
      message(TOPICS.imageStored, events['orbit.image.stored']), message(TOPICS.chartGenerated, events['orbit.chart.generated']),
    ], new Map(), deadLettered);
    expect(redriven.applied.map(({ result }) => result?.status)).toEqual(['failed', 'succeeded']);
    expect(redriven.plan.requests.get('req-8')).toMatchObject({ status: 'succeeded', errorCode: null });
    // A late event of an earlier step does not reopen it, and another reason code is final as ever.
    expect(planProjection([message(TOPICS.imageValidated, events['orbit.image.validated'])], new Map(), deadLettered).applied[0]?.result?.status).toBe('failed');
    const refused = new Map([['req-8', { status: 'failed' as const, errorCode: 'CHART_COMMAND' }]]);
    expect(planProjection([message(TOPICS.chartGenerated, events['orbit.chart.generated'])], new Map([[versionGuid(events['orbit.image.stored'].imageUID, 'v1-0-00'), { status: 'stored', environments: ['Development'] }]]), refused).applied[0]?.result?.status).toBe('failed');
  });

  it('records a pushed chart the registry gave no tag for as no tag (SQL NULL), not the text "null"', () => {
    const uid = newImageUID();
    const events = sampleEvents(uid, 'req-9');
    const guid = versionGuid(uid, 'v1-0-00');
    const chart = { ...events['orbit.chart.generated'], chartReference: 'r', chartTag: null };
    const { plan } = planProjection([message(TOPICS.chartGenerated, chart)], new Map([[guid, { status: 'stored', environments: ['Development'] }]]));
    expect(plan.meta.get(guid)?.get('chartReference')).toBe('r');
    expect(plan.meta.get(guid)?.get('chartTag')).toBeNull();
  });

  it('keeps the success a re-driven flow reached in the batch over a DEAD_LETTERED failure in the database: a redelivered earlier step announces succeeded, a later failure changes nothing', () => {
    const uid = newImageUID();
    const events = sampleEvents(uid, 'req-10');
    const known = new Map([[versionGuid(uid, 'v1-0-00'), { status: 'stored', environments: ['Development'] }]]);
    const deadLettered = new Map([['req-10', { status: 'failed' as const, errorCode: 'DEAD_LETTERED' }]]);
    const redelivered = planProjection([
      message(TOPICS.chartGenerated, events['orbit.chart.generated']), message(TOPICS.imageStored, { ...events['orbit.image.stored'], occurredAt: at('2026-11-23T00:00:00Z') }),
    ], known, deadLettered);
    expect(redelivered.applied.map(({ result }) => result?.status)).toEqual(['succeeded', 'succeeded']);
    expect(redelivered.plan.requests.get('req-10')).toMatchObject({ status: 'succeeded', errorCode: null });
    const failedAfter = planProjection([
      message(TOPICS.chartGenerated, events['orbit.chart.generated']), message(TOPICS.pipelineFailed, { ...events['orbit.pipeline.failed'], reasonCode: 'CHART_COMMAND', occurredAt: at('2026-11-23T00:00:00Z') }),
    ], known, deadLettered);
    expect(failedAfter.applied.map(({ result }) => result?.status)).toEqual(['succeeded', 'succeeded']);
    expect(failedAfter.plan.requests.get('req-10')).toMatchObject({ status: 'succeeded', errorCode: null, errorPid: null });
  });

  it('inserts an image post once for several versions: the first version dates it, the latest modifies it', () => {
    const uid = newImageUID();
    const first = sampleEvents(uid, 'req-6')['orbit.image.stored'];
    const second = { ...sampleEvents(uid, 'req-7')['orbit.image.stored'], occurredAt: at('2026-11-24T00:00:00Z') };
    const { plan } = planProjection([
      message(TOPICS.imageStored, first),
      message(TOPICS.imageStored, { ...second, metadata: { ...second.metadata, imageVersion: 'v1-0-01' } }),
    ], new Map());
    expect(plan.posts.get(imageGuid(uid))).toMatchObject({ insert: { created: new Date('2026-11-22T10:00:00Z') }, modified: new Date('2026-11-24T00:00:00Z') });
    expect(plan.imageUids.get(uid)).toMatchObject({ created: new Date('2026-11-22T10:00:00Z'), updated: new Date('2026-11-24T00:00:00Z') });
    expect(plan.posts.size).toBe(3);
  });
});

describe('imageUidOfGuid', () => {
  it('reads the image an image\'s or a version\'s guid names (whose owner\'s mark a write moves), and nothing of another guid', () => {
    const uid = newImageUID();
    expect([imageUidOfGuid(imageGuid(uid)), imageUidOfGuid(versionGuid(uid, 'v1-0-00')), imageUidOfGuid(versionGuid(uid, 'a:b'))]).toEqual([uid, uid, uid]);
    expect(imageUidOfGuid('orbit:request:x')).toBeUndefined();
  });
});

describe('requestsEnded', () => {
  it('names each request a batch ended, once, with how long it took from acceptance, and none the database had ended already', () => {
    const uid = newImageUID();
    const events = sampleEvents(uid, 'req-up');
    const stored = { ...events['orbit.image.stored'], occurredAt: at('2026-11-22T10:00:01Z') };
    const chart = { ...events['orbit.chart.generated'], occurredAt: at('2026-11-22T10:00:03Z') };
    const promoted = { ...events['orbit.chart.promoted'], requestId: 'req-tr', occurredAt: at('2026-11-22T10:05:00Z') };
    const failed = { ...events['orbit.pipeline.failed'], requestId: 'req-fail', flow: 'transfer' as const, reasonCode: 'SOURCE_CHANGED', occurredAt: at('2026-11-22T10:06:00Z') };
    const done = { ...events['orbit.pipeline.failed'], requestId: 'req-done', occurredAt: at('2026-11-22T10:07:00Z') };
    const { plan, applied } = planProjection([
      message(TOPICS.imageStored, stored), message(TOPICS.chartGenerated, chart), message(TOPICS.chartGenerated, { ...chart, occurredAt: at('2026-11-22T10:09:00Z') }),
      message(TOPICS.chartPromoted, promoted), message(TOPICS.pipelineFailed, failed), message(TOPICS.pipelineFailed, done),
    ], new Map(), new Map([['req-done', { status: 'failed', errorCode: 'CHECKSUM_MISMATCH' }]]));
    const acceptedAt = new Map([['req-up', new Date('2026-11-22T10:00:00Z')], ['req-tr', new Date('2026-11-22T10:04:58Z')]]);
    expect(requestsEnded(plan, applied, new Map([['req-done', { status: 'failed', errorCode: 'CHECKSUM_MISMATCH' }]]), acceptedAt)).toEqual([
      // The chart delivered twice ends the upload once, at its first delivery.
      { requestId: 'req-up', kind: 'upload', status: 'succeeded', errorCode: null, seconds: 3 },
      { requestId: 'req-tr', kind: 'transfer', status: 'succeeded', errorCode: null, seconds: 2 },
      // Accepted before this batch, but the database has no row: timed from its first event here.
      { requestId: 'req-fail', kind: 'transfer', status: 'failed', errorCode: 'SOURCE_CHANGED', seconds: 0 },
    ]);
  });

  it('times a request whose acceptance the database dates after its last event (clock skew) as 0 seconds, never negative', () => {
    const events = sampleEvents(newImageUID(), 'req-skew');
    const { plan, applied } = planProjection([message(TOPICS.imageRejected, { ...events['orbit.image.rejected'], occurredAt: at('2026-11-22T10:00:00Z') })], new Map());
    const ended = requestsEnded(plan, applied, new Map(), new Map([['req-skew', new Date('2026-11-22T10:00:05Z')]]));
    expect(ended.map(({ requestId, seconds }) => [requestId, seconds])).toEqual([['req-skew', 0]]);
  });

  it('counts a request again when a re-driven letter ends what DEAD_LETTERED had failed, not when it is set aside again', () => {
    const events = sampleEvents(newImageUID(), 'req-dl');
    const letter = new Map([['req-dl', { status: 'failed' as const, errorCode: 'DEAD_LETTERED' }]]);
    const redriven = planProjection([message(TOPICS.imageStored, events['orbit.image.stored']), message(TOPICS.chartGenerated, events['orbit.chart.generated'])], new Map(), letter);
    expect(requestsEnded(redriven.plan, redriven.applied, letter, new Map()).map((request) => [request.requestId, request.status])).toEqual([['req-dl', 'succeeded']]);
    const again = planProjection([message(TOPICS.pipelineFailed, { ...events['orbit.pipeline.failed'], requestId: 'req-dl', reasonCode: 'DEAD_LETTERED' })], new Map(), letter);
    expect(requestsEnded(again.plan, again.applied, letter, new Map())).toEqual([]);
  });
});
