import { abortableSleep, causeMessagesOf, parseImageReference, PullRefusedError, registryAllowed, RegistryUnavailableError, retryPolicy, RetryExhaustedError, withRetry, type RegistryAllowlist, type RetryPolicy } from '@orbit/lib';
import type { ObjectRef } from '@orbit/schemas';
import { notPullable } from './not-pullable.js';
import type { RegistryOutages } from './registry-outages.js';

export interface RegistryPatience {
  readonly patienceMs: number;
  readonly policy: RetryPolicy;
}

/**
 * A registry the user named is not Orbit's own store: while it is down, the
 * upload's partition would wait behind it, and every upload after it with it.
 * So it is retried for a while (as docker pull does), then the upload is refused.
 */
export const REGISTRY_PATIENCE_SECONDS = 30;
export const REGISTRY_PATIENCE: RegistryPatience = { patienceMs: REGISTRY_PATIENCE_SECONDS * 1000, policy: retryPolicy({ initialDelayMs: 1_000, maxDelayMs: 8_000 }) };

export interface PullIntoStagingDeps {
  /** How long an unavailable registry is retried before the upload is refused. @default REGISTRY_PATIENCE */
  readonly registryPatience?: RegistryPatience;
  /** Registries that stayed away lately: uploads naming one are refused at once instead of waiting out the patience again, but for one now and then that tries it once. */
  readonly registryOutages?: RegistryOutages;
  /** The registries references may name (ORBIT_ALLOWED_REGISTRIES); empty or absent: any. */
  readonly allowedRegistries?: RegistryAllowlist;
}

/** Where a pull into staging ended: the staged archive, or why the upload is refused (its message not yet shortened). */
export type PullIntoStagingResult =
  | { readonly kind: 'staged'; readonly staging: ObjectRef }
  | { readonly kind: 'refused'; readonly reasonCode: PullRefusedError['reasonCode'] | 'REGISTRY_UNAVAILABLE'; readonly message: string };

/** Why a registry is unavailable, in the words of the whole cause chain. */
export function causeChain(error: unknown): string {
  return causeMessagesOf(error) || 'unavailable';
}

/**
 * `pull` tried until it succeeds or the patience is over, each retry waiting
 * at least as long as a 429's Retry-After asks: the backoff alone sent three
 * requests within a Retry-After of 5 s (found by a review), and a registry
 * counting them may hold its limit longer.
 */
async function pullPatiently(pull: () => Promise<ObjectRef>, patience: RegistryPatience, isRetriable: (error: unknown) => boolean): Promise<ObjectRef> {
  let askedToWaitMs = 0;
  return withRetry(pull, {
    policy: patience.policy, isRetriable, signal: AbortSignal.timeout(patience.patienceMs),
    onRetry: ({ error }) => { askedToWaitMs = error instanceof RegistryUnavailableError ? error.rateLimit?.retryAfterMs ?? 0 : 0; },
    sleep: (delayMs, signal) => abortableSleep(Math.max(delayMs, askedToWaitMs), signal),
  });
}

/** Whether a registry that was unavailable is tried again within the patience, or the upload refused now. */
export function worthWaitingFor(
  error: Pick<RegistryUnavailableError, 'answered' | 'rateLimit'>,
  now: { readonly probing: boolean; readonly patienceLeftMs: number; readonly answeredLately: boolean },
): boolean {
  // A rate limit is waited for only when what it asks for fits in the patience left: Docker Hub's lasts hours.
  return !now.probing
    && (error.rateLimit === undefined || (error.rateLimit.retryAfterMs ?? Infinity) <= now.patienceLeftMs)
    && (error.answered || now.answeredLately);
}

/**
 * `reference` pulled into staging by `pull` (stageReference), unless its
 * registry is one Orbit does not pull from, or one it remembers away or
 * limiting it: an unavailable registry is waited for only as long as it is
 * worth holding the partition.
 */
