import { OrbitError } from '@orbit/lib';

/**
 * Codes of the chart generator's own errors. None is retriable: each comes
 * from the event's data, so a retry would fail the same way and the message
 * must end in PipelineFailed instead.
 */
export const CHART_ERROR_CODES = [
  'ORBIT_ERR_CHART_VERSION',
  'ORBIT_ERR_CHART_INPUT',
  'ORBIT_ERR_CHART_COMMAND',
  'ORBIT_ERR_CHART_ENVIRONMENT',
  'ORBIT_ERR_CHART_ROW',
] as const;
export type ChartErrorCode = (typeof CHART_ERROR_CODES)[number];

/** The image version cannot be read as SemVer (chartVersionOf). */
export class ChartVersionError extends OrbitError {
  constructor(imageVersion: string) {
    super('ORBIT_ERR_CHART_VERSION',
      `image version ${JSON.stringify(imageVersion)} is not a version a chart can carry: use v1-2-3, 1.2.3, v1.2 or v2`);
  }
}

/** The metadata or image facts hold something no valid chart can express. */
export class ChartInputError extends OrbitError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super('ORBIT_ERR_CHART_INPUT', `${field}: ${problem}`);
    this.field = field;
  }
}

/** A command or entrypoint override is not valid shell-like words (an unclosed quote, a trailing backslash). */
export class ChartCommandError extends OrbitError {
  constructor(field: string, problem: string) {
    super('ORBIT_ERR_CHART_COMMAND', `${field}: ${problem}`);
  }
}

/** An environment name outside Development, Testing, Staging, Production. */
export class ChartEnvironmentError extends OrbitError {
  constructor(environment: string) {
    super('ORBIT_ERR_CHART_ENVIRONMENT', `unknown environment ${JSON.stringify(environment)}: use Development, Testing, Staging or Production`);
  }
}

/** A chart row whose stored manifests cannot be read back: absent, not a JSON array, or not the bytes its row recorded. */
export class ChartRowError extends OrbitError {
  constructor(problem: string) {
    super('ORBIT_ERR_CHART_ROW', problem);
  }
}
