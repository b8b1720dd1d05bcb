import { rmSync } from 'node:fs';
import { FOREIGN_AWS_VARIABLES } from './child-env.js';
import { localStackEnv } from './endpoints.js';
import { StackError, StackErrors } from './errors.js';
import { AptPackagesMissing } from './install.js';
import { assertPortsFree, INSTALL_LOCK_TIMEOUT_MS, startDefinition, stateOf, type ServiceState } from './lifecycle.js';
import { logFile, stackDir } from './paths.js';
import { runningPid } from './pidfile.js';
import { terminate } from './processes.js';
import { provisionStack, PROVISION_CLI } from './provision.js';
import { allServices, infrastructureServices, pipelineServices, serviceNamed, type ServiceDefinition } from './services/index.js';
import { withInstallLock } from './start-lock.js';
import { assertWipeable, markStackDir } from './wipe-guard.js';

export type StackLog = (line: string) => void;
const toStderr: StackLog = (line) => process.stderr.write(`orbit: ${line}\n`);

function collect(results: readonly PromiseSettledResult<unknown>[], services: readonly ServiceDefinition[]): void {
  const errors = results.flatMap((result, index) => {
    if (result.status === 'fulfilled') return [];
    const reason: unknown = result.reason;
    const name = services[index]?.name ?? '?';
    return [reason instanceof StackError ? reason : new StackError('ORBIT_ERR_STACK_START', name, String(reason), { log: logFile(name), cause: reason })];
  });
  if (errors.length === 1 && errors[0]) throw errors[0];
  if (errors.length > 1) throw new StackErrors(errors);
}

/**
 * Starts every service in parallel (each waits for its own readiness) and
 * reports all failures together, not only the first.
 */
async function startAll(services: readonly ServiceDefinition[], log: StackLog): Promise<void> {
  const results = await Promise.allSettled(services.map(async (service) => {
    const began = Date.now();
    const outcome = await startDefinition(service);
    log(`${service.name.padEnd(18)} ${outcome === 'started' ? `started, ready after ${((Date.now() - began) / 1000).toFixed(1)} s` : 'already running'}`);
  }));
  collect(results, services);
}

export interface StackUpOptions {
  /** Run provisioning after the services answer. @default true */
  readonly provision?: boolean;
  readonly log?: StackLog;
}

/**
 * Installs one service at a time (parallel Maven runs race on the shared ~/.m2
 * repository), under the machine-wide install lock. Debian packages a non-root
 * user lacks are gathered into one message, so one sudo line installs them all.
 */
export function installServices(services: readonly ServiceDefinition[]): Promise<void> {
  return withInstallLock(INSTALL_LOCK_TIMEOUT_MS, async () => {
    const missing: AptPackagesMissing[] = [];
    for (const service of services) {
      try {
        service.install();
      } catch (error) {
        if (!(error instanceof AptPackagesMissing)) throw error;
        missing.push(error);
      }
    }
    if (missing.length > 0) {
      throw new AptPackagesMissing(missing.map((error) => error.service).join(', '), [...new Set(missing.flatMap((error) => error.packages))]);
    }
  });
}

export async function stackUp(options: StackUpOptions = {}): Promise<void> {
  const log = options.log ?? toStderr;
  markStackDir();
  const services = infrastructureServices();
  const down = services.filter((service) => runningPid(service.name) === undefined);
  collect(await Promise.allSettled(down.map(assertPortsFree)), down);
  await installServices(down);
  await startAll(services, log);
  if (options.provision ?? true) {
    if (!(await provisionStack())) log(`provisioning skipped: ${PROVISION_CLI} does not exist yet (run npm run build)`);
  }
}

export async function startPipeline(log: StackLog = toStderr): Promise<void> {
  const services = pipelineServices();
  const missing = services.filter((service) => service.unavailable?.());
  for (const service of missing) log(`${service.name.padEnd(18)} ${service.unavailable?.() ?? ''}`);
  await startAll(services.filter((service) => !missing.includes(service)), log);
  if (missing.length > 0) {
    throw new StackError('ORBIT_ERR_STACK_NOT_BUILT', missing.map((service) => service.name).join(', '), 'not built; the other services were started');
  }
}

async function stopAll(services: readonly ServiceDefinition[], log: StackLog): Promise<void> {
  await Promise.all(services.map(async (service) => {
    if (await terminate(service.name)) log(`${service.name.padEnd(18)} stopped`);
  }));
}

/** The pipeline services whose processes (this stack folder's pid files) are alive. */
export function runningPipeline(): string[] {
  return pipelineServices().filter((service) => runningPid(service.name) !== undefined).map((service) => service.name);
}

/**
 * `npm test` shares the stack folder and ports with `npm start`, and its end-to-end tests stop the pipeline,
 * restart Kafka, MariaDB and the registry and drop ViewPort's database: it runs only while no pipeline does.
 * The pipeline's ports cannot be moved, so another ORBIT_STACK_DIR would not keep them apart.
 */
export function assertNoPipelineRunning(): void {
  const running = runningPipeline();
  if (running.length === 0) return;
  throw new StackError('ORBIT_ERR_STACK_IN_USE', 'npm test',
    `the pipeline is running in ${stackDir()} (${running.join(', ')}; npm start, or a test run cut short), and the tests would stop it, restart its stores and reset its data; stop it first: npm stop (or npm run stack:down)`);
}

export function stopPipeline(log: StackLog = () => undefined): Promise<void> {
  return stopAll(pipelineServices(), log);
}

/** Pipeline first, so no service sees its broker or stores vanish under it and logs noise on the way out. */
export async function stackDown(names?: readonly string[], log: StackLog = () => undefined): Promise<void> {
  const chosen = names ? names.map(serviceNamed) : allServices();
  await stopAll(chosen.filter((service) => service.kind === 'pipeline'), log);
  await stopAll(chosen.filter((service) => service.kind === 'infrastructure'), log);
}

/** Data and logs go; the install cache (outside the stack folder) stays. */
export async function stackWipe(log: StackLog = () => undefined): Promise<void> {
  const dir = stackDir();
  assertWipeable(dir);
  await stackDown(undefined, log);
  rmSync(dir, { recursive: true, force: true });
}

export interface ServiceStatus {
  readonly name: string;
  readonly kind: 'infrastructure' | 'pipeline';
  readonly port: number;
  readonly pid: number | undefined;
  readonly state: ServiceState;
  readonly log: string;
}

export function stackStatus(): Promise<ServiceStatus[]> {
  return Promise.all(allServices().map(async (service) => {
    const { state, pid } = await stateOf(service);
    return { name: service.name, kind: service.kind, port: service.port, pid, state, log: logFile(service.name) };
  }));
}

export function stackEnv(): Record<string, string> {
  return localStackEnv();
}

/** What `stack env` unsets: the developer's AWS session would override or spoil the stack's keys. */
export const STACK_ENV_UNSET: readonly string[] = FOREIGN_AWS_VARIABLES;
