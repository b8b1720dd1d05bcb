import { parseEnvironmentName, type EnvironmentName } from '@orbit/lib';
import { environmentsOfVersion, type ImageView, type TransferAsked } from './ports.js';
import { readableEnvironments, visibleImage } from './read-access.js';

/** What a transfer request asks for, as the user sent it. */
export interface TransferAsk {
  readonly imageVersion: string;
  readonly transferEnvironment: string;
}

export interface TransferPolicy {
  readonly chain: readonly EnvironmentName[];
  /** Role needed to promote into an environment; absent: anyone who owns the image. */
  readonly roles: ReadonlyMap<EnvironmentName, string>;
}

/** The caller's own upload of the asked version, accepted and not yet finished. */
export interface UploadUnderWay {
  readonly requestId: string;
  readonly imageVersion?: string | null;
}

/** A promotion of the asked version into the environment before the target, claimed and not yet finished. */
export interface PromotionUnderWay {
  readonly requestId: string;
  readonly environment: EnvironmentName;
}

export type TransferDecision =
  | { readonly kind: 'transfer'; readonly source: EnvironmentName; readonly target: EnvironmentName }
  /**
   * `requestId`: the transfer ViewPort records as having promoted the version there (its `promotions` meta); null when
   * it records none. Not the claim's holder: after a dead letter is re-driven, an earlier request may be the one that did it.
   */
  | { readonly kind: 'done'; readonly target: EnvironmentName; readonly requestId: string | null }
  | { readonly kind: 'refused'; readonly status: 400 | 403 | 404 | 409; readonly code: string; readonly message: string };

const refuse = (status: 400 | 403 | 404 | 409, code: string, message: string): TransferDecision => ({ kind: 'refused', status, code, message });

/** A transferEnvironment no environment of the chain has; worded as an unknown `environment` parameter is (environment-param.ts). */
const unknownEnvironment = (policy: TransferPolicy, asked: string): TransferDecision =>
  refuse(400, 'UNKNOWN_ENVIRONMENT', `transferEnvironment must be one of ${policy.chain.slice(1).join(', ')}, not ${JSON.stringify(asked.slice(0, 64))}`);

/**
 * Decides a promotion from the ViewPort facts: one step along the chain,
 * from the environment just before the target, by a caller with the target's
 * role. The owner promotes their own images; a holder of the role a target
 * needs (a release manager for Production) promotes anyone's into it, as
 * release managers do. To anyone else another user's image is unknown (404),
 * as for reads.
 */
export function decideTransfer(
  found: ImageView | undefined, caller: { username: string; roles: readonly string[] }, ask: TransferAsk, policy: TransferPolicy, uploading?: UploadUnderWay,
  promoting?: PromotionUnderWay,
): TransferDecision {
  // Another user's image is decided on what the caller may read of it (read-access.ts), so a
  // promotion answer never tells of a version the read routes hide.
  const image = visibleImage(found, caller.username, readableEnvironments(caller.roles, policy));
  const version = image?.versions.find((entry) => entry['imageVersion'] === ask.imageVersion);
  // The caller's own upload of this version is still being validated: ViewPort has no (ready)
  // version yet, but the UID the upload answered with is not unknown. Not yet, rather than never.
  if (!version && uploading && (!found || found.owner === caller.username)) return decideStep([], false, ask, caller, policy, uploading);
  // A role holder's version still on its way into the environment their target promotes from: hidden from them until it
  // lands there, so "no such version" (or image) would send a pipeline promoting right after away for good. Not yet instead.
  if (!version && promoting && promoting.environment === sourceOf(ask.transferEnvironment, policy) && seenOnceLanded(found, caller, ask, policy)) {
    return decideStep([], false, ask, caller, policy, undefined, promoting);
  }
  if (!image) return refuse(404, 'IMAGE_NOT_FOUND', 'no such image for this caller');
  if (image.owner !== caller.username) {
    const asked = parseEnvironmentName(ask.transferEnvironment);
    // The caller reads the image: a name no environment has is the ask's fault, as it is for the owner (a 404 said the image was not there).
    if (!asked || !policy.chain.includes(asked)) return unknownEnvironment(policy, ask.transferEnvironment);
    const needed = policy.roles.get(asked);
    // The caller reads this image through a role, so "no such image" would be untrue: say who may promote it there.
    // Not for the chain's first environment: no one promotes into it, its owner neither, and decideStep says so
    // (NOT_A_PROMOTION) as it does to the owner; "only the owner promotes it into Development" was untrue.
    if (!needed && policy.chain.indexOf(asked) > 0) {
      return refuse(403, 'ROLE_REQUIRED', `only the owner of ${image.imageName} promotes it into ${asked}: no role (ORBIT_TRANSFER_ROLES) promotes anyone's images into ${asked}`);
    }
    // A target whose role the caller lacks is refused 403 below (ROLE_REQUIRED): the caller reads the image, so not 404.
  }
  if (!version) return refuse(404, 'VERSION_NOT_FOUND', `${image.imageName} has no version ${ask.imageVersion}`);
  // The version's row can come before its upload has finished (validated, not yet stored): an upload under way is named then too.
  const decision = decideStep(environmentsOfVersion(version), version['status'] === 'ready', ask, caller, policy, uploading, promoting);
  return decision.kind === 'done' ? { ...decision, requestId: promotionRequestOf(version, decision.target) } : decision;
}

/** The request a version's `promotions` meta names for `target`, if it names one. */
function promotionRequestOf(version: Readonly<Record<string, unknown>>, target: EnvironmentName): string | null {
  const promotions = version['promotions'];
  if (typeof promotions !== 'object' || promotions === null) return null;
  const promotion: unknown = (promotions as Record<string, unknown>)[target];
  const requestId = typeof promotion === 'object' && promotion !== null ? (promotion as Record<string, unknown>)['requestId'] : undefined;
  return typeof requestId === 'string' && requestId !== '' ? requestId : null;
}

