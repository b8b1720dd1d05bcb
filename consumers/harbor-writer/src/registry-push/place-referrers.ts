import { listReferrers, PushRefusedError, referrersListedAt, RegistryPush, RegistryUnavailableError, tagManifest, type Logger } from '@orbit/lib';
import type { ImageReferrer } from '@orbit/schemas';
import type { PushTargetClient } from './push-image.js';

/** What a push needs of a referrer: the validator's facts, without what only listings say. */
export type PushableReferrer = Pick<ImageReferrer, 'digest' | 'subject' | 'tag' | 'blobs'>;

/** Whether the repository holds every one of these manifests. */
export async function everyManifestHeld(push: RegistryPush, referrers: readonly PushableReferrer[]): Promise<boolean> {
  for (const referrer of referrers) if (await push.manifestAt(referrer.digest) === undefined) return false;
  return true;
}

export interface PlacedReferrers {
  readonly listed: number;
  readonly refused: number;
}

/**
 * A registry's refusal of a referrer, or its failing on one (5xx, 429): the
 * image is pushed already and its chart pins it, so the request goes on
 * without the referrer rather than retrying for ever against a registry that
 * answers 500 to a manifest type it does not take. `images:push` puts it
 * back once the registry takes it.
 */
const isLeftOut = (error: unknown): boolean => error instanceof PushRefusedError || error instanceof RegistryUnavailableError;

/**
 * Puts the image's referrers after it, each after its subject (the order the
 * validator gave), and makes them discoverable the way the registry can:
 * cosign's by their tag (`sha256-<hex>.sig`; never moved off another
 * manifest, which would drop someone's signatures), the others as referrers
 * of their subject (the referrers API, else the tag-scheme index). A referrer
 * the registry refuses or fails on does not fail the image, which is pushed
 * already: it is logged and counted. `held`: digests just seen in the
 * repository, not looked for again. Returns how many are listed, and how
 * many were left out.
 */
export async function placeReferrers(
  push: RegistryPush, target: PushTargetClient, referrers: readonly PushableReferrer[], manifestOf: (digest: string) => Promise<Buffer>, log: Logger, held: ReadonlySet<string> = new Set(),
): Promise<PlacedReferrers> {
  const placed: PushableReferrer[] = [];
  let refused = 0;
  for (const referrer of referrers) {
    try {
      if (!held.has(referrer.digest) && await push.manifestAt(referrer.digest) === undefined) await push.putManifest(referrer.digest, await manifestOf(referrer.digest), referrer.digest);
      if (referrer.tag !== null && await tagManifest(push, { name: target.name, tags: [referrer.tag] }, referrer.digest, () => manifestOf(referrer.digest), log) === null) continue;
      placed.push(referrer);
    } catch (error) {
      if (!isLeftOut(error)) throw error;
      refused += 1;
      log.warn({ reference: `${target.name}@${referrer.digest}`, subject: referrer.subject, err: error }, 'the registry refused (or failed on) a referrer of the image; the image is pushed without it');
    }
  }
  const bySubject = new Map<string, PushableReferrer[]>();
  for (const referrer of placed) if (referrer.tag === null) bySubject.set(referrer.subject, [...bySubject.get(referrer.subject) ?? [], referrer]);
  let listed = placed.length - [...bySubject.values()].flat().length;
  for (const [subject, about] of bySubject) {
    try {
      const how = await listReferrers(push, target.client, subject, about.map((referrer) => ({ digest: referrer.digest, manifest: () => manifestOf(referrer.digest) })));
      log.debug({ reference: `${target.name}@${subject}`, referrers: about.length, how }, 'referrers listed');
      listed += about.length;
    } catch (error) {
      if (!isLeftOut(error)) throw error;
      refused += about.length;
      log.warn({ reference: `${target.name}@${subject}`, err: error }, 'the registry refused the referrers index; the referrers are in the repository but not listed');
    }
  }
  return { listed, refused };
}

/**
 * Whether every referrer pushed with the image is in the repository and,
 * unless cosign's tag finds it, listed as a referrer of its subject (a
 * tag-scheme index can lose a listing to a concurrent writer).
 */
export async function referrersInPlace(target: PushTargetClient, referrers: readonly PushableReferrer[]): Promise<boolean> {
  const push = new RegistryPush(target.client, target.registry);
  if (!await everyManifestHeld(push, referrers)) return false;
  const listed = new Map<string, Set<string>>();
  for (const { digest, subject, tag } of referrers) {
    if (tag !== null) continue;
    const about = listed.get(subject) ?? await referrersListedAt(push, target.client, subject);
    listed.set(subject, about);
    if (!about.has(digest)) return false;
  }
  return true;
}
