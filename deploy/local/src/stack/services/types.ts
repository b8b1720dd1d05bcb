import type { Launch } from '../processes.js';

export type ServiceKind = 'infrastructure' | 'pipeline';

/** One service of the local stack: how to install, start and ask it whether it is ready. */
export interface ServiceDefinition {
  readonly name: string;
  readonly kind: ServiceKind;
  /** The port clients use; shown by `status`. */
  readonly port: number;
  /** Every port it binds: a foreign process on any of them would make the start fail obscurely. */
  readonly ports: readonly number[];
  readonly startTimeoutMs: number;
  /** Installs what is missing; cheap when everything is in place. */
  readonly install: () => void;
  /** First-run state (formatting, config files) and the command line. */
  readonly prepare: () => Launch;
  readonly healthy: () => Promise<boolean>;
  /** Runs after every successful start or check, so it must be idempotent. */
  readonly afterHealthy?: () => Promise<void>;
  /** Why it cannot be started at all (e.g. not built), checked before anything else. */
  readonly unavailable?: () => string | undefined;
}