export async function pullIntoStaging(reference: string, pull: () => Promise<ObjectRef>, deps: PullIntoStagingDeps): Promise<PullIntoStagingResult> {
  const refused = (reasonCode: PullRefusedError['reasonCode'] | 'REGISTRY_UNAVAILABLE', message: string): PullIntoStagingResult => ({ kind: 'refused', reasonCode, message });
  const patience = deps.registryPatience ?? REGISTRY_PATIENCE;
  const parsed = parseImageReference(reference);
  // Refused before any rule or memory of registries sees it: what is no reference names no registry to allow or remember.
  if (parsed === undefined) return refused('REFERENCE_NOT_FOUND', `${notPullable(reference)}; nothing was fetched`);
  const registry = parsed.registry;
  // A registry that answers 5xx for one repository (a Harbor proxy-cache project, an Artifactory remote) may serve the others.
  const repository = `${registry}/${parsed.repository}`;
  // Checked here too, not only at the gateway: the validator is what makes the connection.
  if (!registryAllowed(registry, deps.allowedRegistries ?? [])) {
    return refused('REGISTRY_NOT_ALLOWED', `registry ${registry} is not one Orbit pulls from (ORBIT_ALLOWED_REGISTRIES: ${deps.allowedRegistries?.join(', ')}); nothing was fetched`);
  }
  const limit = deps.registryOutages?.rateLimit(registry);
  if (limit) {
    return refused('REGISTRY_UNAVAILABLE', `${registry} limits Orbit's pulls (${limit.why}); uploads naming it are refused at once until ${limit.until.toISOString()}, so that the uploads behind them do not wait too: upload again after that`);
  }
  const outages = deps.registryOutages;
  const probeEvery = `one upload every ${Math.round((outages?.probeIntervalMs ?? 0) / 1000)} s tries it`;
  const outage = outages?.recentOutage(registry);
  if (outage && !outages?.takeProbeTurn(registry)) {
    return refused('REGISTRY_UNAVAILABLE', `registry ${registry} did not answer at ${outage.toISOString()}; uploads naming it are refused at once for a while (${probeEvery}) so that the uploads behind them do not wait too: upload again once it answers`);
  }
  const failing = outage ? undefined : outages?.recentOutage(repository);
  if (failing && !outages?.takeProbeTurn(repository)) {
    return refused('REGISTRY_UNAVAILABLE', `${repository} kept failing (5xx or 429) until ${failing.toISOString()}; uploads naming it are refused at once for a while (${probeEvery}) so that the uploads behind them do not wait too: upload again once it serves`);
  }
  // A probe tries once: waiting out the patience for a registry already seen away is what the memory spares the partition.
  const probe = outage ? { name: registry, since: outage } : failing ? { name: repository, since: failing } : undefined;
  const started = Date.now();
  // Without a memory of registries (tests, other wiring) every one is waited for, as before there was one.
  const waitedFor = (error: RegistryUnavailableError): boolean => worthWaitingFor(error, {
    probing: probe !== undefined, patienceLeftMs: patience.patienceMs - (Date.now() - started), answeredLately: outages?.answeredLately(registry) ?? true,
  });
  try {
    const staging = await pullPatiently(pull, patience, (error) => error instanceof RegistryUnavailableError && waitedFor(error));
    outages?.served(registry, repository);
    return { kind: 'staged', staging };
  } catch (error) {
    if (error instanceof PullRefusedError) {
      // It answered, if only to refuse: a registry worth waiting for should it go quiet later.
      if (error.answered) outages?.served(registry, repository);
      return refused(error.reasonCode, error.message);
    }
    const limited = error instanceof RetryExhaustedError ? error.cause : error;
    if (limited instanceof RegistryUnavailableError && limited.rateLimit !== undefined) {
      const why = causeChain(limited);
      outages?.rateLimited(registry, why, limited.rateLimit.retryAfterMs);
      const until = limited.rateLimit.retryAfterMs === undefined ? '' : ` (it asks to wait ${Math.ceil(limited.rateLimit.retryAfterMs / 1000)} s)`;
      return refused('REGISTRY_UNAVAILABLE', `${registry} limits Orbit's pulls${until}: ${why}; uploads naming it are refused at once for a while, so that the uploads behind them do not wait too: upload again later`);
    }
    if (probe && error instanceof RegistryUnavailableError) {
      // Answered, only with errors (a 5xx): that repository is remembered, and the registry that answered forgiven.
      if (error.answered) {
        outages?.answered(registry);
        outages?.record(repository);
      } else {
        outages?.record(registry);
      }
      return refused('REGISTRY_UNAVAILABLE', `${causeChain(error)}; ${probe.name} was already away at ${probe.since.toISOString()}, so this upload tried it once instead of waiting (${probeEvery}): upload again once it answers`);
    }
    if (error instanceof RegistryUnavailableError) {
      outages?.record(registry);
      return refused('REGISTRY_UNAVAILABLE', `${causeChain(error)}; Orbit has not pulled from ${registry} lately, so it does not wait for it: check the host and port, and upload again once it answers`);
    }
    if (error instanceof RetryExhaustedError) {
      // Answered, only with errors: that repository is remembered, not the whole registry.
      outages?.record(error.cause instanceof RegistryUnavailableError && error.cause.answered ? repository : registry);
      return refused('REGISTRY_UNAVAILABLE', `${causeChain(error.cause)} (${error.attempts} attempts over ${Math.round((Date.now() - started) / 1000)} s); upload again once it answers`);
    }
    throw error;
  } finally {
    // A probe's turn ends however its pull ends, so the next may be given (one at a time).
    if (probe) outages?.probeEnded(probe.name);
  }
}
