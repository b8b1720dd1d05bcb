import type { Healthcheck, ImageConfigFacts, ImageMetadata } from '@orbit/schemas';
import { parseJson } from './blob-store.js';
import type { FileFacts } from './entry-facts.js';
import { configShape, type ImageConfigJson } from './json-shapes.js';
import { CONFIG_INTEGER_PATHS, goTimeProblem } from './go-integers.js';
import { CONFIG_FIELDS } from './json-keys.js';
import { shellShape } from './image-shell.js';
import { reject } from './rejections.js';
import { platformOfConfig, type Platform } from '../platforms.js';

/** The platform the config names (variant, os.version and os.features when it states them), and what is read from it. */
export interface ParsedConfig extends Platform {
  readonly diffIds: readonly string[];
  readonly facts: ImageConfigFacts;
}

type HealthcheckJson = NonNullable<NonNullable<ImageConfigJson['config']>['Healthcheck']>;

/** Config durations are nanoseconds; events carry whole seconds, rounded up so 500ms stays non-zero. 0 means "the default". */
function seconds(nanoseconds: number | null | undefined): number | null {
  if (nanoseconds === null || nanoseconds === undefined || nanoseconds === 0) return null;
  return Math.ceil(nanoseconds / 1e9);
}

function healthcheckOf(json: HealthcheckJson | null | undefined): Healthcheck | null {
  // ["NONE"] is how an image switches off a healthcheck inherited from its base.
  if (!json || !json.Test || json.Test.length === 0 || json.Test[0] === 'NONE') return null;
  return {
    test: json.Test,
    intervalSeconds: seconds(json.Interval),
    timeoutSeconds: seconds(json.Timeout),
    startPeriodSeconds: seconds(json.StartPeriod),
    retries: json.Retries ?? null,
  };
}

/**
 * The image's SHELL, which Docker runs a CMD-SHELL healthcheck with (daemon/health.go: the config's Shell when it
 * has one, else /bin/sh -c). An empty list is no SHELL to Docker, so null here too. Checked here as well as by
 * configShape: this is where the fact is taken, whatever shape the config was read with.
 */
function shellOf(value: unknown, healthcheck: Healthcheck | null, file: FileFacts, role: string): readonly string[] | null {
  // Only a CMD-SHELL healthcheck runs the SHELL: an image whose SHELL runs nothing of Orbit's is not refused for it
  // (found by a bug reread: `SHELL [""]`, which BuildKit takes, was BAD_CONFIG).
  if (healthcheck?.test[0] !== 'CMD-SHELL') return null;
  const parsed = shellShape.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = ['config', 'Shell', ...(issue?.path ?? [])].map(String).join('.');
    return reject('BAD_CONFIG', `${role} "${file.path}" has the wrong shape: ${where}: ${issue?.message ?? 'unknown problem'}`);
  }
  return parsed.data === null || parsed.data === undefined || parsed.data.length === 0 ? null : parsed.data;
}

/** Docker writes "" for unset strings; events say null. */
function orNull(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' ? null : value;
}

export function parseConfig(file: FileFacts, role: string): ParsedConfig {
  const json = parseJson(file, configShape, role, 'BAD_CONFIG', CONFIG_INTEGER_PATHS, CONFIG_FIELDS);
  // configShape checks a time as JSON.parse decoded it; Go reads it as written.
  const escapedTime = file.json === null ? undefined : goTimeProblem(file.json.toString('utf8'));
  if (escapedTime !== undefined) reject('BAD_CONFIG', `${role} "${file.path}" has the wrong shape: ${escapedTime}`);
  const config = json.config ?? {};
  const healthcheck = healthcheckOf(config.Healthcheck);
  return {
    ...platformOfConfig(json),
    diffIds: json.rootfs.diff_ids,
    facts: {
      exposedPorts: Object.keys(config.ExposedPorts ?? {}),
      env: config.Env ?? [],
      entrypoint: config.Entrypoint ?? [],
      cmd: config.Cmd ?? [],
      workingDir: orNull(config.WorkingDir),
      user: orNull(config.User),
      labels: config.Labels ?? {},
      healthcheck,
      stopSignal: orNull(config.StopSignal),
      volumes: Object.keys(config.Volumes ?? {}),
      shell: shellOf(config['Shell'], healthcheck, file, role),
    },
  };
}

/**
 * A validation note for an image no runtime can start as uploaded: its config
 * sets neither Entrypoint nor Cmd (containerd refuses the container, "no
 * command specified") and the upload gives no entrypoint or command override
 * to run instead. A note, not a refusal: an image of data only, copied from
 * by others, is a legitimate upload; its chart says the same in NOTES.
 */
export function noCommandNote(facts: Pick<ImageConfigFacts, 'entrypoint' | 'cmd'>, metadata: Pick<ImageMetadata, 'entrypointOverride' | 'commandOverride'>): string | null {
  const given = (override: string | null): boolean => override !== null && override.trim() !== '';
  if (facts.entrypoint.length > 0 || facts.cmd.length > 0 || given(metadata.entrypointOverride) || given(metadata.commandOverride)) return null;
  return 'the image config sets neither Entrypoint nor Cmd and the upload gives no entrypointOverride or commandOverride, so no container runtime can start it '
    + '(containerd: "no command specified"); its chart runs only with command or args set at install, or upload it again with an override';
}