/** The body fields a transfer asks for, as a key reused with another ask is refused naming them. */
export type AskedField = 'imageUID' | 'imageVersion' | 'transferEnvironment' | 'notes';

/** Where `sent` asks for another transfer than `held` did; none when it is the same ask. */
export function differingAsk(held: TransferAsked, sent: TransferAsked): AskedField[] {
  const fields: AskedField[] = [];
  if (held.imageUID !== sent.imageUID) fields.push('imageUID');
  if (held.imageVersion !== sent.imageVersion) fields.push('imageVersion');
  if (held.targetEnvironment !== sent.targetEnvironment) fields.push('transferEnvironment');
  if ((held.notes ?? null) !== (sent.notes ?? null)) fields.push('notes');
  return fields;
}

/** The environment a promotion into `transferEnvironment` starts from, when it names one of the chain past its first. */
export function sourceOf(transferEnvironment: string, policy: TransferPolicy): EnvironmentName | undefined {
  const target = parseEnvironmentName(transferEnvironment);
  const position = target === undefined ? -1 : policy.chain.indexOf(target);
  return position > 0 ? policy.chain[position - 1] : undefined;
}

/**
 * Whether a version of another owner's image that the caller does not see is one they will see and may promote once a
 * promotion into the source of their ask lands: they hold the role the target needs, which reads that source
 * (read-access.ts). Only then may a refusal tell them of that promotion; to anyone else the version stays unknown.
 */
function seenOnceLanded(found: ImageView | undefined, caller: { username: string; roles: readonly string[] }, ask: TransferAsk, policy: TransferPolicy): boolean {
  if (!found || found.owner === caller.username) return false;
  const target = parseEnvironmentName(ask.transferEnvironment);
  const role = target === undefined ? undefined : policy.roles.get(target);
  return role !== undefined && caller.roles.includes(role);
}

/**
 * The environment whose promotion under way (the claim into it) could turn `decision` into "not yet, follow it": the
 * ask's source, for a 409 SKIPS_ENVIRONMENT or NOT_IN_SOURCE_ENVIRONMENT, and for the 404 a role holder gets of a
 * version that is not in an environment they read yet (seenOnceLanded). Undefined: nothing to look up.
 */
export function promotionAwaited(
  decision: TransferDecision, found: ImageView | undefined, caller: { username: string; roles: readonly string[] }, ask: TransferAsk, policy: TransferPolicy,
): EnvironmentName | undefined {
  if (decision.kind !== 'refused') return undefined;
  const notYetThere = decision.code === 'SKIPS_ENVIRONMENT' || decision.code === 'NOT_IN_SOURCE_ENVIRONMENT';
  if (!notYetThere && !(decision.status === 404 && seenOnceLanded(found, caller, ask, policy))) return undefined;
  return sourceOf(ask.transferEnvironment, policy);
}

/** One step along the chain for a version present in `present` (`ready`: its upload has finished). */
function decideStep(
  present: readonly string[], ready: boolean, ask: TransferAsk, caller: { roles: readonly string[] }, policy: TransferPolicy, uploading?: UploadUnderWay,
  promoting?: PromotionUnderWay,
): TransferDecision {
  const target = parseEnvironmentName(ask.transferEnvironment);
  if (!target || !policy.chain.includes(target)) return unknownEnvironment(policy, ask.transferEnvironment);
  const position = policy.chain.indexOf(target);
  if (position === 0) return refuse(409, 'NOT_A_PROMOTION', `${target} is where images start; transfer to ${policy.chain[1] ?? 'the next environment'}`);
  const role = policy.roles.get(target);
  if (role && !caller.roles.includes(role)) return refuse(403, 'ROLE_REQUIRED', `promoting into ${target} needs the ${role} role`);
  if (present.includes(target)) return { kind: 'done', target, requestId: null };
  const source = policy.chain[position - 1] as EnvironmentName;
  // With no version yet, any promotion of it waits for the upload; with one, only a promotion out of the first
  // environment while it is not ready there (another upload of a version stored already changes nothing).
  const waitsForUpload = present.length === 0 || (source === policy.chain[0] && !(ready && present.includes(source)));
  if (uploading && waitsForUpload) {
    return refuse(409, 'NOT_IN_SOURCE_ENVIRONMENT', `${ask.imageVersion} is still being uploaded (request ${uploading.requestId}); it can be promoted once it is ready in ${policy.chain[0]}`);
  }
  if (!present.includes(source) && promoting?.environment === source) {
    // Promoted one step after another without waiting (a pipeline's chain): not yet, rather than "skips an environment".
    return refuse(409, 'NOT_IN_SOURCE_ENVIRONMENT', `${ask.imageVersion} is still being promoted into ${source} (request ${promoting.requestId}); it can be promoted into ${target} once that request succeeds`);
  }
  if (!present.includes(source) || (source === policy.chain[0] && !ready)) {
    const furthest = Math.max(-1, ...present.map((name) => policy.chain.indexOf(name as EnvironmentName)));
    if (furthest >= 0 && furthest < position - 1) {
      return refuse(409, 'SKIPS_ENVIRONMENT', `${ask.imageVersion} is in ${policy.chain[furthest]}; it must reach ${source} before ${target}`);
    }
    return refuse(409, 'NOT_IN_SOURCE_ENVIRONMENT', `${ask.imageVersion} is not (yet) ready in ${source}, the environment before ${target}`);
  }
  return { kind: 'transfer', source, target };
}
